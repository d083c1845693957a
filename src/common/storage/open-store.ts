/** The ObjectStore a node's `recording(s).storage` config names: a local directory or S3-compatible storage. */
import type { z } from 'zod';
import type { recordingStorageSchema } from '../config/schema.js';
import { LocalDirStore, type ObjectStore } from './object-store.js';
import { S3Store } from './s3-store.js';

export type StorageConfig = z.infer<typeof recordingStorageSchema>;

export function openObjectStore(c: StorageConfig): ObjectStore {
  return c.kind === 'local'
    ? new LocalDirStore(c.dir)
    : new S3Store({
        endpoint: c.endpoint,
        region: c.region,
        bucket: c.bucket,
        prefix: c.prefix,
        accessKeyId: c.accessKeyId,
        secretAccessKey: c.secretAccessKey,
        requestTimeoutMs: c.requestTimeoutMs,
      });
}
