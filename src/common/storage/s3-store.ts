/**
 * S3-compatible object storage for recordings (AWS S3, MinIO, Ceph, Garage, …) through the AWS SDK v3
 * client, path-style when an endpoint is given. Keys are checked as for the local store (`checkKey`) and
 * live under an optional prefix. Credentials are never logged or echoed: errors name the endpoint and the
 * bucket only.
 */
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { TiercastError } from '../errors/index.js';
import { checkKey, type ObjectStore, type StoredObject } from './object-store.js';

export interface S3StoreOptions {
  /** e.g. http://minio:9000; unset for AWS itself. */
  endpoint?: string | undefined;
  region: string;
  bucket: string;
  /** Keys live under this folder of the bucket ('' for its root). */
  prefix: string;
  accessKeyId: string;
  secretAccessKey: string;
  requestTimeoutMs: number;
}

export class S3Store implements ObjectStore {
  readonly kind = 's3';
  private readonly client: S3Client;
  private readonly base: string;

  constructor(private readonly opts: S3StoreOptions) {
    this.base = opts.prefix ? `${checkKey(opts.prefix.replace(/\/+$/, ''), 'prefix')}/` : '';
    this.client = new S3Client({
      region: opts.region,
      ...(opts.endpoint ? { endpoint: opts.endpoint, forcePathStyle: true } : {}),
      credentials: { accessKeyId: opts.accessKeyId, secretAccessKey: opts.secretAccessKey },
      requestHandler: { requestTimeout: opts.requestTimeoutMs, connectionTimeout: opts.requestTimeoutMs },
      maxAttempts: 2,
    });
  }

  private where(): { endpoint: string; bucket: string } {
    return { endpoint: this.opts.endpoint ?? 'aws', bucket: this.opts.bucket };
  }

  private fail(what: string, err: unknown): TiercastError {
    const name = err instanceof S3ServiceException ? err.name : (err as Error)?.name;
    return new TiercastError(
      'STORAGE_UNAVAILABLE',
      `object storage could not ${what}: ${name ?? 'error'}`,
      this.where(),
      { cause: err },
    );
  }

  async put(key: string, data: Buffer, contentType?: string): Promise<void> {
    const Key = this.base + checkKey(key);
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.opts.bucket,
          Key,
          Body: data,
          ContentLength: data.length,
          ...(contentType ? { ContentType: contentType } : {}),
        }),
      );
    } catch (err) {
      throw this.fail('write an object', err);
    }
  }

  async get(key: string): Promise<Buffer | undefined> {
    const Key = this.base + checkKey(key);
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.opts.bucket, Key }));
      const bytes = await r.Body?.transformToByteArray();
      return bytes ? Buffer.from(bytes) : Buffer.alloc(0);
    } catch (err) {
      if (
        err instanceof S3ServiceException &&
        (err.name === 'NoSuchKey' || err.$metadata.httpStatusCode === 404)
      )
        return undefined;
      throw this.fail('read an object', err);
    }
  }

  async list(prefix: string): Promise<StoredObject[]> {
    if (prefix !== '') checkKey(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix, 'prefix');
    const out: StoredObject[] = [];
    let token: string | undefined;
    try {
      do {
        const r = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.opts.bucket,
            Prefix: this.base + prefix,
            ...(token ? { ContinuationToken: token } : {}),
          }),
        );
        for (const o of r.Contents ?? [])
          if (o.Key) out.push({ key: o.Key.slice(this.base.length), size: o.Size ?? 0 });
        token = r.IsTruncated ? r.NextContinuationToken : undefined;
      } while (token);
    } catch (err) {
      throw this.fail('list objects', err);
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async deletePrefix(prefix: string): Promise<number> {
    const found = await this.list(prefix);
    try {
      for (let i = 0; i < found.length; i += 1000) {
        await this.client.send(
          new DeleteObjectsCommand({
            Bucket: this.opts.bucket,
            Delete: {
              Objects: found.slice(i, i + 1000).map((o) => ({ Key: this.base + o.key })),
              Quiet: true,
            },
          }),
        );
      }
    } catch (err) {
      throw this.fail('delete objects', err);
    }
    return found.length;
  }

  async check(): Promise<void> {
    const key = `_check/${randomBytes(6).toString('hex')}`;
    await this.put(key, Buffer.from('ok'));
    const back = await this.get(key);
    if (back?.toString() !== 'ok')
      throw new TiercastError(
        'STORAGE_UNAVAILABLE',
        'object storage did not return what was written',
        this.where(),
      );
    await this.deletePrefix(key);
  }

  close(): void {
    this.client.destroy();
  }
}
