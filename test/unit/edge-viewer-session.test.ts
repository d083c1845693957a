import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ViewerSession, type ViewerSink } from '../../src/edge/viewer-session.js';
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
      if (f.type === FrameType.MEDIA_CHUNK) sink.frames.push(`${f.chunk.rendition}:${f.chunk.segment}/${f.chunk.chunk}`);
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

const limits = { maxBackpressureBytes: 1000, closeBackpressureBytes: 5000 };
const stats = { onSent() {}, onSkipped() {} };

function liveRelay() {
  const relay = new StreamRelay('demo', 8, silentLogger);
  relay.start(makeInfo());
  for (const r of ['v720', 'v360', 'a0']) relay.setInit(r, Buffer.from(`init-${r}`));
  return relay;
}
const push = (relay: StreamRelay, chunks: ReturnType<typeof makeSegment>) => chunks.forEach((c) => relay.push(c.meta, c.frame));

test('a viewer gets info, the default video (≤720p) and audio, nothing else', () => {
  const relay = liveRelay();
  const sink = fakeSink();
  relay.attach(new ViewerSession(sink, limits, stats));
  push(relay, makeSegment('v720', 0));
  push(relay, makeSegment('v360', 0));
  push(relay, makeSegment('a0', 0, 2));
  assert.equal(JSON.parse(sink.texts[0]!).type, 'info');
  assert.deepEqual(sink.frames, ['init:v720', 'init:a0', 'v720:0/0', 'v720:0/1', 'v720:0/2', 'v720:0/3', 'v720:0/4', 'a0:0/0', 'a0:0/1']);
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
  assert.deepEqual(sink.frames.slice(-3), ['v720:0/1', 'v720:1/0', 'v720:1/1'], 'resumes on a keyframe, nothing torn');
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
