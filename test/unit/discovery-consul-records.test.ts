import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildRegistration,
  encodeClaim,
  formatDuration,
  parseClaim,
  parseHealthEntries,
  validateSelf,
} from '../../src/common/discovery/consul-records.js';
import type { NodeInfo } from '../../src/common/discovery/index.js';
import { TiercastError } from '../../src/common/errors/index.js';

const self: NodeInfo = {
  id: 'edge-1',
  role: 'edge',
  region: 'eu-west',
  tier: 64,
  wsUrl: 'ws://10.0.0.5:8080',
  capacity: 500,
  load: 12,
};

function entry(
  meta: Record<string, unknown>,
  tags: unknown = ['region:eu-west', 'tier:64'],
  checks: unknown = [{ CheckID: 'serfHealth', Status: 'passing' }],
) {
  return {
    Node: { Node: 'n1' },
    Service: {
      ID: `edge-${String(meta.node_id)}`,
      Service: 'tiercast-edge',
      Tags: tags,
      Meta: meta,
      Address: '10.0.0.5',
      Port: 8080,
    },
    Checks: checks,
  };
}
const goodMeta = { node_id: 'edge-1', ws_url: 'ws://10.0.0.5:8080', capacity: '500', load: '12' };

test('our registration: service per role, region and tier tags, URL/capacity/load meta, a passing TTL check', () => {
  const reg = buildRegistration(self, { ttlMs: 5000, deregisterCriticalAfterMs: 60_000 });
  assert.deepEqual(reg, {
    ID: 'edge-edge-1',
    Name: 'tiercast-edge',
    Tags: ['region:eu-west', 'tier:64'],
    Address: '10.0.0.5',
    Port: 8080,
    Meta: { node_id: 'edge-1', ws_url: 'ws://10.0.0.5:8080', capacity: '500', load: '12' },
    Check: {
      CheckID: 'service:edge-edge-1',
      Name: 'tiercast edge edge-1 heartbeat',
      TTL: '5s',
      Status: 'passing',
      DeregisterCriticalServiceAfter: '1m',
    },
  });
  assert.equal(
    buildRegistration(
      { ...self, wsUrl: 'wss://edge.example.org' },
      { ttlMs: 1500, deregisterCriticalAfterMs: 90_000, serviceAddress: '192.0.2.1' },
    ).Port,
    443,
  );
  assert.equal(
    buildRegistration(self, { ttlMs: 1500, deregisterCriticalAfterMs: 90_000, serviceAddress: '192.0.2.1' })
      .Address,
    '192.0.2.1',
  );
  assert.equal(
    buildRegistration(
      { ...self, role: 'hub', wsUrl: 'http://[::1]:8070' },
      { ttlMs: 5000, deregisterCriticalAfterMs: 60_000 },
    ).Address,
    '::1',
  );
});

test('our own address is validated before registering', () => {
  const bad = (over: Partial<NodeInfo>) =>
    assert.throws(
      () => validateSelf({ ...self, ...over }),
      (e: unknown) => e instanceof TiercastError && e.code === 'CONFIG_INVALID',
    );
  bad({ wsUrl: 'ws//nohost' });
  bad({ wsUrl: 'http://10.0.0.5:8080' }); // relays speak WebSocket
  bad({ wsUrl: 'ws://0.0.0.0:8080' });
  bad({ wsUrl: 'ws://10.0.0.5:8080/?key=secret' });
  bad({ wsUrl: 'ws://a:b@10.0.0.5:8080' });
  bad({ id: 'has space' });
  bad({ region: 'Upper Case' });
  bad({ tier: -1 });
  bad({ tier: 1.5 });
  bad({ capacity: Number.NaN });
  bad({ load: -1 });
  assert.equal(validateSelf({ ...self, role: 'hub', wsUrl: 'http://hub.internal:8070' }).role, 'hub');
  assert.equal(validateSelf({ ...self, wsUrl: 'wss://[2001:db8::1]:443' }).id, 'edge-1');
});

test('health entries become nodes; non-passing ones are dropped', () => {
  const { nodes, invalid } = parseHealthEntries('edge', [
    entry(goodMeta),
    entry(
      { ...goodMeta, node_id: 'edge-2' },
      ['region:eu-west', 'tier:64'],
      [
        { CheckID: 'serfHealth', Status: 'passing' },
        { CheckID: 'service:edge-edge-2', Status: 'critical' },
      ],
    ),
  ]);
  assert.deepEqual(nodes, [self]);
  assert.deepEqual(invalid, []);
});

test('malformed registrations are reported with a reason, never thrown', () => {
  const cases: Array<[unknown, RegExp]> = [
    [entry({ ...goodMeta, ws_url: 'not a url' }), /ws_url/],
    [entry({ ...goodMeta, ws_url: 'ws://0.0.0.0:1' }), /ws_url/],
    [entry({ node_id: 'edge-1', capacity: '500', load: '12' }), /ws_url/],
    [entry({ ...goodMeta, node_id: 'bad id' }), /node_id/],
    [entry({ ...goodMeta, capacity: 'lots' }), /capacity/],
    [entry({ ...goodMeta, load: '-1' }), /load/],
    [entry(goodMeta, ['tier:64']), /region/],
    [entry(goodMeta, ['region:eu-west', 'tier:x']), /tier/],
    [entry(goodMeta, ['region:eu-west', 'tier:99']), /tier/],
    [entry(goodMeta, 'not-a-list'), /Consul health entry/],
    [{ Service: null }, /Consul health entry/],
    [42, /Consul health entry/],
  ];
  for (const [raw, reason] of cases) {
    const { nodes, invalid } = parseHealthEntries('edge', [raw, entry({ ...goodMeta, node_id: 'ok' })]);
    assert.deepEqual(
      nodes.map((n) => n.id),
      ['ok'],
    );
    assert.equal(invalid.length, 1, JSON.stringify(raw));
    assert.match(invalid[0]!.reason, reason);
  }
  const dup = parseHealthEntries('edge', [entry(goodMeta), entry(goodMeta)]);
  assert.equal(dup.nodes.length, 1);
  assert.match(dup.invalid[0]!.reason, /duplicate/);
  assert.throws(() => parseHealthEntries('edge', { not: 'a list' }));
  assert.deepEqual(parseHealthEntries('edge', []).nodes, []);
  assert.deepEqual(
    parseHealthEntries('edge', [
      { ...entry(goodMeta), Service: { ...entry(goodMeta).Service, Service: 'other' } },
    ]).nodes,
    [],
    'other services are not ours',
  );
});

test('stream claims round-trip; foreign values are not claims', () => {
  const ingress: NodeInfo = {
    ...self,
    id: 'ingress-1',
    role: 'ingress',
    tier: 0,
    wsUrl: 'ws://10.0.0.2:8090',
  };
  assert.deepEqual(parseClaim(encodeClaim(ingress)), {
    node_id: 'ingress-1',
    ws_url: 'ws://10.0.0.2:8090',
    region: 'eu-west',
  });
  assert.equal(parseClaim('{"node_id":"x"}'), undefined);
  assert.equal(parseClaim('{"node_id":"x","ws_url":"javascript:alert(1)"}'), undefined);
  assert.equal(parseClaim('not json'), undefined);
  assert.equal(parseClaim(null), undefined);
  assert.equal(parseClaim('x'.repeat(5000)), undefined);
});

test('durations use the Go syntax Consul reads', () => {
  assert.equal(formatDuration(5000), '5s');
  assert.equal(formatDuration(60_000), '1m');
  assert.equal(formatDuration(1500), '1500ms');
  assert.equal(formatDuration(0), '0s');
});
