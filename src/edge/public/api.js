// The edge's JSON API from the pages: one call shape for every route, the CSRF double-submit header on
// state changes (the readable tc_csrf cookie, fetched once from /api/auth/csrf), and errors as
// {status, code, message} instead of exceptions, so pages show them inline.

// Over HTTPS the server names its cookies with the __Host- prefix (Secure, this origin only).
const CSRF_COOKIE = `${globalThis.location?.protocol === 'https:' ? '__Host-' : ''}tc_csrf`;
const CSRF_HEADER = 'x-tiercast-csrf';

import { asRecord } from './json.js';

/**
 * An API call's outcome: `data` when ok (unchecked JSON, null for 204), `error` when not.
 * @typedef {{ok: true, status: number, data: unknown, error?: undefined}
 *   | {ok: false, status: number, data?: undefined, error: ApiError}} ApiResult
 */
/** @typedef {{code: string, message: string, status?: number}} ApiError */

/**
 * The value of a cookie in a `document.cookie` string.
 * @param {string | null | undefined} cookieString
 * @param {string} name
 */
export function readCookie(cookieString, name) {
  for (const part of String(cookieString ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i < 0) continue;
    if (part.slice(0, i).trim() !== name) continue;
    try {
      return decodeURIComponent(part.slice(i + 1).trim());
    } catch {
      return part.slice(i + 1).trim();
    }
  }
  return null;
}

/** @type {Promise<string | null> | null} */
let csrfPromise = null;

async function csrfToken(fresh = false) {
  const existing = fresh ? null : readCookie(document.cookie, CSRF_COOKIE);
  if (existing) return existing;
  csrfPromise ??= fetch('/api/auth/csrf', { cache: 'no-store', credentials: 'same-origin' })
    .then(async (res) => {
      const body = asRecord(await res.json().catch(() => null));
      // The cookie is what the hub compares against; the body carries the same value.
      return (
        readCookie(document.cookie, CSRF_COOKIE) ?? (body && typeof body.csrf === 'string' ? body.csrf : null)
      );
    })
    .finally(() => {
      csrfPromise = null;
    });
  return csrfPromise;
}

/**
 * Calls `/api/...`. Resolves `{ok:true, status, data}` or `{ok:false, status, error:{code, message}}`;
 * never rejects. A CSRF failure (an expired cookie) is retried once with a fresh token.
 * @param {'GET'|'POST'|'PUT'|'PATCH'|'DELETE'} method
 * @param {string} path
 * @param {unknown} [body]
 * @returns {Promise<ApiResult>}
 */
export async function api(method, path, body, retried = false) {
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json' };
  /** @type {RequestInit} */
  const init = { method, headers, cache: 'no-store', credentials: 'same-origin' };
  if (method !== 'GET') {
    try {
      const token = await csrfToken(retried);
      if (token) headers[CSRF_HEADER] = token;
    } catch {
      return { ok: false, status: 0, error: { code: 'NETWORK', message: 'network error' } };
    }
    headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body ?? {});
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    return { ok: false, status: 0, error: { code: 'NETWORK', message: 'network error' } };
  }
  /** @type {unknown} */
  const data = res.status === 204 ? null : await res.json().catch(() => null);
  if (res.ok) return { ok: true, status: res.status, data };
  const err = asRecord(asRecord(data)?.error);
  const error =
    err && typeof err.code === 'string'
      ? { code: err.code, message: typeof err.message === 'string' ? err.message : '' }
      : { code: res.status === 503 ? 'HUB_UNAVAILABLE' : `HTTP_${res.status}`, message: '' };
  if (error.code === 'CSRF_FAILED' && !retried && method !== 'GET') return api(method, path, body, true);
  return { ok: false, status: res.status, error: { ...error, status: res.status } };
}
