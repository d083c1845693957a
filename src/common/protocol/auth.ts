/**
 * Cluster authentication: a child proves it knows the shared cluster secret with an HMAC token sent in
 * the `x-tiercast-auth` header of the WebSocket upgrade (never in the URL). Token: nodeId.issuedAtMs.hexHmac.
 * Tokens expire so a captured header is useless after `maxAgeMs`.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const AUTH_HEADER = 'x-tiercast-auth';
/** Sent as the WebSocket subprotocol; a node of another protocol version refuses the upgrade with 426. */
export const SUBPROTOCOL = 'tiercast.v1';

function mac(secret: string, nodeId: string, issuedAt: number): string {
  return createHmac('sha256', secret).update(`tiercast-cluster:${nodeId}:${issuedAt}`).digest('hex');
}

export function createClusterToken(secret: string, nodeId: string, now = Date.now()): string {
  return `${nodeId}.${now}.${mac(secret, nodeId, now)}`;
}

export type TokenCheck = { ok: true; nodeId: string } | { ok: false; reason: string };

export function verifyClusterToken(secret: string, token: string | undefined, now = Date.now(), maxAgeMs = 60_000): TokenCheck {
  if (!token) return { ok: false, reason: 'missing cluster token' };
  const parts = token.split('.');
  if (parts.length !== 3) return { ok: false, reason: 'malformed cluster token' };
  const [nodeId, issued, sig] = parts as [string, string, string];
  const issuedAt = Number(issued);
  if (!/^[A-Za-z0-9_:-]{1,128}$/.test(nodeId) || !Number.isSafeInteger(issuedAt)) return { ok: false, reason: 'malformed cluster token' };
  if (Math.abs(now - issuedAt) > maxAgeMs) return { ok: false, reason: 'expired cluster token' };
  const expected = Buffer.from(mac(secret, nodeId, issuedAt), 'hex');
  const given = Buffer.from(sig, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'bad cluster token' };
  return { ok: true, nodeId };
}
