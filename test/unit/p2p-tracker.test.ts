import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { p2pSchema } from '../../src/common/config/index.js';
import { createMetrics } from '../../src/common/metrics/index.js';
import { P2pTracker, type P2pViewer } from '../../src/edge/p2p/tracker.js';
import { p2pMessageSchema } from '../../src/edge/p2p/messages.js';
import { stripeOf } from '../../src/edge/p2p/swarm-plan.js';
import type { CachedChunk } from '../../src/common/relay/rendition-cache.js';
import type { MediaChunk } from '../../src/common/media.js';
import { silentLogger } from '../helpers/fakes.js';

interface Sent {
  type: string;
  [k: string]: unknown;
}

class FakeViewer implements P2pViewer {
  readonly texts: string[] = [];
  readonly cachedAsked: Array<[string, number, number]> = [];
  cachedBytes = 1234;
  constructor(
    readonly stream: string,
    readonly region = 'eu',
  ) {}
  sendText(text: string): void {
    this.texts.push(text);
  }
  sendCached(rendition: string, segment: number, chunk: number): number {
    this.cachedAsked.push([rendition, segment, chunk]);
    return this.cachedBytes;
  }
  get msgs(): Sent[] {
    return this.texts.map((t) => JSON.parse(t) as Sent);
  }
  last(type: string): Sent | undefined {
    return this.msgs.filter((m) => m.type === type).at(-1);
  }
  clear(): void {
    this.texts.length = 0;
  }
}

interface Plan {
  suppliers: Array<string | null>;
  receivers: Array<{ peer: string; stripe: number }>;
}

function setup(config: Record<string, unknown> = { enabled: true }) {
  const metrics = createMetrics('test-node', 'edge');
  const tracker = new P2pTracker(p2pSchema.parse(config), silentLogger, metrics);
  /** A viewer whose page asked for P2P, watching `video`. */
  const join = (stream = 'demo', video: string | null = 'v720', region = 'eu') => {
    const v = new FakeViewer(stream, region);
    const id = tracker.add(v);
    tracker.setVideo(id, video ?? undefined);
    send(id, { type: 'p2p', on: true });
    return { id, v };
  };
  /** Messages go through the schema, as viewer-socket.ts validates them. */
  const send = (id: string, msg: unknown) => tracker.handle(id, p2pMessageSchema.parse(msg));
  return { metrics, tracker, join, send };
}

function planOf(v: FakeViewer): Plan {
  const p = v.last('p2p-plan');
  assert.ok(p, 'a plan was sent');
  return p as unknown as Plan;
}

function chunk(segment: number, c: number, stream = 'demo', rendition = 'v720'): CachedChunk {
  const meta = { stream, rendition, segment, chunk: c } as MediaChunk;
  return { meta, frame: Buffer.from(`frame ${rendition} ${segment}.${c}`) };
}

async function metricValue(
  metrics: ReturnType<typeof createMetrics>,
  name: string,
  labels: Record<string, string>,
): Promise<number> {
  const m = await metrics.registry.getSingleMetric(name)!.get();
  const v = m.values.find((x) => Object.entries(labels).every(([k, val]) => x.labels[k] === val));
  return v?.value ?? 0;
}

void describe('P2pTracker', () => {
  void it('answers a stream that does not use P2P with state off (P2P_DISABLED) and forms no swarm', async () => {
    const { tracker, join, metrics } = setup({ streams: ['other'] });
    assert.equal(tracker.enabledFor('demo'), false);
    const { v } = join('demo');
    const st = v.last('p2p')!;
    assert.equal(st.state, 'off');
    assert.match(String(st.reason), /^P2P_DISABLED/);
    assert.equal(v.last('p2p-plan'), undefined);
    assert.equal(tracker.swarmsOf('demo').size, 0);
    assert.equal(await metricValue(metrics, 'tiercast_p2p_swarm_members', { stream: 'demo' }), 0);
  });

  void it('is enabled edge-wide by config.enabled, or per stream by config.streams', () => {
    const all = setup({ enabled: true }).tracker;
    assert.ok(all.enabledFor('demo') && all.enabledFor('x'));
    const some = setup({ streams: ['demo'] });
    assert.ok(some.tracker.enabledFor('demo'));
    assert.ok(!some.tracker.enabledFor('x'));
    const { id, v } = some.join('demo');
    const st = v.last('p2p')!;
    assert.equal(st.state, 'on');
    assert.equal(st.id, id);
    assert.equal(st.deadlineFrames, 3);
  });

  void it('plans the viewers of one stream, video and region together; another region or video is another swarm', () => {
    const { tracker, join } = setup();
    const a = join('demo', 'v720', 'eu');
    const b = join('demo', 'v720', 'eu');
    const c = join('demo', 'v720', 'us');
    const d = join('demo', 'v480', 'eu');
    const swarms = tracker.swarmsOf('demo');
    assert.equal(swarms.size, 3);
    assert.deepEqual(swarms.get('demo|v720|eu'), [a.id, b.id]);
    assert.deepEqual(swarms.get('demo|v720|us'), [c.id]);
    assert.deepEqual(swarms.get('demo|v480|eu'), [d.id]);
    const pa = planOf(a.v);
    const pb = planOf(b.v);
    // Two members: each is the root of its home stripe and receives the other from its partner.
    assert.deepEqual([...pa.suppliers].sort(), [b.id, null].sort());
    assert.deepEqual([...pb.suppliers].sort(), [a.id, null].sort());
    assert.deepEqual(planOf(c.v).suppliers, [null, null]);
    assert.deepEqual(planOf(d.v).suppliers, [null, null]);
  });

  void it('a viewer with no video yet joins no swarm until setVideo, and a quality switch moves it', () => {
    const { tracker, join } = setup();
    const a = join('demo', null);
    assert.equal(tracker.swarmsOf('demo').size, 0);
    tracker.setVideo(a.id, 'v720');
    assert.deepEqual(tracker.swarmsOf('demo').get('demo|v720|eu'), [a.id]);
    tracker.setVideo(a.id, 'v480');
    assert.deepEqual([...tracker.swarmsOf('demo').keys()], ['demo|v480|eu']);
  });

  void it('the edge sends chunks until the receiver reports its supplier link open, then only digests of that stripe', () => {
    const { join, send, tracker } = setup();
    const a = join();
    const b = join();
    const pb = planOf(b.v);
    const stripe = pb.suppliers.indexOf(a.id);
    assert.ok(stripe >= 0);
    const mine = chunk(7, stripe === stripeOf(7, 0) ? 0 : 1);
    const other = chunk(7, stripe === stripeOf(7, 0) ? 1 : 0);
    assert.equal(stripeOf(mine.meta.segment, mine.meta.chunk), stripe);
    assert.equal(tracker.announcement(b.id, mine), undefined);
    send(b.id, { type: 'p2p-link', peer: a.id, open: true });
    const text = tracker.announcement(b.id, mine);
    assert.ok(text);
    const h = createHash('sha256').update(mine.frame).digest('base64url');
    assert.deepEqual(JSON.parse(text), { type: 'p2p-digest', r: 'v720', s: 7, c: mine.meta.chunk, h });
    // The other stripe comes from the edge (b is its root), as do chunks for viewers outside P2P.
    assert.equal(tracker.announcement(b.id, other), undefined);
    assert.equal(tracker.announcement('nobody', mine), undefined);
    // A link to someone who is not the planned supplier opens nothing.
    send(a.id, { type: 'p2p-link', peer: 'AAAAAAAA', open: true });
    assert.equal(tracker.announcement(a.id, mine), undefined);
    assert.equal(tracker.announcement(a.id, other), undefined);
    // Closed again: the edge sends it.
    send(b.id, { type: 'p2p-link', peer: a.id, open: false });
    assert.equal(tracker.announcement(b.id, mine), undefined);
  });

  void it('relays signalling between planned partners only', async () => {
    const { join, send, metrics } = setup({ enabled: true, fanout: 1 });
    const a = join();
    const b = join();
    const c = join();
    const elsewhere = join('other');
    const data = { sdp: 'v=0', kind: 'offer' };
    const pc = planOf(c.v);
    const partnersOfC = new Set([...pc.suppliers, ...pc.receivers.map((r) => r.peer)]);
    const partner = [a, b].find((x) => partnersOfC.has(x.id))!;
    assert.ok(partner);
    partner.v.clear();
    send(c.id, { type: 'p2p-signal', to: partner.id, data });
    assert.deepEqual(partner.v.msgs, [{ type: 'p2p-signal', from: c.id, data }]);

    // A member of another stream is never a partner.
    c.v.clear();
    send(c.id, { type: 'p2p-signal', to: elsewhere.id, data });
    assert.deepEqual(
      c.v.msgs.map((m) => [m.type, m.code]),
      [['error', 'P2P_NOT_YOUR_PEER']],
    );
    assert.equal(elsewhere.v.last('p2p-signal'), undefined);
    // Nor is an unknown id.
    send(c.id, { type: 'p2p-signal', to: 'AAAAAAAA', data });
    assert.ok(
      (await metricValue(metrics, 'tiercast_p2p_refused_messages_total', { code: 'P2P_NOT_YOUR_PEER' })) >= 2,
    );
  });

  void it('refuses a signal to a member of the same swarm that is not a planned partner', async () => {
    const { join, send, metrics } = setup({ enabled: true, fanout: 3 });
    const members = Array.from({ length: 8 }, () => join());
    const plans = new Map(members.map((m) => [m.id, planOf(m.v)]));
    let tried = 0;
    for (const x of members)
      for (const y of members) {
        if (x === y) continue;
        const p = plans.get(x.id)!;
        if (p.suppliers.includes(y.id) || p.receivers.some((r) => r.peer === y.id)) continue;
        y.v.clear();
        x.v.clear();
        send(x.id, { type: 'p2p-signal', to: y.id, data: { sdp: 'x', kind: 'answer' } });
        assert.equal(y.v.last('p2p-signal'), undefined);
        tried++;
      }
    assert.ok(tried > 0);
    for (const x of members) {
      const errors = x.v.msgs.filter((m) => m.type === 'error');
      // Refusals are counted every time but answered at most once a second.
      assert.ok(errors.length <= 1);
      for (const e of errors) assert.equal(e.code, 'P2P_NOT_YOUR_PEER');
    }
    assert.ok(
      (await metricValue(metrics, 'tiercast_p2p_refused_messages_total', { code: 'P2P_NOT_YOUR_PEER' })) >=
        tried,
    );
  });

  void it('a bad-data report from the only receiver takes the supplier out; its receivers are replanned', async () => {
    const { join, send, tracker, metrics } = setup();
    const a = join();
    const b = join();
    const stripe = planOf(b.v).suppliers.indexOf(a.id);
    send(b.id, { type: 'p2p-link', peer: a.id, open: true });
    b.v.clear();
    send(b.id, { type: 'p2p-bad', peer: a.id, r: 'v720', s: 1, c: 1 });
    const st = a.v.last('p2p')!;
    assert.equal(st.state, 'off');
    assert.match(String(st.reason), /^P2P_BAD_DATA/);
    assert.deepEqual(tracker.swarmsOf('demo').get('demo|v720|eu'), [b.id]);
    assert.deepEqual(planOf(b.v).suppliers, [null, null]);
    assert.equal(tracker.announcement(b.id, chunk(0, stripe)), undefined);
    assert.equal(await metricValue(metrics, 'tiercast_p2p_removed_total', { reason: 'bad_data' }), 1);
    assert.equal(await metricValue(metrics, 'tiercast_p2p_bad_chunks_total', { stream: 'demo' }), 1);
    // It stays out, even if its page asks again.
    send(a.id, { type: 'p2p', on: true });
    assert.match(String(a.v.last('p2p')!.reason), /^P2P_BAD_DATA/);
    assert.deepEqual(tracker.swarmsOf('demo').get('demo|v720|eu'), [b.id]);
  });

  void it('a supplier of several receivers is taken out on the second report, not the first', () => {
    const { join, send, tracker } = setup({ enabled: true, fanout: 2 });
    const members = Array.from({ length: 6 }, () => join());
    const supplier = members.find((m) => planOf(m.v).receivers.length >= 2)!;
    assert.ok(supplier);
    const receivers = planOf(supplier.v).receivers.map((r) => members.find((m) => m.id === r.peer)!);
    const [r1, r2] = receivers as [(typeof members)[0], (typeof members)[0]];
    send(r1.id, { type: 'p2p-bad', peer: supplier.id, r: 'v720', s: 0, c: 0 });
    assert.ok(tracker.swarmsOf('demo').get('demo|v720|eu')!.includes(supplier.id));
    assert.notEqual(supplier.v.last('p2p')!.state, 'off');
    // A report about someone who is not the reporter's supplier counts for nothing.
    const notMine = members.find(
      (m) => m !== supplier && !planOf(r2.v).suppliers.includes(m.id) && m !== r2,
    )!;
    send(r2.id, { type: 'p2p-bad', peer: notMine.id, r: 'v720', s: 0, c: 0 });
    assert.ok(tracker.swarmsOf('demo').get('demo|v720|eu')!.includes(notMine.id));
    r1.v.clear();
    r2.v.clear();
    send(r2.id, { type: 'p2p-bad', peer: supplier.id, r: 'v720', s: 0, c: 1 });
    assert.match(String(supplier.v.last('p2p')!.reason), /^P2P_BAD_DATA/);
    assert.ok(!tracker.swarmsOf('demo').get('demo|v720|eu')!.includes(supplier.id));
    for (const r of [r1, r2]) {
      assert.ok(!planOf(r.v).suppliers.includes(supplier.id), 'receivers got new plans');
    }
  });

  void it('p2p-fetch sends the chunk from the cache and counts a refetch', async () => {
    const { join, send, metrics } = setup();
    const a = join();
    send(a.id, { type: 'p2p-fetch', r: 'v720', s: 12, c: 3 });
    assert.deepEqual(a.v.cachedAsked, [['v720', 12, 3]]);
    assert.equal(await metricValue(metrics, 'tiercast_p2p_refetches_total', { stream: 'demo' }), 1);
    assert.equal(
      await metricValue(metrics, 'tiercast_p2p_bytes_total', { stream: 'demo', source: 'refetch' }),
      1234,
    );
    // A chunk already gone from the cache is not counted.
    a.v.cachedBytes = 0;
    send(a.id, { type: 'p2p-fetch', r: 'v720', s: 1, c: 0 });
    assert.equal(a.v.cachedAsked.length, 2);
    assert.equal(await metricValue(metrics, 'tiercast_p2p_refetches_total', { stream: 'demo' }), 1);
  });

  void it('refuses a flood beyond twice messagesPerSecond with P2P_RATE_LIMITED, answering at most once a second', async () => {
    const { join, send, metrics } = setup({ enabled: true, messagesPerSecond: 10 });
    const a = join(); // one message taken by the join
    a.v.clear();
    for (let i = 0; i < 40; i++) send(a.id, { type: 'p2p-fetch', r: 'v720', s: 1, c: i });
    // The burst is 20 messages: 19 after the join, give or take a refill during the loop.
    assert.ok(a.v.cachedAsked.length >= 19 && a.v.cachedAsked.length <= 21, `${a.v.cachedAsked.length}`);
    const errors = a.v.msgs.filter((m) => m.type === 'error');
    assert.deepEqual(
      errors.map((e) => e.code),
      ['P2P_RATE_LIMITED'],
    );
    assert.ok(
      (await metricValue(metrics, 'tiercast_p2p_refused_messages_total', { code: 'P2P_RATE_LIMITED' })) >= 19,
    );
  });

  void it('remove() replans the rest, and the gauges go back to 0 when everyone left', async () => {
    const { join, tracker, metrics } = setup();
    const members = Array.from({ length: 5 }, () => join());
    assert.equal(await metricValue(metrics, 'tiercast_p2p_swarm_members', { stream: 'demo' }), 5);
    assert.equal(await metricValue(metrics, 'tiercast_p2p_swarms', { stream: 'demo' }), 1);
    const gone = members[1]!;
    const partnersOfGone = members.filter(
      (m) => m !== gone && Object.values(planOf(m.v).suppliers).includes(gone.id),
    );
    assert.ok(partnersOfGone.length > 0);
    const textsBefore = gone.v.texts.length;
    tracker.remove(gone.id);
    assert.equal(gone.v.texts.length, textsBefore, 'nothing is sent to a closed socket');
    for (const m of members) if (m !== gone) assert.ok(!planOf(m.v).suppliers.includes(gone.id));
    assert.equal(tracker.swarmsOf('demo').get('demo|v720|eu')!.length, 4);
    assert.equal(await metricValue(metrics, 'tiercast_p2p_swarm_members', { stream: 'demo' }), 4);
    tracker.remove(gone.id); // twice is harmless
    for (const m of members) tracker.remove(m.id);
    assert.equal(tracker.swarmsOf('demo').size, 0);
    assert.equal(await metricValue(metrics, 'tiercast_p2p_swarm_members', { stream: 'demo' }), 0);
    assert.equal(await metricValue(metrics, 'tiercast_p2p_swarms', { stream: 'demo' }), 0);
  });

  void it('switching P2P off leaves the swarm with an empty plan and state off', () => {
    const { join, send, tracker } = setup();
    const a = join();
    join();
    send(a.id, { type: 'p2p', on: false });
    assert.deepEqual(planOf(a.v), { type: 'p2p-plan', suppliers: [], receivers: [] });
    assert.equal(a.v.last('p2p')!.state, 'off');
    assert.equal(tracker.swarmsOf('demo').get('demo|v720|eu')!.length, 1);
  });
});

void describe('P2pTracker: STUN and TURN for the pages', () => {
  void it('hands STUN as configured and a TURN credential that expires, never the secret', () => {
    const secret = 'turn-shared-secret-0123456789';
    const { join } = setup({
      enabled: true,
      stun: ['stun:stun.example.net:3478'],
      turn: { urls: ['turn:turn.example.net:3478'], secret, ttlS: 600 },
    });
    const before = Math.floor(Date.now() / 1000);
    const a = join();
    const on = a.v.msgs.find((m) => m.type === 'p2p' && m.state === 'on')!;
    const servers = on.iceServers as Array<{ urls: string[]; username?: string; credential?: string }>;
    assert.deepEqual(servers[0], { urls: ['stun:stun.example.net:3478'] });
    const turn = servers[1]!;
    assert.deepEqual(turn.urls, ['turn:turn.example.net:3478']);
    // coturn's use-auth-secret: username "EXPIRY:ID", credential base64(HMAC-SHA1(secret, username)).
    const [expiry, id] = turn.username!.split(':');
    assert.equal(id, a.id);
    assert.ok(Number(expiry) >= before + 600 && Number(expiry) <= before + 602);
    assert.equal(turn.credential, createHmac('sha1', secret).update(turn.username!).digest('base64'));
    assert.ok(!a.v.texts.some((t) => t.includes(secret)), 'the secret never reaches a page');
  });
});

void describe('P2pTracker: repair only for admitted viewers', () => {
  void it('a socket the stream was never described to (held by the access gate) gets nothing from p2p-fetch', () => {
    const { join, send } = setup();
    // No video rendition: the session never received the stream's description.
    const held = join('demo', null);
    send(held.id, { type: 'p2p-fetch', r: 'v720', s: 3, c: 0 });
    assert.deepEqual(held.v.cachedAsked, []);
    assert.equal(held.v.last('error')!.code, 'P2P_NOT_ADMITTED');
    // Once described (admitted), it may.
    const ok = join();
    send(ok.id, { type: 'p2p-fetch', r: 'v720', s: 3, c: 0 });
    assert.deepEqual(ok.v.cachedAsked, [['v720', 3, 0]]);
  });
});
