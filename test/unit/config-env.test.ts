/**
 * TIERCAST_* variables are typed by the schema at the key they set: a node id of digits stays a string, a
 * port becomes a number, a boolean a boolean, an array is JSON; a bad value is refused with the variable
 * named and its value never echoed (it may be a secret).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadAllConfig, loadRoleConfig } from '../../src/common/config/index.js';
import { TiercastError } from '../../src/common/errors/index.js';

const SECRET = 'a-secret-long-enough-for-tests';
const env = { TIERCAST_CLUSTER_SECRET: SECRET };

function errorOf(fn: () => unknown): TiercastError {
  try {
    fn();
  } catch (err) {
    if (err instanceof TiercastError) return err;
    throw err;
  }
  throw new Error('expected an error');
}

test('a node id of digits stays a string; a port becomes a number', () => {
  const cfg = loadRoleConfig('edge', {
    env: { ...env, TIERCAST_NODE_ID: '1234', TIERCAST_HTTP__PORT: '8081' },
  });
  assert.equal(cfg.nodeId, '1234');
  assert.equal(cfg.http.port, 8081);
});

test('a cluster secret of digits stays a string, whole', () => {
  const cfg = loadRoleConfig('hub', { env: { TIERCAST_CLUSTER_SECRET: '0012345678901234567890' } });
  assert.equal(cfg.clusterSecret, '0012345678901234567890');
});

test('booleans: true/false and 1/0', () => {
  assert.equal(loadRoleConfig('edge', { env: { ...env, TIERCAST_P2P__ENABLED: 'true' } }).p2p.enabled, true);
  assert.equal(loadRoleConfig('edge', { env: { ...env, TIERCAST_P2P__ENABLED: '1' } }).p2p.enabled, true);
  assert.equal(
    loadRoleConfig('edge', { env: { ...env, TIERCAST_EDGE_SELECTION__REDIRECT: 'false' } }).edgeSelection
      .redirect,
    false,
  );
  const bad = errorOf(() =>
    loadRoleConfig('edge', { env: { ...env, TIERCAST_EDGE_SELECTION__REDIRECT: 'yes-please' } }),
  );
  assert.equal(bad.code, 'CONFIG_INVALID');
  assert.match(bad.message, /TIERCAST_EDGE_SELECTION__REDIRECT must be true or false/);
  assert.doesNotMatch(bad.message, /yes-please/);
});

test('arrays and objects are JSON', () => {
  const cfg = loadRoleConfig('edge', {
    env: { ...env, TIERCAST_UPSTREAM__PARENTS: '["ws://a:1","ws://b:2"]' },
  });
  assert.deepEqual(cfg.upstream.parents, ['ws://a:1', 'ws://b:2']);
  const bad = errorOf(() =>
    loadRoleConfig('edge', { env: { ...env, TIERCAST_UPSTREAM__PARENTS: '[ws://a:1' } }),
  );
  assert.match(bad.message, /TIERCAST_UPSTREAM__PARENTS is not valid JSON/);
  assert.doesNotMatch(bad.message, /ws:\/\/a/);
});

test('an invalid number names the variable, not its value', () => {
  const bad = errorOf(() => loadRoleConfig('edge', { env: { ...env, TIERCAST_HTTP__PORT: 'eighty-80' } }));
  assert.equal(bad.code, 'CONFIG_INVALID');
  assert.match(bad.message, /TIERCAST_HTTP__PORT must be a number/);
  assert.doesNotMatch(bad.message, /eighty/);
  // A secret mistyped into a numeric key is not echoed either.
  const leaked = errorOf(() => loadRoleConfig('edge', { env: { ...env, TIERCAST_HTTP__PORT: SECRET } }));
  assert.ok(!leaked.message.includes(SECRET));
});

test('an unknown key stays text and is refused by name, as before', () => {
  const bad = errorOf(() => loadRoleConfig('edge', { env: { ...env, TIERCAST_HTTP__PROT: '1' } }));
  assert.match(bad.message, /unknown key http\.prot/);
});

test('node-role all: a section variable is typed by that role', () => {
  const all = loadAllConfig({
    env: { TIERCAST_EDGE__HTTP__PORT: '18080', TIERCAST_EDGE__NODE_ID: '42', TIERCAST_LOG_LEVEL: 'warn' },
  });
  assert.equal(all.edge.http.port, 18080);
  assert.equal(all.edge.nodeId, '42');
  assert.equal(all.hub.logLevel, 'warn');
  const bad = errorOf(() => loadAllConfig({ env: { TIERCAST_INGRESS__RTMP__PORT: 'x' } }));
  assert.match(bad.message, /TIERCAST_INGRESS__RTMP__PORT must be a number/);
});
