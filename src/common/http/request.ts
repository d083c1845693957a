/**
 * Request helpers for uWebSockets.js handlers: bounded body reading, cookies, JSON replies.
 * A uWS request object is only valid synchronously inside the handler: copy what you need first.
 */
import type { HttpRequest, HttpResponse } from './uws-server.js';

export class BodyTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`request body exceeds ${limit} bytes`);
  }
}

/** Reads the whole body (at most `limit` bytes). Rejects with BodyTooLarge or when the client aborts. */
export function readBody(res: HttpResponse, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    let failed = false;
    res.onAborted(() => {
      failed = true;
      reject(new Error('client aborted'));
    });
    res.onData((chunk, isLast) => {
      if (failed) return;
      size += chunk.byteLength;
      if (size > limit) {
        failed = true;
        reject(new BodyTooLarge(limit));
        return;
      }
      // uWS reuses the chunk's memory after this callback returns: copy it.
      parts.push(Buffer.from(new Uint8Array(chunk)));
      if (isLast) resolve(Buffer.concat(parts));
    });
  });
}

export function parseCookies(header: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i <= 0) continue;
    const k = part.slice(0, i).trim();
    const v = part.slice(i + 1).trim();
    if (k && !(k in out)) {
      try {
        out[k] = decodeURIComponent(v);
      } catch {
        out[k] = v;
      }
    }
  }
  return out;
}

export interface RequestInfo {
  method: string;
  url: string;
  query: string;
  headers: Record<string, string>;
  remote: string;
}

/** Copies what a handler needs out of the (short-lived) uWS request. */
export function requestInfo(res: HttpResponse, req: HttpRequest): RequestInfo {
  const headers: Record<string, string> = {};
  req.forEach((k, v) => {
    headers[k] = v;
  });
  return {
    method: req.getMethod().toUpperCase(),
    url: req.getUrl(),
    query: req.getQuery() ?? '',
    headers,
    remote: Buffer.from(res.getRemoteAddressAsText()).toString(),
  };
}

export function cookie(
  name: string,
  value: string,
  opts: { maxAgeS?: number; httpOnly?: boolean; path?: string } = {},
): string {
  const parts = [`${name}=${encodeURIComponent(value)}`, `Path=${opts.path ?? '/'}`, 'SameSite=Strict'];
  if (opts.httpOnly !== false) parts.push('HttpOnly');
  if (opts.maxAgeS !== undefined) parts.push(`Max-Age=${opts.maxAgeS}`);
  return parts.join('; ');
}
