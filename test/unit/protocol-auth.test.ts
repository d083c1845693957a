import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CLUSTER_PURPOSES, createClusterToken, verifyClusterToken } from '../../src/common/protocol/index.js';

const secret = 'a-cluster-secret-of-some-length';

test('a token made with the secret verifies for its purpose and names the node', () => {
  const t = createClusterToken(secret, 'edge-1', 'relay', 1000);
  assert.deepEqual(verifyClusterToken(secret, t, 'relay', 1500), { ok: true, nodeId: 'edge-1' });
  assert.ok(!t.includes(secret));
});

test('wrong secret, tampering, expiry and garbage are refused', () => {
  const t = createClusterToken(secret, 'edge-1', 'relay', 1000);
  assert.equal(verifyClusterToken('another-secret-entirely!', t, 'relay', 1000).ok, false);
  assert.equal(verifyClusterToken(secret, t.replace('edge-1', 'edge-2'), 'relay', 1000).ok, false);
  assert.deepEqual(verifyClusterToken(secret, t, 'relay', 1000 + 61_000), {
    ok: false,
    reason: 'expired cluster token',
  });
  assert.equal(verifyClusterToken(secret, undefined, 'relay').ok, false);
  assert.equal(verifyClusterToken(secret, 'x.y.z', 'relay').ok, false);
  assert.equal(verifyClusterToken(secret, 'a.b', 'relay').ok, false);
  assert.equal(verifyClusterToken(secret, `${t}${'0'.repeat(600)}`, 'relay', 1000).ok, false);
});

test('a token for one purpose never passes as another, even with its purpose field rewritten', () => {
  for (const made of CLUSTER_PURPOSES) {
    const t = createClusterToken(secret, 'edge-1', made, 1000);
    for (const wanted of CLUSTER_PURPOSES) {
      const check = verifyClusterToken(secret, t, wanted, 1000);
      assert.equal(check.ok, made === wanted, `${made} token checked as ${wanted}`);
      // Relabelling the token does not help: the MAC is keyed per purpose.
      const relabelled = `${wanted}${t.slice(made.length)}`;
      assert.equal(
        verifyClusterToken(secret, relabelled, wanted, 1000).ok,
        made === wanted,
        `${made} relabelled as ${wanted}`,
      );
    }
  }
  const proxy = createClusterToken(secret, 'edge-1', 'viewer-proxy', 1000);
  assert.deepEqual(verifyClusterToken(secret, proxy, 'node-api', 1000), {
    ok: false,
    reason: 'cluster token is for viewer-proxy, not node-api',
  });
});
