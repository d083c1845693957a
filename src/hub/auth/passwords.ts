/**
 * Secrets at rest (stream keys, stream viewing passwords, account passwords): scrypt with a random 16-byte
 * salt, stored as `scrypt$N$r$p$salt$hash` (base64url) so the cost can be raised later without breaking
 * old hashes. Synchronous on purpose: the store is synchronous and these run on logins and publishes only.
 * One hash takes ~16 MiB and tens of milliseconds; callers rate-limit attempts (./rate-limit.ts).
 */
import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';

export const SCRYPT_PARAMS = { N: 16384, r: 8, p: 1, keyLen: 32, saltLen: 16 } as const;

// Bounds on parameters read back from storage, so a corrupted row cannot ask for gigabytes.
const MAX_N = 1 << 20;
const MAX_R = 32;
const MAX_P = 16;
const MAXMEM = 256 * 1024 * 1024;
const B64URL = /^[A-Za-z0-9_-]+$/;

export function hashSecret(secret: string): string {
  const { N, r, p, keyLen, saltLen } = SCRYPT_PARAMS;
  const salt = randomBytes(saltLen);
  const hash = scryptSync(secret.normalize('NFC'), salt, keyLen, { N, r, p, maxmem: MAXMEM });
  return `scrypt$${N}$${r}$${p}$${salt.toString('base64url')}$${hash.toString('base64url')}`;
}

interface ParsedHash {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  hash: Buffer;
}

function parse(stored: string): ParsedHash | undefined {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return undefined;
  const [, n, r, p, salt, hash] = parts as [string, string, string, string, string, string];
  const N = Number(n);
  const R = Number(r);
  const P = Number(p);
  if (!Number.isSafeInteger(N) || N < 2 || N > MAX_N || (N & (N - 1)) !== 0) return undefined;
  if (!Number.isSafeInteger(R) || R < 1 || R > MAX_R || !Number.isSafeInteger(P) || P < 1 || P > MAX_P)
    return undefined;
  if (!B64URL.test(salt) || !B64URL.test(hash)) return undefined;
  const h = Buffer.from(hash, 'base64url');
  if (h.length < 16 || h.length > 64) return undefined;
  return { N, r: R, p: P, salt: Buffer.from(salt, 'base64url'), hash: h };
}

/** Whether `secret` is the one `stored` was made from. A malformed `stored` is simply "no". */
export function verifySecret(secret: string, stored: string): boolean {
  const h = parse(stored);
  if (!h) return false;
  const got = scryptSync(secret.normalize('NFC'), h.salt, h.hash.length, {
    N: h.N,
    r: h.r,
    p: h.p,
    maxmem: MAXMEM,
  });
  return timingSafeEqual(got, h.hash);
}

// Arbitrary bytes, not the hash of anything: no secret verifies against it, and it costs what a real one costs.
const DUMMY = `scrypt$${SCRYPT_PARAMS.N}$${SCRYPT_PARAMS.r}$${SCRYPT_PARAMS.p}$dGllcmNhc3QtZHVtbXktcw$ZHVtbXktaGFzaC1ub2JvZHktaGFzLWEta2V5LWZvciE`;

/**
 * Does the work of one verification against a hash nobody knows the secret of, and returns false. Called
 * when there is nothing to check against (unknown user, no candidate key), so that answering "no such
 * account" takes as long as answering "wrong password".
 */
export function verifyNothing(secret: string): false {
  verifySecret(secret, DUMMY);
  return false;
}
