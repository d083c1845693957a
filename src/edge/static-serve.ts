/**
 * Transport: answering for a page asset (src/edge/static-files.ts) the way browsers and caches expect. Each
 * file has a weak ETag from its content (`If-None-Match` gets a 304 without a body), and is sent brotli- or
 * gzip-compressed to a client that accepts it (`Vary: Accept-Encoding`). Compressed copies are made on
 * first demand, off the event loop (zlib's thread pool, brotli at its best quality), and kept in a cache
 * directory shared by every process of the machine and keyed by content, so a file is compressed once per
 * release, not at every start; until a copy is ready the file goes out uncompressed.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompress, constants, gzip } from 'node:zlib';
import { promisify } from 'node:util';
import type { HttpRequest, HttpResponse } from '../common/http/uws-server.js';

export type Encoding = 'br' | 'gzip';

/** Text types worth compressing; images are compressed already. */
const COMPRESSIBLE = /^(text\/|application\/(json|javascript)|image\/svg\+xml)/;
/** Below this, the headers cost more than compression saves. */
const MIN_COMPRESS_BYTES = 1024;

const brotli = promisify(brotliCompress);
const gz = promisify(gzip);

/** Where compressed copies live unless configured (edge `staticCacheDir`). */
export const DEFAULT_STATIC_CACHE_DIR = join(tmpdir(), 'tiercast-static-cache');

/** One asset as served: its bytes, type, validator and (once made) compressed copies. */
export class ServedFile {
  readonly etag: string;
  readonly compressible: boolean;
  private readonly copies = new Map<Encoding, Buffer>();
  private pending: Promise<void> | undefined;

  constructor(
    readonly body: Buffer,
    readonly contentType: string,
    private readonly cacheDir = DEFAULT_STATIC_CACHE_DIR,
  ) {
    const hash = createHash('sha256').update(body).digest('base64url').slice(0, 22);
    this.etag = `W/"${hash}"`;
    this.compressible = COMPRESSIBLE.test(contentType) && body.length >= MIN_COMPRESS_BYTES;
  }

  /** The copy for an encoding if it is ready; asking starts making the copies (once). */
  copy(encoding: Encoding): Buffer | undefined {
    if (!this.compressible) return undefined;
    const ready = this.copies.get(encoding);
    if (!ready) void this.prepare();
    return ready;
  }

  /** Makes (or loads) both copies; resolves when they are ready. Failures leave the file uncompressed. */
  prepare(): Promise<void> {
    if (!this.compressible) return Promise.resolve();
    this.pending ??= (async () => {
      for (const encoding of ['gzip', 'br'] as const) {
        const file = join(this.cacheDir, `${this.etag.slice(3, -1)}.${encoding === 'br' ? 'br' : 'gz'}`);
        let data: Buffer | undefined;
        try {
          data = readFileSync(file);
        } catch {
          data =
            encoding === 'br'
              ? await brotli(this.body, {
                  params: {
                    [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
                    [constants.BROTLI_PARAM_SIZE_HINT]: this.body.length,
                  },
                })
              : await gz(this.body, { level: 9 });
          storeAtomically(this.cacheDir, file, data);
        }
        this.copies.set(encoding, data);
      }
    })().catch(() => undefined);
    return this.pending;
  }
}

/** Writes atomically (another process may read the same name); a read-only disk only costs the cache. */
export function storeAtomically(dir: string, file: string, data: Buffer): void {
  try {
    mkdirSync(dir, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, data);
    renameSync(tmp, file);
  } catch {
    // Kept in memory only.
  }
}

/** The encodings a client accepts, best first (brotli before gzip); `q=0` refuses one. */
export function acceptedEncodings(header: string): Encoding[] {
  const q = new Map<string, number>();
  for (const part of header.toLowerCase().split(',')) {
    const [name = '', ...params] = part.trim().split(';');
    const qp = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const value = qp ? Number(qp.slice(2)) : 1;
    q.set(name.trim(), Number.isFinite(value) ? value : 0);
  }
  const allowed = (e: string) => (q.get(e) ?? q.get('*') ?? 0) > 0;
  return (['br', 'gzip'] as const).filter(allowed);
}

/** Whether `If-None-Match` names this validator (weak comparison, as for GET). */
export function matchesEtag(ifNoneMatch: string, etag: string): boolean {
  if (!ifNoneMatch) return false;
  const bare = (t: string) => t.trim().replace(/^W\//, '');
  return ifNoneMatch.split(',').some((t) => t.trim() === '*' || bare(t) === bare(etag));
}

/**
 * Answers a GET (or HEAD) for an asset: 304 when the client's copy is current, else the best encoding it
 * accepts that is ready. Reads the request synchronously.
 */
export function serveStatic(
  res: HttpResponse,
  req: HttpRequest,
  f: ServedFile,
  headers: Record<string, string>,
): void {
  const common: Record<string, string> = { etag: f.etag, ...headers };
  if (f.compressible) common.vary = headers.vary ? `accept-encoding, ${headers.vary}` : 'accept-encoding';
  if (matchesEtag(req.getHeader('if-none-match'), f.etag)) {
    res.cork(() => {
      res.writeStatus('304 Not Modified');
      for (const [k, v] of Object.entries(common)) res.writeHeader(k, v);
      res.endWithoutBody();
    });
    return;
  }
  let body = f.body;
  let encoding: Encoding | undefined;
  for (const e of acceptedEncodings(req.getHeader('accept-encoding'))) {
    const c = f.copy(e);
    if (c) {
      body = c;
      encoding = e;
      break;
    }
  }
  res.cork(() => {
    res.writeStatus('200 OK');
    res.writeHeader('content-type', f.contentType);
    if (encoding) res.writeHeader('content-encoding', encoding);
    for (const [k, v] of Object.entries(common)) res.writeHeader(k, v);
    res.end(body);
  });
}

/** The loaded assets, ready to serve. */
export function servedFiles(
  files: ReadonlyMap<string, { body: Buffer; contentType: string }>,
  cacheDir = DEFAULT_STATIC_CACHE_DIR,
): Map<string, ServedFile> {
  return new Map([...files].map(([name, f]) => [name, new ServedFile(f.body, f.contentType, cacheDir)]));
}
