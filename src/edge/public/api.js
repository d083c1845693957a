// The edge's JSON API from the pages: one call shape for every route, the CSRF double-submit header on
// state changes (the readable tc_csrf cookie, fetched once from /api/auth/csrf), and errors as
// {status, code, message} instead of exceptions, so pages show them inline.

const CSRF_COOKIE = 'tc_csrf';
const CSRF_HEADER = 'x-tiercast-csrf';

/** The value of a cookie in a `document.cookie` string. */
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

let csrfPromise = null;

async function csrfToken(fresh = false) {
  const existing = fresh ? null : readCookie(document.cookie, CSRF_COOKIE);
  if (existing) return existing;
  csrfPromise ??= fetch('/api/auth/csrf', { cache: 'no-store', credentials: 'same-origin' })
    .then(async (res) => {
      const body = await res.json().catch(() => null);
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
 */
export async function api(method, path, body, retried = false) {
  const headers = { accept: 'application/json' };
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
  const data = res.status === 204 ? null : await res.json().catch(() => null);
  if (res.ok) return { ok: true, status: res.status, data };
  const error =
    data && data.error && typeof data.error.code === 'string'
      ? { code: data.error.code, message: typeof data.error.message === 'string' ? data.error.message : '' }
      : { code: res.status === 503 ? 'HUB_UNAVAILABLE' : `HTTP_${res.status}`, message: '' };
  if (error.code === 'CSRF_FAILED' && !retried && method !== 'GET') return api(method, path, body, true);
  return { ok: false, status: res.status, error: { ...error, status: res.status } };
}
