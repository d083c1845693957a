import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createClusterToken, verifyClusterToken } from '../../src/common/protocol/index.js';

const secret = 'a-cluster-secret-of-some-length';

test('a token made with the secret verifies and names the node', () => {
  const t = createClusterToken(secret, 'edge-1', 1000);
  assert.deepEqual(verifyClusterToken(secret, t, 1500), { ok: true, nodeId: 'edge-1' });
  assert.ok(!t.includes(secret));
});

test('wrong secret, tampering, expiry and garbage are refused', () => {
  const t = createClusterToken(secret, 'edge-1', 1000);
  assert.equal(verifyClusterToken('another-secret-entirely!', t, 1000).ok, false);
  assert.equal(verifyClusterToken(secret, t.replace('edge-1', 'edge-2'), 1000).ok, false);
  assert.deepEqual(verifyClusterToken(secret, t, 1000 + 61_000), { ok: false, reason: 'expired cluster token' });
  assert.equal(verifyClusterToken(secret, undefined).ok, false);
  assert.equal(verifyClusterToken(secret, 'x.y.z').ok, false);
  assert.equal(verifyClusterToken(secret, 'a.b').ok, false);
});
