/** The part of s3rver (a real S3 API server, npm, no types of its own) the storage tests use. */
declare module 's3rver' {
  import type { Server } from 'node:http';
  export default class S3rver {
    constructor(opts: {
      address?: string;
      port?: number;
      silent?: boolean;
      directory: string;
      resetOnClose?: boolean;
      configureBuckets?: Array<{ name: string; configs?: Array<string | Buffer> }>;
    });
    run(): Promise<ReturnType<Server['address']>>;
    close(): Promise<void>;
  }
}
