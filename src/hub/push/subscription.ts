/**
 * A browser's PushSubscription as it posts it (`subscription.toJSON()`), checked before it is stored: the keys
 * must be what RFC 8291 encrypts for (a P-256 point, uncompressed, and a 16-byte auth secret), or every later
 * push to it would fail.
 */
import { createPublicKey } from 'node:crypto';
import { z } from 'zod';

const B64URL = /^[A-Za-z0-9_-]+={0,2}$/;

function isP256Point(b64: string): boolean {
  const raw = Buffer.from(b64, 'base64url');
  if (raw.length !== 65 || raw[0] !== 4) return false;
  try {
    createPublicKey({
      key: {
        kty: 'EC',
        crv: 'P-256',
        x: raw.subarray(1, 33).toString('base64url'),
        y: raw.subarray(33).toString('base64url'),
      },
      format: 'jwk',
    });
    return true;
  } catch {
    return false;
  }
}

export const pushSubscriptionSchema = z.object({
  endpoint: z.string().min(1).max(2048),
  expirationTime: z.number().nullable().optional(),
  keys: z.strictObject({
    p256dh: z.string().max(100).regex(B64URL).refine(isP256Point, 'not an uncompressed P-256 public key'),
    auth: z
      .string()
      .max(40)
      .regex(B64URL)
      .refine((a) => Buffer.from(a, 'base64url').length === 16, 'the auth secret is 16 bytes'),
  }),
});
