/**
 * Compact signed tokens: `base64url(JSON payload).base64url(HMAC-SHA256(key, first part))`.
 * Keys are derived from the cluster secret per purpose (HKDF), so a session token can never pass as a
 * stream-access token even if the payloads were alike, and the cluster secret itself never signs anything
 * a browser holds. Edges verify stream-access tokens locally with the same derivation: no round trip.
 * Payloads are signed, not encrypted: nothing secret goes in them.
 *
 * Shared by the hub (which issues them) and the edges (which check access tokens and read the cookies): the
 * format and the cookie names live here so that neither role imports the other.
 */
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

/** The login session cookie (HttpOnly, SameSite=Strict): a session token. */
export const SESSION_COOKIE = 'tc_session';
/** The CSRF double-submit pair: a cookie the page echoes in this header. */
export const CSRF_COOKIE = 'tc_csrf';
export const CSRF_HEADER = 'x-tiercast-csrf';
/** Proof of a stream's viewing password (HttpOnly): an access token for that stream. */
export const accessCookie = (stream: string) => `tc_access_${stream}`;

export type TokenPurpose = 'session' | 'stream-access';

export interface TokenPayload {
  typ: string;
  /** Expiry, ms since the epoch. */
  exp: number;
  [field: string]: unknown;
}

export interface SessionPayload extends TokenPayload {
  typ: 'session';
  /** `u:<userId>` for an account, `s:<streamerName>` for a stream-key login. */
  sub: `u:${number}` | `s:${string}`;
  name: string;
  role: 'user' | 'admin' | 'streamer';
}

export interface AccessPayload extends TokenPayload {
  typ: 'access';
  stream: string;
}

/** Longer tokens are refused before any work: they did not come from signToken. */
export const MAX_TOKEN_CHARS = 4096;
const PART = /^[A-Za-z0-9_-]+$/;

export function deriveKey(clusterSecret: string, purpose: TokenPurpose): Buffer {
  if (clusterSecret.length === 0) throw new Error('deriveKey: empty cluster secret');
  return Buffer.from(hkdfSync('sha256', clusterSecret, 'tiercast-hub-tokens', `tiercast:${purpose}`, 32));
}

function mac(key: Buffer, body: string): Buffer {
  return createHmac('sha256', key).update(body).digest();
}

/** Signs `payload` with an `exp` of now + ttlMs (any `exp` in payload is replaced). */
export function signToken(
  key: Buffer,
  payload: Omit<TokenPayload, 'exp'>,
  ttlMs: number,
  now = Date.now(),
): string {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0)
    throw new Error(`signToken: ttlMs must be positive, got ${ttlMs}`);
  const body = Buffer.from(JSON.stringify({ ...payload, exp: Math.floor(now + ttlMs) })).toString(
    'base64url',
  );
  return `${body}.${mac(key, body).toString('base64url')}`;
}

/**
 * The payload of a token signed with `key`, unexpired at `now` and (when given) of type `typ`; otherwise
 * undefined. Malformed input of any kind is undefined, never an exception.
 */
export function verifyToken(
  key: Buffer,
  token: string,
  now = Date.now(),
  typ?: string,
): TokenPayload | undefined {
  if (typeof token !== 'string' || token.length > MAX_TOKEN_CHARS) return undefined;
  const dot = token.indexOf('.');
  if (dot <= 0 || dot !== token.lastIndexOf('.')) return undefined;
  const body = token.slice(0, dot);
  const sigText = token.slice(dot + 1);
  if (!PART.test(body) || !PART.test(sigText)) return undefined;
  const sig = Buffer.from(sigText, 'base64url');
  // Only the canonical encoding: base64url decoding ignores stray trailing bits, which would make one
  // token have several accepted spellings.
  if (sig.length !== 32 || sig.toString('base64url') !== sigText) return undefined;
  if (!timingSafeEqual(sig, mac(key, body))) return undefined;
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return undefined;
  const p = payload as Record<string, unknown>;
  if (typeof p.typ !== 'string' || typeof p.exp !== 'number' || !Number.isFinite(p.exp)) return undefined;
  if (p.exp <= now) return undefined;
  if (typ !== undefined && p.typ !== typ) return undefined;
  return p as TokenPayload;
}

export function signSession(
  key: Buffer,
  session: Omit<SessionPayload, 'typ' | 'exp'>,
  ttlMs: number,
  now = Date.now(),
): string {
  return signToken(
    key,
    { sub: session.sub, name: session.name, role: session.role, typ: 'session' },
    ttlMs,
    now,
  );
}

export function verifySession(key: Buffer, token: string, now = Date.now()): SessionPayload | undefined {
  const p = verifyToken(key, token, now, 'session');
  if (!p || typeof p.name !== 'string' || typeof p.sub !== 'string') return undefined;
  if (p.role !== 'user' && p.role !== 'admin' && p.role !== 'streamer') return undefined;
  const accountSub = /^u:[1-9][0-9]*$/.test(p.sub);
  // The role and the kind of subject go together: a streamer login is never an account and vice versa.
  if (accountSub === (p.role === 'streamer') || (!accountSub && !/^s:./.test(p.sub))) return undefined;
  return p as SessionPayload;
}

/** The user id of an account session (`u:<id>`), or undefined for a streamer session. */
export function sessionUserId(session: SessionPayload): number | undefined {
  return session.sub.startsWith('u:') ? Number(session.sub.slice(2)) : undefined;
}

export function signAccess(key: Buffer, stream: string, ttlMs: number, now = Date.now()): string {
  return signToken(key, { typ: 'access', stream }, ttlMs, now);
}

/** The access payload if the token is valid for `stream` (when given). */
export function verifyAccess(
  key: Buffer,
  token: string,
  stream?: string,
  now = Date.now(),
): AccessPayload | undefined {
  const p = verifyToken(key, token, now, 'access');
  if (!p || typeof p.stream !== 'string') return undefined;
  if (stream !== undefined && p.stream !== stream) return undefined;
  return p as AccessPayload;
}

/** Edge side: checks a stream-access token without asking the hub. */
export function accessTokenValid(
  clusterSecret: string | Buffer,
  token: string | undefined,
  stream: string,
): boolean {
  if (!token) return false;
  const key = typeof clusterSecret === 'string' ? deriveKey(clusterSecret, 'stream-access') : clusterSecret;
  const p = verifyToken(key, token) as { typ?: string; stream?: string } | undefined;
  return !!p && p.typ === 'access' && p.stream === stream;
}
