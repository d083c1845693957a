import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import {
  chooseParent,
  createDiscovery,
  describeSelf,
  discoverySchema,
  parentRoles,
  StaticDiscovery,
  UNKNOWN_CAPACITY,
  type NodeInfo,
} from '../../src/common/discovery/index.js';
import { TiercastError } from '../../src/common/errors/index.js';

const logger = pino({ level: 'silent' });

test('the discovery config has defaults and rejects unknown keys and bad values', () => {
  const cfg = discoverySchema.parse({});
  assert.equal(cfg.backend, 'static');
  assert.equal(cfg.region, 'local');
  assert.equal(cfg.capacity, 1000);
  assert.equal(cfg.tier, undefined);
  assert.deepEqual(
    {
      address: cfg.consul.address,
      ttlMs: cfg.consul.ttlMs,
      watchWaitS: cfg.consul.watchWaitS,
      token: cfg.consul.token,
    },
    { address: 'http://127.0.0.1:8500', ttlMs: 5000, watchWaitS: 10, token: undefined },
  );
  assert.equal(discoverySchema.safeParse({ backnd: 'consul' }).success, false);
  assert.equal(discoverySchema.safeParse({ consul: { adress: 'http://x:1' } }).success, false);
  assert.equal(discoverySchema.safeParse({ consul: { address: 'ftp://x:1' } }).success, false);
  assert.equal(discoverySchema.safeParse({ region: 'EU West' }).success, false);
  assert.equal(
    discoverySchema.safeParse({ consul: { sessionTtlMs: 5000 } }).success,
    false,
    'Consul refuses session TTLs under 10 s',
  );
  assert.equal(
    discoverySchema.safeParse({ consul: { watchWaitS: 601 } }).success,
    false,
    'Consul caps wait at 10 minutes',
  );
  assert.equal(discoverySchema.safeParse({ consul: { serviceAddress: 'bad host' } }).success, false);
  assert.equal(discoverySchema.safeParse({ consul: { serviceAddress: '10.0.0.7' } }).success, true);
  assert.equal(
    discoverySchema.safeParse({ consul: { retryInitialMs: 5000, retryMaxMs: 1000 } }).success,
    false,
  );
});

test('static discovery lists the configured parents one tier above, in order, with unknown load', async () => {
  const d = createDiscovery(discoverySchema.parse({}), logger, {
    role: 'edge',
    parents: ['ws://127.0.0.1:8091', 'ws://127.0.0.1:8092'],
  });
  assert.equal(d.backend, 'static');
  assert.equal(d.healthy, true);
  const self = describeSelf(discoverySchema.parse({}), {
    id: 'edge-1',
    role: 'edge',
    wsUrl: 'ws://127.0.0.1:8080',
  });
  assert.equal(self.tier, 64, 'edges last by default');
  await d.start(self);
  const parents = d.nodes('intermediate');
  assert.deepEqual(
    parents.map((p) => [p.wsUrl, p.tier, p.region, p.load, p.capacity]),
    [
      ['ws://127.0.0.1:8091', 63, 'local', 0, UNKNOWN_CAPACITY],
      ['ws://127.0.0.1:8092', 63, 'local', 0, UNKNOWN_CAPACITY],
    ],
  );
  assert.deepEqual(d.nodes('ingress'), []);
  assert.deepEqual(
    d.nodes('edge').map((n) => n.id),
    ['edge-1'],
  );
  const all = parentRoles('edge').flatMap((r) => d.nodes(r));
  assert.ok(
    chooseParent(all, self, { exclude: new Set([parents[0]!.id]) })?.wsUrl === 'ws://127.0.0.1:8092',
    'parent selection works on static nodes',
  );
  await d.close();
  await d.close();
});

test('an intermediate in static mode lists its parents as the ingress (tier 0)', async () => {
  const d = createDiscovery(discoverySchema.parse({}), logger, {
    role: 'intermediate',
    parents: ['ws://127.0.0.1:8090'],
  });
  await d.start(
    describeSelf(discoverySchema.parse({}), {
      id: 'mid-1',
      role: 'intermediate',
      wsUrl: 'ws://127.0.0.1:8091',
    }),
  );
  assert.deepEqual(
    d.nodes('ingress').map((n) => [n.role, n.tier, n.wsUrl]),
    [['ingress', 0, 'ws://127.0.0.1:8090']],
  );
  await d.close();
});

test('static claims are local: always granted, no origin to look up', async () => {
  const d = new StaticDiscovery({ parents: [], region: 'local', tier: 0, logger });
  await d.start({
    id: 'ingress-1',
    role: 'ingress',
    region: 'local',
    tier: 0,
    wsUrl: 'ws://127.0.0.1:8090',
    capacity: 10,
    load: 0,
  });
  assert.equal(await d.claimStream('cam'), true);
  assert.equal(await d.claimStream('cam'), true);
  assert.equal(await d.streamOrigin('cam'), undefined);
  await d.releaseStream('cam');
  await assert.rejects(
    d.claimStream('../etc'),
    (e: unknown) => e instanceof TiercastError && e.code === 'BAD_REQUEST',
  );
  let called = false;
  d.onChange('intermediate', () => (called = true))();
  d.onClaimLost(() => (called = true))();
  d.setLoad(3);
  assert.equal(called, false);
});

test('static discovery refuses malformed parents and a malformed self with a config error', async () => {
  assert.throws(
    () => new StaticDiscovery({ parents: ['http://127.0.0.1:1'], region: 'local', tier: 64, logger }),
    (e: unknown) => e instanceof TiercastError && e.code === 'CONFIG_INVALID' && /parent/.test(e.message),
  );
  const d = new StaticDiscovery({ parents: [], region: 'local', tier: 64, logger });
  const bad: NodeInfo = {
    id: 'edge 1',
    role: 'edge',
    region: 'local',
    tier: 64,
    wsUrl: 'ws://127.0.0.1:1',
    capacity: 1,
    load: 0,
  };
  await assert.rejects(
    d.start(bad),
    (e: unknown) => e instanceof TiercastError && e.code === 'CONFIG_INVALID',
  );
});

test('the factory builds the consul backend when configured (nothing is contacted before start)', async () => {
  const up: number[] = [];
  const d = createDiscovery(
    discoverySchema.parse({ backend: 'consul', consul: { address: 'http://127.0.0.1:1' } }),
    logger,
    {
      role: 'edge',
      metrics: { consulUp: { set: (v) => up.push(v) } },
    },
  );
  assert.equal(d.backend, 'consul');
  assert.equal(d.healthy, false);
  await d.close();
  const s = createDiscovery(discoverySchema.parse({}), logger, {
    role: 'edge',
    metrics: { consulUp: { set: (v) => up.push(v) } },
  });
  assert.equal(s.backend, 'static');
  assert.deepEqual(up, [1], 'static reports itself up');
});
