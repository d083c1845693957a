/**
 * Request helpers for uWebSockets.js handlers: bounded body reading, cookies, JSON replies.
 * A uWS request object is only valid synchronously inside the handler: copy what you need first.
 */
import { parse as parseCookieHeader, serialize as serializeCookie } from 'cookie';
import type { HttpRequest, HttpResponse } from './uws-server.js';

const HOST_PREFIX = '__Host-';

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

/** The request's cookies (the `cookie` package; the first of repeated names wins, bad escapes kept raw). */
export function parseCookies(header: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(parseCookieHeader(header))) if (v !== undefined) out[k] = v;
  return out;
}

/**
 * A cookie's name on the wire: over HTTPS the `__Host-` prefix (the browser then requires Secure and
 * Path=/ and refuses it from any other origin, or from plain HTTP on the same host).
 */
export function cookieName(name: string, secure: boolean): string {
  return secure ? `${HOST_PREFIX}${name}` : name;
}

/** Reads a cookie by its base name: on a secure request only the `__Host-` one counts. */
export function readCookie(
  cookies: Record<string, string>,
  name: string,
  secure: boolean,
): string | undefined {
  return cookies[cookieName(name, secure)];
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

/** A Set-Cookie value: SameSite=Strict, HttpOnly unless said otherwise, `Secure` and `__Host-` over HTTPS. */
export function cookie(
  name: string,
  value: string,
  opts: { maxAgeS?: number; httpOnly?: boolean; secure?: boolean } = {},
): string {
  const secure = opts.secure ?? false;
  return serializeCookie(cookieName(name, secure), value, {
    path: '/',
    sameSite: 'strict',
    httpOnly: opts.httpOnly !== false,
    secure,
    maxAge: opts.maxAgeS,
  });
}
