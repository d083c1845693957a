// Pure rules the account pages share: what a name and password must look like, where to go after logging
// in (never off this site), and what to tell the user for an API error code.

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
  if (typeof name !== 'string' || name.length === 0) return 'Choose a name.';
  if (name.length < 2 || name.length > 32) return 'Names are 2 to 32 characters long.';
  if (!ACCOUNT_NAME_RE.test(name)) return 'Use only letters, digits, "_" and "-" in your name.';
  return null;
}

/**
 * A problem with a new password, or null.
 * @param {unknown} password
 * @param {string} [confirm] the second entry, when the form asks twice
 */
export function checkNewPassword(password, confirm) {
  if (typeof password !== 'string' || password.length < MIN_PASSWORD) {
    return `Passwords are at least ${MIN_PASSWORD} characters long.`;
  }
  if (password.length > 1024) return 'That password is too long.';
  if (confirm !== undefined && confirm !== password) return 'The two passwords do not match.';
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

const HUB_UNAVAILABLE = 'Accounts and chat are unavailable right now. Please try again in a little while.';
/** @type {Record<string, string>} */
const MESSAGES = {
  BAD_CREDENTIALS: 'That did not match. Check it and try again.',
  DUPLICATE_NAME: 'That name is taken. Try another one.',
  RATE_LIMITED: 'Too many attempts. Wait a minute and try again.',
  HUB_UNAVAILABLE,
  CSRF_FAILED: 'Your session expired. Please try again.',
  UNAUTHENTICATED: 'Please log in first.',
  FORBIDDEN: 'You are not allowed to do that.',
  NOT_FOUND: 'That does not exist (any more).',
  PAYLOAD_TOO_LARGE: 'That is too large.',
  PASSWORD_REQUIRED: 'This stream needs its password.',
};

/**
 * What to show for a failed API call. Validation messages from the server are specific, so they are shown
 * as they are (as text); other codes get a sentence written for people.
 * @param {{status?: number, code?: string, message?: string} | null | undefined} err
 */
export function friendlyError(err) {
  if (!err) return 'Something went wrong. Please try again.';
  if (err.code === 'NETWORK') return 'Could not reach the server. Check your connection and try again.';
  if ((err.code === 'INVALID_VALUE' || err.code === 'BAD_REQUEST') && err.message)
    return sentence(err.message);
  const known = err.code && Object.hasOwn(MESSAGES, err.code) ? MESSAGES[err.code] : undefined;
  if (known !== undefined) return known;
  if (err.status === 502 || err.status === 503 || err.status === 504) return HUB_UNAVAILABLE;
  if (err.message) return sentence(err.message);
  return 'Something went wrong. Please try again.';
}

/** @param {string} s */
function sentence(s) {
  const t = String(s).trim().slice(0, 300);
  if (!t) return 'Something went wrong. Please try again.';
  const first = t.charAt(0).toUpperCase() + t.slice(1);
  return /[.!?]$/.test(first) ? first : `${first}.`;
}
