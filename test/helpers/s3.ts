/** A real S3-compatible server for tests (s3rver, from npm) on a loopback port, with the bucket `recordings`. */
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import S3rver from 's3rver';

export interface TestS3 {
  endpoint: string;
  close(): Promise<void>;
}

export async function startS3(dir: string): Promise<TestS3> {
  const s3 = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: join(dir, 's3'),
    configureBuckets: [{ name: 'recordings' }],
  });
  const { port } = (await s3.run()) as AddressInfo;
  return { endpoint: `http://127.0.0.1:${port}`, close: () => s3.close() };
}
