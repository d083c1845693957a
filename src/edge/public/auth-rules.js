// Pure rules the account pages share: what a name and password must look like, where to go after logging
// in (never off this site), and what to tell the user for an API error code.

import { errorText, formatNumber, t } from './i18n.js';

/** Account names as the hub accepts them. */
export const ACCOUNT_NAME_RE = /^[A-Za-z0-9_-]{2,32}$/;
export const MIN_PASSWORD = 8;
/** Viewing passwords of a stream (the dashboard), as the hub accepts them. */
export const MIN_STREAM_PASSWORD = 8;

/**
 * A problem with the name, or null.
 * @param {unknown} name
 */
export function checkAccountName(name) {
  if (typeof name !== 'string' || name.length === 0) return t('account.chooseName');
  if (name.length < 2 || name.length > 32) return t('account.nameLength');
  if (!ACCOUNT_NAME_RE.test(name)) return t('account.nameChars');
  return null;
}

/**
 * A problem with a new password, or null.
 * @param {unknown} password
 * @param {string} [confirm] the second entry, when the form asks twice
 */
export function checkNewPassword(password, confirm) {
  if (typeof password !== 'string' || password.length < MIN_PASSWORD) {
    return t('account.passwordShort', { min: formatNumber(MIN_PASSWORD) });
  }
  if (password.length > 1024) return t('account.passwordLong');
  if (confirm !== undefined && confirm !== password) return t('account.passwordsDiffer');
  return null;
}

/**
 * Where to go after logging in: a path on this site from `?next=`, else the fallback. Absolute URLs,
 * protocol-relative `//host` and backslash tricks are refused (no open redirect).
 * @param {unknown} next
 */
export function safeNextPath(next, fallback = '/') {
  if (typeof next !== 'string' || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\'))
    return fallback;
  if (/[\u0000-\u001f\u007f\\]/.test(next)) return fallback;
  let u;
  try {
    u = new URL(next, 'http://same.invalid');
  } catch {
    return fallback;
  }
  if (u.origin !== 'http://same.invalid') return fallback;
  if (u.pathname.startsWith('/login')) return fallback;
  return u.pathname + u.search + u.hash;
}

/**
 * The login page, coming back to `path` afterwards.
 * @param {string} path
 */
export function loginHref(path) {
  const next = safeNextPath(path, '/');
  return next === '/' ? '/login' : `/login?next=${encodeURIComponent(next)}`;
}

/**
 * What to show for a failed API call (the page's words for its code, i18n.js).
 * @param {{status?: number, code?: string, message?: string} | null | undefined} err
 */
export function friendlyError(err) {
  return errorText(err);
}
