/**
 * Webhook signatures (ADR 0021, proposed): `X-Tiercast-Signature: t=UNIX,v1=HEX`, where HEX is
 * HMAC-SHA256(secret, `${t}.${body}`). The timestamp inside the MAC lets a receiver refuse a replayed
 * delivery; `verifySignature` is what a receiver does (the tests' receiver uses it too).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-tiercast-signature';

/** Seconds a receiver accepts a signature's timestamp away from its own clock. */
export const SIGNATURE_TOLERANCE_S = 300;

function mac(secret: string, t: number, body: string): string {
  return createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
}

/** The header value for a body sent at `nowMs`. */
export function signBody(secret: string, body: string, nowMs: number): string {
  const t = Math.floor(nowMs / 1000);
  return `t=${t},v1=${mac(secret, t, body)}`;
}

export type SignatureCheck = { ok: true } | { ok: false; reason: 'malformed' | 'stale' | 'mismatch' };

/** Checks a header value against the body, the secret and the receiver's clock. */
export function verifySignature(
  secret: string,
  body: string,
  header: string | undefined,
  nowMs: number,
  toleranceS = SIGNATURE_TOLERANCE_S,
): SignatureCheck {
  const m = /^t=(\d{1,12}),v1=([0-9a-f]{64})$/.exec(header ?? '');
  if (!m) return { ok: false, reason: 'malformed' };
  const t = Number(m[1]);
  if (Math.abs(nowMs / 1000 - t) > toleranceS) return { ok: false, reason: 'stale' };
  const want = Buffer.from(mac(secret, t, body), 'hex');
  const got = Buffer.from(m[2]!, 'hex');
  return timingSafeEqual(want, got) ? { ok: true } : { ok: false, reason: 'mismatch' };
}
