/**
 * CSRF protection for the account API (double submit): the hub sets a random token as a cookie and the
 * page echoes it in a header, which a cross-site form cannot do. Only the hub issues and checks these.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';

/** A CSRF token for the double-submit pattern: set as a cookie, echoed by the page in a header. */
export function createCsrfToken(): string {
  return randomBytes(32).toString('base64url');
}

/** The double-submit check: both present, the same, and long enough to have come from createCsrfToken. */
export function csrfOk(cookieValue: string | undefined, headerValue: string | undefined): boolean {
  if (typeof cookieValue !== 'string' || typeof headerValue !== 'string') return false;
  if (cookieValue.length < 32 || cookieValue.length > 256) return false;
  const a = Buffer.from(cookieValue);
  const b = Buffer.from(headerValue);
  return a.length === b.length && timingSafeEqual(a, b);
}
