/**
 * Contract tests of the Consul discovery backend. They run against the Consul test double
 * (test/consul-double) by default, and against a real agent when CONSUL_HTTP_ADDR is set (CONSUL_HTTP_TOKEN too
 * if its ACLs are on): same test code, only the address differs. Tests that cut Consul off, wipe it or count
 * its requests need the double's controls and are skipped against a real agent.
 */
import { after, afterEach, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { ConsulDouble } from '../consul-double/consul-double.js';
import {
  consulDiscoverySchema,
  ConsulDiscovery,
  serviceName,
  type DiscoveryMetrics,
  type NodeInfo,
  type NodeRole,
} from '../../src/common/discovery/index.js';
import { TiercastError } from '../../src/common/errors/index.js';

const realAddress = process.env.CONSUL_HTTP_ADDR ? normalizeAddress(process.env.CONSUL_HTTP_ADDR) : undefined;
const realToken = process.env.CONSUL_HTTP_TOKEN || undefined;
const doubleOnly = realAddress ? 'needs the test double’s controls (not a real agent)' : false;
const run = randomBytes(3).toString('hex');

let double: ConsulDouble | undefined;
let address: string;
const open: ConsulDiscovery[] = [];

function normalizeAddress(a: string): string {
  return /^https?:\/\//.test(a) ? a : `http://${a}`;
}

before(async () => {
  if (realAddress) {
    address = realAddress;
  } else {
    double = await ConsulDouble.create();
    address = double.address;
  }
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((d) => d.close()));
});

after(async () => {
  await double?.close();
});

interface Captured {
  lines: Array<{ level: number; msg: string; [k: string]: unknown }>;
  logger: Logger;
}

function capture(): Captured {
  const lines: Captured['lines'] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line));
      cb();
    },
  });
  return { lines, logger: pino({ level: 'debug' }, stream) };
}

function fakeMetrics() {
  const up: number[] = [];
  const invalid: string[] = [];
  const watchErrors: string[] = [];
  const metrics: DiscoveryMetrics = {
    consulUp: { set: (v) => up.push(v) },
    invalidRegistrations: { inc: ({ role }) => invalid.push(role) },
    watchErrors: { inc: ({ role }) => watchErrors.push(role) },
  };
  return { metrics, up, invalid, watchErrors };
}

function discovery(
  opts: { config?: Record<string, unknown>; log?: Captured; metrics?: DiscoveryMetrics; at?: string } = {},
): ConsulDiscovery {
  const config = consulDiscoverySchema.parse({
    address: opts.at ?? address,
    ttlMs: 1500,
    retryInitialMs: 50,
    retryMaxMs: 300,
    ...(realToken ? { token: realToken } : {}),
    ...opts.config,
  });
  const d = new ConsulDiscovery({ config, logger: (opts.log ?? capture()).logger, metrics: opts.metrics });
  open.push(d);
  return d;
}

function node(role: NodeRole, name: string, extra: Partial<NodeInfo> = {}): NodeInfo {
  return {
    id: `${name}-${run}`,
    role,
    region: 'eu-west',
    tier: role === 'ingress' ? 0 : role === 'intermediate' ? 1 : 64,
    wsUrl: `ws://127.0.0.1:${9000 + Math.floor(Math.random() * 999)}`,
    capacity: 100,
    load: 0,
    ...extra,
  };
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 8000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Talks to Consul directly, as another (possibly broken) program would. */
async function consul(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${address}${path}`, {
    method,
    headers: realToken ? { 'X-Consul-Token': realToken } : {},
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let json: unknown = text;
  try {
    json = JSON.parse(text);
  } catch {
    /* plain text */
  }
  return { status: res.status, json };
}

function rawRegistration(id: string, meta: Record<string, string>, tags: string[], ttl = '30s') {
  return {
    ID: id,
    Name: serviceName('edge'),
    Tags: tags,
    Meta: meta,
    Address: '127.0.0.1',
    Port: 9999,
    Check: { CheckID: `service:${id}`, TTL: ttl, Status: 'passing', DeregisterCriticalServiceAfter: '1m' },
  };
}

const ids = (list: NodeInfo[]) => list.map((n) => n.id);

test('a registered node is seen by others through the watch, with its region, tier, URL and load; close deregisters it', async () => {
  const a = discovery();
  const b = discovery();
  const changes: string[][] = [];
  b.onChange('edge', (nodes) => changes.push(ids(nodes)));
  const self = node('edge', 'edge-a');
  await a.start(self);
  assert.equal(a.healthy, true);
  await waitFor('edge visible to b', () => ids(b.nodes('edge')).includes(self.id));
  assert.deepEqual(
    b.nodes('edge').find((n) => n.id === self.id),
    self,
  );
  assert.ok(
    changes.some((c) => c.includes(self.id)),
    'onChange told about the new node',
  );

  a.setLoad(7);
  a.setLoad(8);
  await waitFor('load update visible', () => b.nodes('edge').find((n) => n.id === self.id)?.load === 8, 5000);

  await a.close();
  await waitFor('edge gone from b', () => !ids(b.nodes('edge')).includes(self.id));
  const all = await consul('GET', `/v1/health/service/${serviceName('edge')}`);
  assert.ok(Array.isArray(all.json));
  assert.ok(
    !(all.json as Array<{ Service: { ID: string } }>).some((e) => e.Service.ID === `edge-${self.id}`),
    'deregistered, not merely critical',
  );
  await a.close(); // idempotent
});

test('a node whose TTL is not refreshed leaves the passing set (a stale registration that points nowhere)', async () => {
  const b = discovery();
  const id = `edge-stale-${run}`;
  const reg = rawRegistration(
    id,
    { node_id: `stale-${run}`, ws_url: 'ws://127.0.0.1:9', capacity: '10', load: '0' },
    ['region:eu-west', 'tier:64'],
    '1s',
  );
  assert.equal((await consul('PUT', '/v1/agent/service/register', reg)).status, 200);
  try {
    await waitFor(
      'stale node visible while its TTL holds',
      () => ids(b.nodes('edge')).includes(`stale-${run}`),
      3000,
    );
    await waitFor(
      'stale node gone once its TTL expired',
      () => !ids(b.nodes('edge')).includes(`stale-${run}`),
      5000,
    );
    const all = await consul('GET', `/v1/health/service/${serviceName('edge')}`);
    const entry = (
      all.json as Array<{ Service: { ID: string }; Checks: Array<{ CheckID: string; Status: string }> }>
    ).find((e) => e.Service.ID === id);
    assert.equal(entry?.Checks.find((c) => c.CheckID === `service:${id}`)?.Status, 'critical');
  } finally {
    await consul('PUT', `/v1/agent/service/deregister/${id}`);
  }
});

test('malformed registrations in Consul are ignored with a warning, never crash the watcher', async () => {
  const log = capture();
  const m = fakeMetrics();
  const b = discovery({ log, metrics: m.metrics });
  const good = { node_id: `good-${run}`, ws_url: 'ws://127.0.0.1:9100', capacity: '10', load: '1' };
  const bad: Array<[string, Record<string, string>, string[]]> = [
    [
      `edge-badurl-${run}`,
      { ...good, node_id: `badurl-${run}`, ws_url: 'not a url' },
      ['region:eu-west', 'tier:64'],
    ],
    [
      `edge-badproto-${run}`,
      { ...good, node_id: `badproto-${run}`, ws_url: 'http://127.0.0.1:1' },
      ['region:eu-west', 'tier:64'],
    ],
    [
      `edge-noid-${run}`,
      { ws_url: 'ws://127.0.0.1:9101', capacity: '10', load: '1' },
      ['region:eu-west', 'tier:64'],
    ],
    [`edge-notier-${run}`, { ...good, node_id: `notier-${run}` }, ['region:eu-west']],
    [
      `edge-badload-${run}`,
      { ...good, node_id: `badload-${run}`, load: '-3' },
      ['region:eu-west', 'tier:64'],
    ],
  ];
  const all = [
    ...bad,
    [`edge-good-${run}`, good, ['region:eu-west', 'tier:64']] as [string, Record<string, string>, string[]],
  ];
  try {
    for (const [id, meta, tags] of all)
      assert.equal(
        (await consul('PUT', '/v1/agent/service/register', rawRegistration(id, meta, tags))).status,
        200,
      );
    await waitFor('the valid node', () => ids(b.nodes('edge')).includes(`good-${run}`));
    await waitFor('every malformed one reported', () =>
      bad.every(([id]) =>
        log.lines.some((l) => l.service === id && l.msg.includes('malformed registration')),
      ),
    );
    const seen = ids(b.nodes('edge'));
    for (const [, meta] of bad)
      if (meta.node_id) assert.ok(!seen.includes(meta.node_id), `${meta.node_id} ignored`);
    assert.equal(b.healthy, true);
    assert.match(String(log.lines.find((l) => l.service === `edge-badurl-${run}`)?.reason), /ws_url/);
    const reports = m.invalid.length;
    assert.ok(reports >= bad.length);
    await sleep(300);
    assert.equal(
      m.invalid.length,
      reports,
      'each malformed registration is reported once, not on every answer',
    );
  } finally {
    for (const [id] of all) await consul('PUT', `/v1/agent/service/deregister/${id}`);
  }
});

test('a node with a malformed address is refused before anything is registered', async () => {
  const d = discovery();
  const before = double?.count('/v1/agent/service/register') ?? 0;
  for (const wsUrl of [
    'ws://bad host:1',
    'not-a-url',
    'http://127.0.0.1:1',
    'ws://0.0.0.0:8080',
    'ws://user:pw@127.0.0.1:1',
  ]) {
    await assert.rejects(
      d.start(node('edge', 'bad', { wsUrl })),
      (err: unknown) => err instanceof TiercastError && err.code === 'CONFIG_INVALID',
      wsUrl,
    );
  }
  await assert.rejects(
    d.start(node('edge', 'bad id!')),
    (err: unknown) => err instanceof TiercastError && err.code === 'CONFIG_INVALID',
  );
  if (double) assert.equal(double.count('/v1/agent/service/register'), before);
});

test('two ingresses claim the same stream: exactly one wins; its close releases the stream to the other', async () => {
  const i1 = discovery();
  const i2 = discovery();
  const edge = discovery();
  const n1 = node('ingress', 'ingress-1');
  const n2 = node('ingress', 'ingress-2');
  await Promise.all([i1.start(n1), i2.start(n2)]);
  const stream = `cam-${run}`;
  const results = await Promise.all([i1.claimStream(stream), i2.claimStream(stream)]);
  assert.equal(results.filter(Boolean).length, 1, `exactly one winner: ${JSON.stringify(results)}`);
  const [winner, loser, winnerNode, loserNode] = results[0] ? [i1, i2, n1, n2] : [i2, i1, n2, n1];
  assert.equal(await winner.claimStream(stream), true, 'the holder claiming again keeps it');
  assert.equal(await loser.claimStream(stream), false);
  const origin = await edge.streamOrigin(stream);
  assert.equal(origin?.id, winnerNode.id);
  assert.equal(origin?.wsUrl, winnerNode.wsUrl);

  await winner.close();
  assert.equal(await edge.streamOrigin(stream), undefined, 'released on close');
  assert.equal(await loser.claimStream(stream), true, 'the other ingress can claim at once');
  assert.equal((await edge.streamOrigin(stream))?.id, loserNode.id);
  await loser.releaseStream(stream);
  assert.equal(await edge.streamOrigin(stream), undefined);
  assert.equal(await edge.streamOrigin(`never-${run}`), undefined);
});

test(
  'claims survive an agent restart: lost sessions are replaced, claims retaken or reported lost',
  { skip: doubleOnly },
  async () => {
    const cfg = { config: { sessionTtlMs: 10_000 } };
    const i1 = discovery(cfg);
    const i2 = discovery(cfg);
    const edge = discovery();
    const n1 = node('ingress', 'restart-1');
    await Promise.all([i1.start(n1), i2.start(node('ingress', 'restart-2'))]);
    const lost: string[] = [];
    i1.onClaimLost((s) => lost.push(s));
    const [a, b] = [`a-${run}`, `b-${run}`];
    assert.equal(await i1.claimStream(a), true);
    assert.equal(await i1.claimStream(b), true);
    double!.restartAgent(); // i1's session dies with the agent: Consul deletes its claims (Behavior delete)
    assert.equal(await edge.streamOrigin(a), undefined);
    await sleep(1100); // Consul's lock-delay on a dead session's keys
    assert.equal(await i2.claimStream(a), true, 'another ingress took a meanwhile');
    await waitFor('i1 notices at its next renewal', () => lost.length > 0, 6000);
    assert.deepEqual(lost, [a]);
    await waitFor(
      'i1 retook b',
      () => double!.state.kv.get(`tiercast/streams/${b}`)?.Session !== undefined,
      3000,
    );
    assert.equal((await edge.streamOrigin(b))?.id, n1.id);
    assert.equal(await i1.claimStream(a), false);
  },
);

test(
  'a release that fails while Consul is down is retried when it is back',
  { skip: doubleOnly },
  async () => {
    const i1 = discovery({ config: { sessionTtlMs: 10_000 } });
    const i2 = discovery();
    await Promise.all([i1.start(node('ingress', 'rel-1')), i2.start(node('ingress', 'rel-2'))]);
    const s = `rel-${run}`;
    assert.equal(await i1.claimStream(s), true);
    await double!.stop();
    await i1.releaseStream(s); // cannot reach Consul: resolves, logs, retries later
    await double!.start();
    await waitFor('released at the next renewal', () => !double!.state.kv.has(`tiercast/streams/${s}`), 6000);
    assert.equal(await i2.claimStream(s), true);
  },
);

test(
  'blocking queries do not spin: an idle node makes a handful of requests, not hundreds',
  { skip: doubleOnly },
  async () => {
    const d = discovery({ config: { ttlMs: 5000, watchWaitS: 10 } });
    await d.start(node('edge', 'idle'));
    d.nodes('intermediate');
    d.nodes('ingress');
    await waitFor(
      'first answers',
      () =>
        double!.count(`/v1/health/service/${serviceName('ingress')}`) > 0 &&
        double!.count(`/v1/health/service/${serviceName('intermediate')}`) > 0,
    );
    await sleep(200);
    const since = Date.now();
    await sleep(3000);
    const health = double!.count('/v1/health/service/', since);
    const total = double!.count('/', since);
    assert.ok(health <= 2, `health queries while idle: ${health}`);
    assert.ok(total <= 6, `requests while idle: ${total} (heartbeats every ttl/3 plus blocked watches)`);
  },
);

test(
  'Consul down: last known lists kept, healthy=false, logged once; back: recovers and re-registers',
  { skip: doubleOnly },
  async () => {
    const logA = capture();
    const logB = capture();
    const mB = fakeMetrics();
    const a = discovery({ log: logA });
    const b = discovery({ log: logB, metrics: mB.metrics });
    const self = node('edge', 'outage');
    await a.start(self);
    await waitFor('b sees a', () => ids(b.nodes('edge')).includes(self.id));

    await double!.stop();
    await waitFor('both notice the outage', () => !a.healthy && !b.healthy);
    await sleep(1500); // several retries
    assert.ok(ids(b.nodes('edge')).includes(self.id), 'last known nodes kept');
    const outageLines = (c: Captured) => c.lines.filter((l) => l.msg.startsWith('Consul unreachable')).length;
    assert.equal(outageLines(logA), 1, 'one log line per outage, not per retry');
    assert.equal(outageLines(logB), 1);
    assert.equal(mB.up.at(-1), 0);
    assert.ok(mB.watchErrors.length >= 2, 'watch errors counted');

    double!.restartAgent(); // it came back without its data: a must register again
    await double!.start();
    await waitFor('both healthy again', () => a.healthy && b.healthy);
    await waitFor(
      'a registered again and b sees it',
      () => ids(b.nodes('edge')).includes(self.id) && double!.state.services.has(`edge-${self.id}`),
    );
    assert.equal(mB.up.at(-1), 1);
    assert.equal(logB.lines.filter((l) => l.msg === 'Consul reachable again').length, 1);
  },
);

test(
  'the index going backwards (Consul lost its state) resets the watch instead of blocking on a stale index',
  { skip: doubleOnly },
  async () => {
    const a = discovery();
    const b = discovery({ config: { watchWaitS: 1 } });
    const self = node('edge', 'reset');
    await a.start(self);
    await waitFor('b sees a', () => ids(b.nodes('edge')).includes(self.id));
    const other = node('edge', 'after-reset');
    double!.wipe();
    const c = discovery();
    await c.start(other);
    // a notices its check is unknown and registers again; b's stale index is larger than anything Consul now
    // has, so it learns of the reset only when its wait ends, then reads afresh.
    await waitFor(
      'b sees both after the reset',
      () => ids(b.nodes('edge')).includes(other.id) && ids(b.nodes('edge')).includes(self.id),
      6000,
    );
  },
);

test(
  'Consul unreachable at start: the node starts anyway and registers once Consul answers',
  { skip: doubleOnly },
  async () => {
    const late = await ConsulDouble.create();
    try {
      await late.stop();
      const log = capture();
      const d = discovery({ at: late.address, log });
      const self = node('intermediate', 'early');
      await d.start(self);
      assert.equal(d.healthy, false);
      assert.deepEqual(d.nodes('ingress'), []);
      await assert.rejects(
        d.claimStream(`s-${run}`),
        (err: unknown) => err instanceof TiercastError && err.code === 'UPSTREAM_UNAVAILABLE',
      );
      assert.ok(log.lines.some((l) => l.msg.startsWith('Consul unreachable')));
      await late.start();
      await waitFor('registered', () => late.state.services.has(`intermediate-${self.id}`));
      await waitFor('healthy', () => d.healthy);
      await d.close();
      assert.equal(late.state.services.has(`intermediate-${self.id}`), false);
    } finally {
      await late.close();
    }
  },
);

test(
  'the ACL token travels in a header and a refusal is not mistaken for an outage',
  { skip: doubleOnly },
  async () => {
    const secured = await ConsulDouble.create({ aclToken: 'test-token-123' });
    try {
      const ok = discovery({ at: secured.address, config: { token: 'test-token-123' } });
      await ok.start(node('edge', 'acl-ok'));
      assert.ok(secured.state.services.has(`edge-acl-ok-${run}`));
      assert.ok(
        secured.requests.every((r) => !r.query.includes('test-token-123')),
        'never in a URL',
      );
      const log = capture();
      const refused = discovery({ at: secured.address, log });
      await refused.start(node('edge', 'acl-no'));
      assert.equal(secured.state.services.has(`edge-acl-no-${run}`), false);
      assert.equal(refused.healthy, true, 'Consul answered: reachable, but refused');
      assert.ok(log.lines.some((l) => l.msg === 'Consul refused a request'));
      assert.ok(log.lines.every((l) => !JSON.stringify(l).includes('test-token-123')));
    } finally {
      await secured.close();
    }
  },
);
