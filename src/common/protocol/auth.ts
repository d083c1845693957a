/**
 * Cluster authentication: a node proves it knows the shared cluster secret with an HMAC token sent in the
 * `x-tiercast-auth` header (never in the URL). Token: `purpose.nodeId.issuedAtMs.hexHmac`.
 *
 * Tokens are bound to a purpose: each purpose signs with its own key derived from the cluster secret (HKDF),
 * so a token made for one capability never passes as another. That matters because an edge forwards
 * viewers' account calls to the hub (`viewer-proxy`): whatever a viewer manages to smuggle into such a
 * request carries only that capability, never the one the hub's cluster-only routes demand (`node-api`).
 * Tokens expire so a captured header is useless after `maxAgeMs`.
 */
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

export const AUTH_HEADER = 'x-tiercast-auth';
/** Sent as the WebSocket subprotocol; a node of another protocol version refuses the upgrade with 426. */
export const SUBPROTOCOL = 'tiercast.v1';

/**
 * What a cluster token lets its holder do (docs/security.md):
 * - `relay`: subscribe to a parent's streams (child → parent `/cluster` upgrade);
 * - `hub-link`: an edge's chat and directory link to the hub (`/internal/edge` upgrade);
 * - `node-api`: a node acting for itself on the hub's `/internal/*` routes (key checks, live state, thumbnails);
 * - `viewer-proxy`: an edge forwarding one viewer's account call to the hub's `/edge-api/*` routes.
 */
export const CLUSTER_PURPOSES = ['relay', 'hub-link', 'node-api', 'viewer-proxy'] as const;
export type ClusterPurpose = (typeof CLUSTER_PURPOSES)[number];

const keys = new Map<string, Buffer>();

function purposeKey(secret: string, purpose: ClusterPurpose): Buffer {
  const id = `${purpose}\0${secret}`;
  let key = keys.get(id);
  if (!key) {
    key = Buffer.from(
      hkdfSync('sha256', secret, 'tiercast-cluster-tokens', `tiercast-cluster:${purpose}`, 32),
    );
    // A node has one secret; the bound only guards against a caller passing many.
    if (keys.size > 64) keys.clear();
    keys.set(id, key);
  }
  return key;
}

function mac(secret: string, purpose: ClusterPurpose, nodeId: string, issuedAt: number): string {
  return createHmac('sha256', purposeKey(secret, purpose))
    .update(`${purpose}:${nodeId}:${issuedAt}`)
    .digest('hex');
}

export function createClusterToken(
  secret: string,
  nodeId: string,
  purpose: ClusterPurpose,
  now = Date.now(),
): string {
  return `${purpose}.${nodeId}.${now}.${mac(secret, purpose, nodeId, now)}`;
}

export type TokenCheck = { ok: true; nodeId: string } | { ok: false; reason: string };

const MAX_TOKEN_CHARS = 512;

export function verifyClusterToken(
  secret: string,
  token: string | undefined,
  purpose: ClusterPurpose,
  now = Date.now(),
  maxAgeMs = 60_000,
): TokenCheck {
  if (!token) return { ok: false, reason: 'missing cluster token' };
  if (token.length > MAX_TOKEN_CHARS) return { ok: false, reason: 'malformed cluster token' };
  const parts = token.split('.');
  if (parts.length !== 4) return { ok: false, reason: 'malformed cluster token' };
  const [given, nodeId, issued, sig] = parts as [string, string, string, string];
  const issuedAt = Number(issued);
  if (
    !/^[A-Za-z0-9_:-]{1,128}$/.test(nodeId) ||
    !/^\d{1,16}$/.test(issued) ||
    !Number.isSafeInteger(issuedAt)
  ) {
    return { ok: false, reason: 'malformed cluster token' };
  }
  if (given !== purpose) {
    return {
      ok: false,
      reason: `cluster token is for ${(CLUSTER_PURPOSES as readonly string[]).includes(given) ? given : 'an unknown purpose'}, not ${purpose}`,
    };
  }
  if (Math.abs(now - issuedAt) > maxAgeMs) return { ok: false, reason: 'expired cluster token' };
  const expected = Buffer.from(mac(secret, purpose, nodeId, issuedAt), 'hex');
  const actual = Buffer.from(sig, 'hex');
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected))
    return { ok: false, reason: 'bad cluster token' };
  return { ok: true, nodeId };
}
