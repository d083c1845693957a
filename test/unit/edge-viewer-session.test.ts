import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ViewerSession, overCap, type ViewerSink } from '../../src/edge/viewer-session.js';
import { StreamRelay } from '../../src/common/relay/stream-relay.js';
import { decodeFrame, FrameType } from '../../src/common/protocol/index.js';
import { makeChunk, makeInfo, makeSegment, silentLogger } from '../helpers/fakes.js';

function fakeSink() {
  const sink = {
    buffered: 0,
    texts: [] as string[],
    frames: [] as string[],
    closed: undefined as undefined | { code: number; reason: string },
    sendBinary(frame: Buffer) {
      const f = decodeFrame(frame);
      if (f.type === FrameType.MEDIA_CHUNK)
        sink.frames.push(`${f.chunk.rendition}:${f.chunk.segment}/${f.chunk.chunk}`);
      if (f.type === FrameType.INIT_SEGMENT) sink.frames.push(`init:${f.init.rendition}`);
    },
    sendText(t: string) {
      sink.texts.push(t);
    },
    bufferedAmount: () => sink.buffered,
    close(code: number, reason: string) {
      sink.closed = { code, reason };
    },
  };
  return sink satisfies ViewerSink;
}

const limits = { maxBackpressureBytes: 1000, closeBackpressureBytes: 5000, stallTimeoutMs: 10_000 };
const stats = { onSent() {}, onSkipped() {} };

function liveRelay() {
  const relay = new StreamRelay('demo', 8, silentLogger);
  relay.start(makeInfo());
  for (const r of ['v720', 'v360', 'a0']) relay.setInit(r, Buffer.from(`init-${r}`));
  return relay;
}
const push = (relay: StreamRelay, chunks: ReturnType<typeof makeSegment>) =>
  chunks.forEach((c) => relay.push(c.meta, c.frame));

test('a viewer gets info, the default video (≤720p) and audio, nothing else', () => {
  const relay = liveRelay();
  const sink = fakeSink();
  relay.attach(new ViewerSession(sink, limits, stats));
  push(relay, makeSegment('v720', 0));
  push(relay, makeSegment('v360', 0));
  push(relay, makeSegment('a0', 0, 2));
  assert.equal(JSON.parse(sink.texts[0]!).type, 'info');
  assert.deepEqual(sink.frames, [
    'init:v720',
    'init:a0',
    'v720:0/0',
    'v720:0/1',
    'v720:0/2',
    'v720:0/3',
    'v720:0/4',
    'a0:0/0',
    'a0:0/1',
  ]);
});

test('switching rendition happens at the next segment start, with its init first', () => {
  const relay = liveRelay();
  const sink = fakeSink();
  const s = new ViewerSession(sink, limits, stats);
  relay.attach(s);
  push(relay, makeSegment('v720', 0).slice(0, 2));
  assert.deepEqual(s.select('v360'), { ok: true });
  push(relay, makeSegment('v360', 0).slice(2)); // mid-segment: ignored
  push(relay, makeSegment('v720', 0).slice(2));
  push(relay, makeSegment('v360', 1).slice(0, 1));
  push(relay, makeSegment('v720', 1).slice(0, 1));
  assert.deepEqual(sink.frames.slice(-3), ['v720:0/4', 'init:v360', 'v360:1/0']);
  assert.equal(s.select('nope').ok, false);
});

test('a slow viewer skips to the next keyframe and is told; a hopeless one is closed with a reason', () => {
  const relay = liveRelay();
  const sink = fakeSink();
  relay.attach(new ViewerSession(sink, limits, stats));
  push(relay, makeSegment('v720', 0).slice(0, 2));
  sink.buffered = 2000;
  push(relay, makeSegment('v720', 0).slice(2));
  assert.ok(sink.texts.some((t) => JSON.parse(t).type === 'skipped'));
  sink.buffered = 0;
  push(relay, makeSegment('v720', 1).slice(0, 2));
  assert.deepEqual(
    sink.frames.slice(-3),
    ['v720:0/1', 'v720:1/0', 'v720:1/1'],
    'resumes on a keyframe, nothing torn',
  );
  sink.buffered = 10_000;
  push(relay, [makeChunk('v720', 1, 2)]);
  assert.equal(sink.closed?.code, 4008);
});

test('stream end and restart are announced', () => {
  const relay = liveRelay();
  const sink = fakeSink();
  relay.attach(new ViewerSession(sink, limits, stats));
  relay.end('publisher left');
  relay.start(makeInfo('demo', 1));
  const types = sink.texts.map((t) => (JSON.parse(t) as { type: string }).type);
  assert.deepEqual(types, ['info', 'end', 'info']);
});

test('a viewer that reads nothing while skipping keeps it under the close ceiling, and is closed after stallTimeoutMs', () => {
  const relay = liveRelay();
  const sink = fakeSink();
  const s = new ViewerSession(sink, limits, stats);
  relay.attach(s);
  let now = 1_000_000;
  // It reads nothing: everything written stays buffered, but skipping keeps the buffer under the close ceiling.
  const sendBinary = sink.sendBinary.bind(sink);
  const sendText = sink.sendText.bind(sink);
  sink.sendBinary = (f: Buffer) => {
    sendBinary(f);
    sink.buffered += f.length;
  };
  sink.sendText = (t: string) => {
    sendText(t);
    sink.buffered += Buffer.byteLength(t);
  };
  for (let seg = 0; seg < 20; seg++) {
    push(relay, makeSegment('v720', seg));
    s.checkProgress((now += 1000));
    if (sink.closed) break;
    assert.ok(sink.buffered <= limits.closeBackpressureBytes);
  }
  assert.equal(sink.closed?.code, 4008);
  assert.match(String(sink.closed?.reason), /^SLOW_CONSUMER: read nothing for \d+ s/);
});

test('a viewer that drains its buffer, however slowly, is not closed for stalling', () => {
  const relay = liveRelay();
  const sink = fakeSink();
  const s = new ViewerSession(sink, limits, stats);
  relay.attach(s);
  sink.buffered = 900;
  let now = 1_000_000;
  for (let i = 0; i < 30; i++) {
    sink.buffered -= 10; // reads 10 bytes a second
    s.checkProgress((now += 1000));
  }
  assert.equal(sink.closed, undefined);
  // Pings answered through the session count as written, not as progress.
  for (let i = 0; i < 12; i++) {
    s.sendText('{"type":"pong"}');
    sink.buffered += 15;
    s.checkProgress((now += 1000));
  }
  assert.equal((sink as { closed?: { code: number } }).closed?.code, 4008);
});

test('the edge-wide cap closes the most-buffered viewers first, just enough to fall under it', () => {
  const viewers = [
    { viewer: 'a', buffered: 100 },
    { viewer: 'b', buffered: 5000 },
    { viewer: 'c', buffered: 0 },
    { viewer: 'd', buffered: 3000 },
  ];
  assert.deepEqual(overCap(viewers, 10_000), []);
  assert.deepEqual(overCap(viewers, 8000), ['b']);
  assert.deepEqual(overCap(viewers, 2000), ['b', 'd']);
  assert.deepEqual(overCap(viewers, 0), ['b', 'd', 'a']);
});

test('a player resuming where it left off gets the chunk after its last one, mid-segment, and nothing twice', () => {
  const relay = liveRelay();
  push(relay, makeSegment('v720', 0));
  push(relay, makeSegment('a0', 0));
  push(relay, makeSegment('v720', 1).slice(0, 3));
  push(relay, makeSegment('a0', 1).slice(0, 2));
  const sink = fakeSink();
  const resume = [
    { rendition: 'v720', segment: 1, chunk: 1 },
    { rendition: 'a0', segment: 1, chunk: 0 },
  ];
  relay.attach(new ViewerSession(sink, limits, stats, 'v720', resume), resume);
  const media = () => sink.frames.filter((f) => !f.startsWith('init'));
  assert.deepEqual(media(), ['v720:1/2', 'a0:1/1']);
  // Live chunks continue; a repeat of what the player has (this edge was behind) is not sent.
  relay.push(makeChunk('a0', 1, 2).meta, makeChunk('a0', 1, 2).frame);
  relay.push(makeChunk('v720', 1, 3).meta, makeChunk('v720', 1, 3).frame);
  assert.deepEqual(media(), ['v720:1/2', 'a0:1/1', 'a0:1/2', 'v720:1/3']);
});

test('a resume position this edge cannot continue from waits for the next segment start instead of a hole mid-GOP', () => {
  const relay = liveRelay();
  push(relay, makeSegment('v720', 4).slice(0, 2));
  const sink = fakeSink();
  // The player is at 4/3, which this edge has not got yet; it then receives 4/2 (a repeat), 4/4 (a hole).
  const resume = [{ rendition: 'v720', segment: 4, chunk: 3 }];
  const session = new ViewerSession(sink, limits, stats, 'v720', resume);
  relay.attach(session, resume);
  for (const c of [makeChunk('v720', 4, 2), makeChunk('v720', 4, 4, { end: true }), makeChunk('v720', 5, 0)])
    relay.push(c.meta, c.frame);
  // 4/4 follows 4/3, so it continues; 4/2 is already there.
  assert.deepEqual(
    sink.frames.filter((f) => !f.startsWith('init')),
    ['v720:4/4', 'v720:5/0'],
  );
  const other = fakeSink();
  relay.attach(
    new ViewerSession(other, limits, stats, 'v720', [{ rendition: 'v720', segment: 2, chunk: 1 }]),
    [{ rendition: 'v720', segment: 2, chunk: 1 }],
  );
  // Too old for this cache: the backlog starts at a segment start, never mid-segment.
  assert.match(other.frames.filter((f) => !f.startsWith('init'))[0] ?? '', /\/0$/);
});

test('a relay resubscribing upstream (the same description again) costs its viewers nothing mid-segment', () => {
  const relay = liveRelay();
  const sink = fakeSink();
  relay.attach(new ViewerSession(sink, limits, stats));
  push(relay, makeSegment('v720', 0).slice(0, 3));
  // The parent link dropped and came back: the parent's attach describes the stream again, unchanged.
  relay.start(makeInfo());
  push(relay, makeSegment('v720', 0).slice(3));
  assert.deepEqual(
    sink.frames.filter((f) => f.startsWith('v720:')),
    ['v720:0/0', 'v720:0/1', 'v720:0/2', 'v720:0/3', 'v720:0/4'],
  );
  assert.equal(sink.texts.filter((t) => JSON.parse(t).type === 'info').length, 1);
  // A new description (a transcoder restart) is still passed on: the viewer starts over at a segment start.
  relay.start({ ...makeInfo(), epoch: 2 });
  assert.equal(sink.texts.filter((t) => JSON.parse(t).type === 'info').length, 2);
});
