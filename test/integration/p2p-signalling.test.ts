/**
 * P2P signalling and repair over the real media socket (ingress → intermediate → edge with `p2p.enabled`,
 * ffmpeg publishing), with viewers that are plain WebSocket clients speaking the page's messages. What a
 * viewer or an operator notices: taking part is answered with an id and a plan; a signal reaches the planned
 * partner with the sender's id; bad input (malformed, aimed at someone who is not a partner, oversize, a
 * flood) is refused with a code, logged with the viewer's P2P id and never with the stream key, and the
 * sender keeps receiving media; a chunk asked for after a missed deadline is sent from the edge's cache; a
 * supplier is moved to the edge of its swarm for the deadlines its receivers report missed, not for fetches;
 * a stream the edge does not use P2P for says so.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { KEY, publishLive, startNetwork, stop, waitFor, type TestNetwork } from '../helpers/network.js';
import { TestViewer } from '../helpers/viewer.js';
import { useFixture } from '../helpers/fixture.js';

const lines: string[] = [];
const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(s) });

const setup = useFixture(async () => {
  const net = await startNetwork({
    intermediates: 1,
    logger,
    edge: {
      p2p: { streams: ['cam'], messagesPerSecond: 20 },
      // Viewers connecting from 127.0.0.2 are in region eu, from 127.0.0.3 in us.
      edgeSelection: {
        regions: [
          { cidr: '127.0.0.2/32', region: 'eu' },
          { cidr: '127.0.0.3/32', region: 'us' },
        ],
        redirect: false,
      },
    },
  });
  const { pub } = await publishLive(net, 120, () => undefined);
  return {
    net,
    async close() {
      await stop(pub);
      await net.close();
    },
  };
});

const wsUrl = (net: TestNetwork, stream = 'cam') => `${net.edgeUrl.replace('http', 'ws')}/live/${stream}/ws`;
const texts = (v: TestViewer, type: string) => v.texts.filter((t) => t.type === type);
const send = (v: TestViewer, msg: unknown) => v.ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg));

async function joined(net: TestNetwork, localAddress?: string): Promise<{ v: TestViewer; id: string }> {
  const v = new TestViewer(wsUrl(net), localAddress ? { localAddress } : undefined);
  await v.opened;
  send(v, { type: 'p2p', on: true });
  const state = await waitFor('the edge answers with an id', () =>
    texts(v, 'p2p').find((t) => t.state === 'on'),
  );
  return { v, id: String(state.id) };
}

test('two viewers: ids, plans naming each other, a signal relayed with the sender id', async () => {
  const { net } = setup;
  const a = await joined(net);
  const b = await joined(net);
  try {
    assert.match(a.id, /^[A-Za-z0-9_-]{8}$/);
    await waitFor('plans that name the partner', () => {
      const pa = texts(a.v, 'p2p-plan').at(-1);
      const pb = texts(b.v, 'p2p-plan').at(-1);
      return (
        JSON.stringify(pa).includes(b.id) &&
        JSON.stringify(pb).includes(a.id) &&
        (pa?.receivers as []).length > 0
      );
    });
    send(a.v, {
      type: 'p2p-signal',
      to: b.id,
      data: { candidate: 'candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host', from: 'supplier' },
    });
    const got = await waitFor('the partner gets the signal', () => texts(b.v, 'p2p-signal')[0]);
    assert.equal(got.from, a.id);
    assert.equal((got.data as { candidate: string }).candidate.includes('127.0.0.1 50000'), true);
    // No link is open yet: the edge still sends every chunk itself, nothing is announced.
    assert.equal(texts(b.v, 'p2p-digest').length, 0);
    assert.ok(b.v.chunks.length > 0);
  } finally {
    a.v.ws.close();
    b.v.ws.close();
  }
});

test('bad signalling is refused with a code and logged with the viewer id; the viewer keeps its media', async () => {
  const { net } = setup;
  const a = await joined(net);
  try {
    const before = lines.length;
    // Malformed: a signal whose data is neither an SDP nor a candidate.
    send(a.v, { type: 'p2p-signal', to: 'AAAAAAAA', data: { evil: true } });
    await waitFor('BAD_REQUEST', () => texts(a.v, 'error').some((e) => e.code === 'BAD_REQUEST'));
    // Aimed at nobody it is planned with (a made-up id; another stream's viewers are never partners).
    send(a.v, { type: 'p2p-signal', to: 'ZZZZZZZZ', data: { kind: 'offer', sdp: 'v=0' } });
    await waitFor('P2P_NOT_YOUR_PEER', () => texts(a.v, 'error').some((e) => e.code === 'P2P_NOT_YOUR_PEER'));
    // A flood: far more than 2 × 20 messages at once; refused, answered at most once a second.
    await new Promise((r) => setTimeout(r, 1100));
    const errorsBefore = texts(a.v, 'error').length;
    for (let i = 0; i < 200; i++) send(a.v, { type: 'p2p-link', peer: 'ZZZZZZZZ', open: true });
    await waitFor('P2P_RATE_LIMITED', () => texts(a.v, 'error').some((e) => e.code === 'P2P_RATE_LIMITED'));
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(texts(a.v, 'error').length - errorsBefore <= 2, 'a flood is not answered with a flood');
    const chunks = a.v.chunks.length;
    await waitFor('media still flows', () => a.v.chunks.length > chunks + 5);
    assert.equal(a.v.closed, undefined);
    const logged = lines.slice(before).join('');
    assert.match(logged, new RegExp(`"viewer":"${a.id}".*P2P_NOT_YOUR_PEER`));
    assert.match(logged, /P2P_RATE_LIMITED/);
    assert.ok(!lines.join('').includes(KEY), 'the stream key is never logged');
    // Oversize (over 8 KiB): the socket is closed with 1009 and a reason.
    send(
      a.v,
      JSON.stringify({ type: 'p2p-signal', to: 'AAAAAAAA', data: { kind: 'offer', sdp: 'x'.repeat(9000) } }),
    );
    await waitFor('closed 1009', () => a.v.closed);
    assert.equal(a.v.closed!.code, 1009);
  } finally {
    a.v.ws.close();
  }
});

test('a chunk asked for after a missed deadline comes from the edge cache', async () => {
  const { net } = setup;
  const a = await joined(net);
  try {
    await waitFor('some chunks', () => a.v.chunks.filter((c) => c.rendition === 'a0').length > 3);
    const c = a.v.chunks.filter((x) => x.rendition === 'a0').at(-2)!;
    const count = a.v.chunks.length;
    send(a.v, { type: 'p2p-fetch', r: c.rendition, s: c.segment, c: c.chunk });
    await waitFor('the chunk comes again', () =>
      a.v.chunks
        .slice(count)
        .some((x) => x.rendition === c.rendition && x.segment === c.segment && x.chunk === c.chunk),
    );
    const metrics = await (await fetch(`${net.edgeUrl}/metrics`)).text();
    assert.match(metrics, /tiercast_p2p_refetches_total\{stream="cam"[^}]*\} [1-9]/);
  } finally {
    a.v.ws.close();
  }
});

test('a supplier is moved to the edge of its swarm for the misses its receiver reports, not for its fetches', async () => {
  const { net } = setup;
  const a = await joined(net);
  const b = await joined(net);
  const movedForLateness = async () => {
    const text = await (await fetch(`${net.edgeUrl}/metrics`)).text();
    const line = text
      .split('\n')
      .find((l) => l.startsWith('tiercast_p2p_removed_total{') && l.includes('reason="late"'));
    return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
  };
  try {
    const stripe = await waitFor('b is supplied by a in one stripe', () => {
      const i = ((texts(b.v, 'p2p-plan').at(-1)?.suppliers ?? []) as unknown[]).indexOf(a.id);
      return i >= 0 ? { i } : undefined;
    });
    // A chunk of that stripe ((segment + chunk) % 2 is the stripe) that the edge still holds.
    const held = await waitFor('b has a chunk of that stripe', () =>
      b.v.chunks.filter((x) => x.rendition === 'a0' && (x.segment + x.chunk) % 2 === stripe.i).at(-1),
    );
    const at = { r: held.rendition, s: held.segment, c: held.chunk };
    const before = await movedForLateness();
    const count = b.v.chunks.length;
    // A page short of media fetches before the deadline: the edge sends the chunk, and blames nobody.
    for (let n = 0; n < 30; n++) send(b.v, { type: 'p2p-fetch', ...at });
    await waitFor('the edge sent it again', () =>
      b.v.chunks.slice(count).some((x) => x.segment === at.s && x.chunk === at.c && x.rendition === at.r),
    );
    await new Promise((r) => setTimeout(r, 1600)); // the token bucket refills (20 a second in this network)
    assert.equal(await movedForLateness(), before, 'fetches alone move nobody');
    assert.ok(!lines.some((l) => l.includes('P2P_SUPPLIER_LATE') && l.includes(a.id)));
    // Thirty deadlines missed within 5 s: a is moved to the edge of the swarm, and supplies nobody.
    for (let n = 0; n < 30; n++) send(b.v, { type: 'p2p-miss', ...at });
    await waitFor('a is moved for lateness', async () => (await movedForLateness()) === before + 1);
    assert.ok(lines.some((l) => l.includes('P2P_SUPPLIER_LATE') && l.includes(a.id)));
    await waitFor(
      'b is no longer planned with a as supplier',
      () => !((texts(b.v, 'p2p-plan').at(-1)?.suppliers ?? []) as unknown[]).includes(a.id),
    );
  } finally {
    a.v.ws.close();
    b.v.ws.close();
  }
});

test('viewers of two regions form two swarms: nobody is planned with a viewer of the other region', async () => {
  const { net } = setup;
  const eu1 = await joined(net, '127.0.0.2');
  const eu2 = await joined(net, '127.0.0.2');
  const us = await joined(net, '127.0.0.3');
  try {
    await waitFor('the two eu viewers are planned together', () =>
      JSON.stringify(texts(eu1.v, 'p2p-plan').at(-1)).includes(eu2.id),
    );
    const everything = [eu1, eu2].flatMap((x) => texts(x.v, 'p2p-plan')).map((p) => JSON.stringify(p));
    assert.ok(
      everything.every((p) => !p.includes(us.id)),
      'no eu plan names the us viewer',
    );
    assert.ok(
      texts(us.v, 'p2p-plan').every(
        (p) => !JSON.stringify(p).includes(eu1.id) && !JSON.stringify(p).includes(eu2.id),
      ),
    );
    const metrics = await (await fetch(`${net.edgeUrl}/metrics`)).text();
    assert.match(metrics, /tiercast_p2p_swarms\{stream="cam"[^}]*\} 2\n/);
    // A signal across regions is refused like any other to a non-partner.
    send(us.v, { type: 'p2p-signal', to: eu1.id, data: { kind: 'offer', sdp: 'v=0' } });
    await waitFor('P2P_NOT_YOUR_PEER', () =>
      texts(us.v, 'error').some((e) => e.code === 'P2P_NOT_YOUR_PEER'),
    );
    assert.equal(texts(eu1.v, 'p2p-signal').length, 0);
  } finally {
    for (const x of [eu1, eu2, us]) x.v.ws.close();
  }
});

test('a stream the edge does not use P2P for: the page is told, and nothing else changes', async () => {
  const { net } = setup;
  const v = new TestViewer(wsUrl(net, 'other'));
  try {
    await v.opened;
    send(v, { type: 'p2p', on: true });
    const off = await waitFor('state off', () => texts(v, 'p2p')[0]);
    assert.equal(off.state, 'off');
    assert.match(String(off.reason), /^P2P_DISABLED/);
  } finally {
    v.ws.close();
  }
});
