/**
 * Where recordings live (issue 15): a flat key → bytes store with two backends, a local directory (the
 * embedded default) and S3-compatible object storage (`s3-store.ts`). Both take the same keys, checked here
 * at the root so that no caller can reach outside the store: `a-z A-Z 0-9 _ - .` in `/`-separated parts,
 * none of them empty, `.` or `..`, and not ending in `.tmp` (the local store's objects being written).
 *
 * A written object is whole or absent: the local store writes a temporary file and renames it, S3 writes
 * an object in one request. So a writer killed mid-broadcast leaves every object it finished, and nothing
 * half-written.
 */
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname, join, relative, sep } from 'node:path';
import { TiercastError } from '../errors/index.js';

export interface StoredObject {
  key: string;
  size: number;
}

export interface ObjectStore {
  readonly kind: 'local' | 's3';
  /** Writes the whole object (replacing one of the same key). */
  put(key: string, data: Buffer, contentType?: string): Promise<void>;
  /** The object's bytes, or undefined when there is none. */
  get(key: string): Promise<Buffer | undefined>;
  /** Every object whose key starts with `prefix` (a key or a folder ending in `/`), in key order. */
  list(prefix: string): Promise<StoredObject[]>;
  /** Deletes every object under `prefix`; how many were deleted. */
  deletePrefix(prefix: string): Promise<number>;
  /** At start-up: the store can be written and read (a wrong path, bucket or credential is said clearly). */
  check(): Promise<void>;
  close(): void;
}

const PART = /^[A-Za-z0-9_.-]{1,128}$/;

/** Throws INVALID_VALUE for a key that could leave the store (or is not one this project makes). */
export function checkKey(key: string, what = 'key'): string {
  const parts = key.split('/');
  if (key.length === 0 || key.length > 1024 || parts.some((p) => !PART.test(p) || p === '.' || p === '..')) {
    throw new TiercastError('INVALID_VALUE', `not a storage ${what}: ${JSON.stringify(key.slice(0, 80))}`);
  }
  return key;
}

/** A prefix is a key, or a key followed by `/`, or empty (everything). */
function checkPrefix(prefix: string): string {
  if (prefix === '') return prefix;
  checkKey(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix, 'prefix');
  return prefix;
}

export class LocalDirStore implements ObjectStore {
  readonly kind = 'local';

  constructor(private readonly root: string) {}

  private path(key: string): string {
    return join(this.root, ...checkKey(key).split('/'));
  }

  async put(key: string, data: Buffer): Promise<void> {
    const file = this.path(key);
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(tmp, data, { mode: 0o600 });
    await rename(tmp, file);
  }

  async get(key: string): Promise<Buffer | undefined> {
    try {
      return await readFile(this.path(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async list(prefix: string): Promise<StoredObject[]> {
    checkPrefix(prefix);
    // The deepest folder the prefix names, walked; keys are then filtered by the prefix as a string.
    const base = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    const out: StoredObject[] = [];
    const walk = async (dir: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw err;
      }
      for (const e of entries) {
        const p = join(dir, e.name);
        if (e.isDirectory()) await walk(p);
        else if (e.isFile() && !e.name.endsWith('.tmp')) {
          const key = relative(this.root, p).split(sep).join('/');
          if (key.startsWith(prefix)) out.push({ key, size: (await stat(p)).size });
        }
      }
    };
    await walk(base ? join(this.root, ...base.split('/')) : this.root);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async deletePrefix(prefix: string): Promise<number> {
    const found = await this.list(prefix);
    await Promise.all(found.map((o) => rm(this.path(o.key), { force: true })));
    if (prefix.endsWith('/'))
      await rm(join(this.root, ...prefix.slice(0, -1).split('/')), { recursive: true, force: true });
    return found.length;
  }

  async check(): Promise<void> {
    const key = `.check/${randomBytes(6).toString('hex')}`.replace(/^\./, '_');
    try {
      await this.put(key, Buffer.from('ok'));
      await this.deletePrefix(key);
    } catch (err) {
      throw new TiercastError(
        'STORAGE_UNAVAILABLE',
        `the recording directory cannot be written: ${(err as Error).message}`,
        { dir: this.root },
        { cause: err },
      );
    }
  }

  close(): void {}
}
