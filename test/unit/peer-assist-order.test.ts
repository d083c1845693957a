/**
 * The page's P2P delivery order and fetch timing (src/edge/public/peer-assist.js), without WebRTC: what the
 * player is handed, in what order, and what the page asks of the edge. A viewer would notice a chunk handed
 * out of order or past a missing one (a hole in the picture), and a supplier blamed for a fetch the page made
 * for its own player's sake.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { PeerAssist } from '../../src/edge/public/peer-assist.js';
import { encodeMediaChunk } from '../../src/common/protocol/frames.js';

// A deadline of 3 frames: 300 ms, so that a loaded machine's timer slack (tens of ms) cannot reorder the checks.
const FRAME_MS = 100;

function page(aheadMs: number | null = null) {
  const sent: Array<Record<string, unknown>> = [];
  const handed: string[] = [];
  const p = new PeerAssist({
    send: (m) => sent.push(m),
    deliver: (f) => handed.push(`${f.segment}.${f.chunk}`),
    kindOf: () => 'video',
    frameMs: () => FRAME_MS,
    aheadMs: () => aheadMs,
  });
  p.onMessage({ type: 'p2p', state: 'on', id: 'AAAAAAAA', deadlineFrames: 3 });
  const chunk = (segment: number, c: number) =>
    ({ type: 'chunk', rendition: 'v', segment, chunk: c }) as unknown as Parameters<
      PeerAssist['fromEdge']
    >[1];
  return {
    p,
    sent,
    handed,
    digest: (s: number, c: number) => p.onMessage({ type: 'p2p-digest', r: 'v', s, c, h: 'x' }),
    edge: (s: number, c: number) => p.fromEdge(new ArrayBuffer(8), chunk(s, c)),
    types: () => sent.map((m) => m.type),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a chunk from the edge waits behind an announced one still on its way, then both go in order', () => {
  const v = page();
  v.digest(1, 0);
  v.edge(1, 1);
  assert.deepEqual(v.handed, []);
  v.edge(1, 0); // the announced one, fetched from the edge
  assert.deepEqual(v.handed, ['1.0', '1.1']);
  v.p.reset();
});

test('a lost socket hands over what is here in order, and nothing past a chunk still missing', () => {
  const v = page();
  v.edge(1, 0);
  v.digest(1, 1);
  v.edge(1, 2);
  v.p.reset();
  // 1.2 is not handed: the player resumes after 1.0, and the edge sends 1.1 and 1.2 again.
  assert.deepEqual(v.handed, ['1.0']);
});

test('with room in the player the page waits the deadline, then fetches and reports the supplier late', async () => {
  const v = page(null);
  v.digest(2, 0);
  await sleep(20);
  assert.deepEqual(v.types(), []);
  await sleep(400);
  assert.deepEqual(v.types(), ['p2p-fetch', 'p2p-miss']);
  v.p.reset();
});

test('a player short of media fetches at once, and the supplier is reported only once its deadline passed', async () => {
  const v = page(50); // 50 ms held: less than a guessed 60 ms round trip plus 40 ms
  v.digest(3, 0);
  await sleep(20);
  assert.deepEqual(v.types(), ['p2p-fetch']);
  await sleep(400);
  assert.deepEqual(v.types(), ['p2p-fetch', 'p2p-miss']);
  v.p.reset();
});

test('an early fetch whose supplier went away reports nobody late', async () => {
  const v = page(50);
  v.p.onMessage({ type: 'p2p-plan', suppliers: ['BBBBBBBB', 'BBBBBBBB'], receivers: [] });
  v.digest(3, 0);
  await sleep(20);
  v.p.onMessage({ type: 'p2p-plan', suppliers: [null, null], receivers: [] });
  await sleep(400);
  assert.ok(!v.types().includes('p2p-miss'), v.types().join(' '));
  v.p.reset();
});

test('a chunk announced twice waits once, and an edge copy after it arrived is not handed again', () => {
  const v = page();
  v.digest(4, 0);
  v.digest(4, 0);
  v.edge(4, 0);
  v.edge(4, 0);
  v.edge(4, 1);
  assert.deepEqual(v.handed, ['4.0', '4.1']);
  assert.equal(v.p.stats.repeated, 0);
  v.p.reset();
});

test('the page keeps a log of what delivery did, for a stall’s diagnosis: fetches with their reason and the media held', async () => {
  const v = page(50);
  v.digest(4, 0);
  await sleep(20);
  v.edge(4, 0);
  await sleep(350);
  const log = v.p.events().map(([, what, detail]) => `${what}: ${detail}`);
  assert.match(log[0] ?? '', /^fetch: v:4\.0 deadline after \d+ ms, ahead 50 ms$/);
  assert.match(log[1] ?? '', /^fetched: v:4\.0 in \d+ ms$/);
  // Fetched early and its copy came from the edge: the deadline then passed without the peer's.
  assert.equal(log[2], 'miss: v:4.0');
  v.p.onMessage({ type: 'p2p-plan', suppliers: ['BBBBBBBB', null], receivers: [] });
  assert.equal(v.p.events().at(-1)?.[2], 'suppliers BBBBBBBB,edge; receivers ');
  for (const [at] of v.p.events()) assert.ok(Math.abs(at - Date.now()) < 5000, 'wall-clock times');
  v.p.reset();
});

/** A chunk frame as a peer passes it on, and the digest the edge announces for it. */
function peerCopy(segment: number, chunk: number, corrupt = false) {
  const frame = encodeMediaChunk({
    stream: 'cam',
    rendition: 'v',
    segment,
    chunk,
    flags: 0,
    decodeTime: 0,
    duration: 3000,
    ingressTime: 0,
    sentTime: 0,
    payload: Buffer.alloc(64, 7),
  });
  const h = createHash('sha256').update(frame).digest('base64url');
  if (corrupt) frame[frame.length - 1]! ^= 0xff;
  const buf = frame.buffer.slice(frame.byteOffset, frame.byteOffset + frame.byteLength) as ArrayBuffer;
  return { buf, h };
}

/** Holds every SHA-256 the page computes until release() (a starved page's verification). */
function slowHashing() {
  const digest = crypto.subtle.digest.bind(crypto.subtle);
  const held: Array<() => void> = [];
  crypto.subtle.digest = (alg: AlgorithmIdentifier, data: BufferSource) =>
    new Promise<void>((r) => held.push(r)).then(() => digest(alg, data));
  return {
    release: () => held.splice(0).forEach((r) => r()),
    restore: () => (crypto.subtle.digest = digest),
  };
}

test('a peer copy that came in time is not fetched or reported late while its check outlasts the deadline', async () => {
  const v = page(null);
  const { buf, h } = peerCopy(5, 0);
  const hashing = slowHashing();
  try {
    v.p.onMessage({ type: 'p2p-digest', r: 'v', s: 5, c: 0, h });
    await sleep(50);
    v.p.fromPeer(buf, 'BBBBBBBB');
    await sleep(400); // past the 300 ms deadline, the hash still running
    assert.deepEqual(v.types(), []);
    hashing.release();
    await sleep(20);
    assert.deepEqual(v.handed, ['5.0']);
    assert.equal(v.p.stats.chunksFromPeers, 1);
  } finally {
    hashing.restore();
    v.p.reset();
  }
});

test('a peer copy that fails its check is reported bad and fetched at once, not reported late as well', async () => {
  const v = page(null);
  const { buf, h } = peerCopy(6, 0, true);
  v.p.onMessage({ type: 'p2p-digest', r: 'v', s: 6, c: 0, h });
  v.p.fromPeer(buf, 'BBBBBBBB');
  await sleep(30);
  assert.deepEqual(v.types(), ['p2p-bad', 'p2p-fetch']);
  await sleep(400);
  assert.deepEqual(v.types(), ['p2p-bad', 'p2p-fetch'], 'no p2p-miss after the deadline');
  v.p.reset();
});

test('a page asks to join its swarm only after playing from the edge a while; the viewer’s switch acts at once', async () => {
  const sent: Array<Record<string, unknown>> = [];
  const make = () =>
    new PeerAssist({
      send: (m) => sent.push(m),
      deliver: () => {},
      kindOf: () => 'video',
      frameMs: () => FRAME_MS,
      options: { joinAfterMs: 200 },
    });
  const p = make();
  p.start();
  await sleep(50);
  assert.deepEqual(sent, [], 'nothing while the page has just opened');
  await sleep(300);
  assert.deepEqual(sent, [{ type: 'p2p', on: true }]);
  sent.length = 0;
  // A socket that drops before the wait is over: nobody is asked for.
  p.start();
  p.reset();
  await sleep(300);
  assert.deepEqual(sent, []);
  p.setWanted(false);
  p.start();
  assert.deepEqual(sent, [
    { type: 'p2p', on: false },
    { type: 'p2p', on: false },
  ]);
  p.setWanted(true);
  assert.deepEqual(sent.at(-1), { type: 'p2p', on: true });
  p.reset();
});

test('a planned link that does not open in time is closed and offered again, while the plan still wants it', async () => {
  // A peer connection whose channel never opens: the answer or a candidate was lost on the way.
  const made: Array<{ closed: boolean }> = [];
  class SilentConnection {
    localDescription: { sdp: string } | null = null;
    connectionState = 'new';
    onicecandidate = null;
    onconnectionstatechange = null;
    readonly state = { closed: false };
    constructor() {
      made.push(this.state);
    }
    createDataChannel() {
      return { close() {} };
    }
    createOffer() {
      return Promise.resolve({ type: 'offer', sdp: 'v=0 offer' });
    }
    setLocalDescription(d: { sdp: string }) {
      this.localDescription = d;
      return Promise.resolve();
    }
    close() {
      this.state.closed = true;
    }
  }
  const g = globalThis as unknown as { RTCPeerConnection?: unknown };
  const before = g.RTCPeerConnection;
  g.RTCPeerConnection = SilentConnection;
  const sent: Array<Record<string, unknown>> = [];
  const p = new PeerAssist({
    send: (m) => sent.push(m),
    deliver: () => {},
    kindOf: () => 'video',
    frameMs: () => FRAME_MS,
    options: { linkOpenMs: 150 },
  });
  const offers = () => sent.filter((m) => m.type === 'p2p-signal').length;
  try {
    p.onMessage({ type: 'p2p', state: 'on', id: 'AAAAAAAA', deadlineFrames: 3 });
    p.onMessage({ type: 'p2p-plan', suppliers: [null, null], receivers: [{ peer: 'BBBBBBBB', stripe: 0 }] });
    await sleep(50);
    assert.equal(offers(), 1);
    await sleep(200);
    assert.equal(offers(), 2, 'offered again once the first link had not opened');
    assert.equal(made[0]?.closed, true, 'the stuck connection is closed');
    assert.ok(p.events().some(([, what]) => what === 'link timeout'));
    // No longer planned: the next timeout closes the link and offers nothing.
    p.onMessage({ type: 'p2p-plan', suppliers: [null, null], receivers: [] });
    await sleep(300);
    assert.equal(offers(), 2);
    assert.ok(made.every((c) => c.closed));
  } finally {
    p.reset();
    g.RTCPeerConnection = before;
  }
});
