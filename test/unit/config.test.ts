import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAllConfig, loadRoleConfig } from '../../src/common/config/index.js';
import { TiercastError } from '../../src/common/errors/index.js';

const dir = mkdtempSync(join(tmpdir(), 'tiercast-config-'));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const env = { TIERCAST_CLUSTER_SECRET: 'a-secret-long-enough-for-tests' };

function errorOf(fn: () => unknown): TiercastError {
  try {
    fn();
  } catch (err) {
    if (err instanceof TiercastError) return err;
    throw err;
  }
  throw new Error('expected an error');
}

test('the committed sample configs are valid', () => {
  for (const role of ['ingress', 'intermediate', 'edge', 'hub'] as const) {
    const cfg = loadRoleConfig(role, { configFile: `config/${role}.sample.yaml`, env });
    assert.equal(cfg.nodeId, `${role}-1`);
  }
  const all = loadAllConfig({ configFile: 'config/all.sample.yaml', env: {} });
  assert.equal(all.ingress.streamers[0]?.name, 'alice');
  assert.equal(all.generatedSecret, true);
  assert.deepEqual(all.edge.upstream.parents, [`ws://127.0.0.1:${all.intermediate.http.port}`]);
});

test('an unknown key stops start-up with the key named', () => {
  const e = errorOf(() =>
    loadRoleConfig('edge', { configFile: file('e.yaml', 'upstream:\n  parnets: [ws://x:1]\n'), env }),
  );
  assert.equal(e.code, 'CONFIG_INVALID');
  assert.match(e.message, /unknown key upstream\.parnets/);
  const top = errorOf(() =>
    loadRoleConfig('ingress', { configFile: file('i.yaml', 'rtmpPort: 1935\n'), env }),
  );
  assert.match(top.message, /unknown key rtmpPort/);
});

test('a bad value names the key and never echoes the value', () => {
  const e = errorOf(() =>
    loadRoleConfig('ingress', { configFile: file('b.yaml', 'transcode:\n  chunkDurationMs: 400\n'), env }),
  );
  assert.match(e.message, /transcode\.chunkDurationMs/);
  const s = errorOf(() => loadRoleConfig('edge', { env: { TIERCAST_CLUSTER_SECRET: 'shortsecret' } }));
  assert.match(s.message, /clusterSecret/);
  assert.ok(!s.message.includes('shortsecret'));
  const k = errorOf(() =>
    loadRoleConfig('ingress', {
      configFile: file('k.yaml', 'streamers:\n  - { name: "bad name!", key: supersecretkey }\n'),
      env,
    }),
  );
  assert.match(k.message, /streamers\.0\.name/);
  assert.ok(!k.message.includes('supersecretkey'));
});

test('a role without a cluster secret refuses to start', () => {
  const e = errorOf(() => loadRoleConfig('intermediate', { env: {} }));
  assert.match(e.message, /cluster secret/);
});

test('environment and flags override the file, in that order', () => {
  const cfg = loadRoleConfig('edge', {
    configFile: 'config/edge.sample.yaml',
    env: {
      ...env,
      TIERCAST_HTTP__PORT: '9001',
      TIERCAST_VIEWER__TARGET_LATENCY_MS: '800',
      TIERCAST_TEST_WHATEVER: 'x',
    },
    flags: { upstream: { parents: ['ws://p:1'] } },
  });
  assert.equal(cfg.http.port, 9001);
  assert.equal(cfg.viewer.targetLatencyMs, 800);
  assert.deepEqual(cfg.upstream.parents, ['ws://p:1']);
  const bad = errorOf(() => loadRoleConfig('edge', { env: { ...env, TIERCAST_HTTP__PROT: '1' } }));
  assert.match(bad.message, /unknown key http\.prot/);
});

test('hub store: SQLite by default; PostgreSQL needs postgres.url, and a bad URL is named, not echoed', () => {
  const hub = loadRoleConfig('hub', { env });
  assert.equal(hub.store, 'sqlite');
  assert.equal(hub.postgres, undefined);
  const pg = loadRoleConfig('hub', {
    env: { ...env, TIERCAST_STORE: 'postgres', TIERCAST_POSTGRES__URL: 'postgres://u:p@db:5432/tiercast' },
  });
  assert.deepEqual(pg.postgres, { url: 'postgres://u:p@db:5432/tiercast', timeoutMs: 10_000 });
  const noUrl = errorOf(() => loadRoleConfig('hub', { env: { ...env, TIERCAST_STORE: 'postgres' } }));
  assert.equal(noUrl.code, 'CONFIG_INVALID');
  assert.match(noUrl.message, /postgres\.url: required when store is postgres/);
  const badUrl = errorOf(() =>
    loadRoleConfig('hub', { env: { ...env, TIERCAST_POSTGRES__URL: 'mysql://u:s3cret-pw@db/x' } }),
  );
  assert.match(badUrl.message, /postgres\.url: must be a postgres:\/\/ or postgresql:\/\/ URL/);
  assert.doesNotMatch(badUrl.message, /s3cret-pw/);
  const unknown = errorOf(() =>
    loadRoleConfig('hub', {
      configFile: file('pg.yaml', 'postgres:\n  url: postgres://x/y\n  pool: 4\n'),
      env,
    }),
  );
  assert.match(unknown.message, /unknown key postgres\.pool/);
});
