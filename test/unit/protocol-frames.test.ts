import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  FrameType,
  PROTOCOL_VERSION,
  decodeFrame,
  encodeDirectory,
  encodeHeartbeat,
  encodeInitSegment,
  encodeMediaChunk,
  encodeStreamEnd,
  encodeStreamStart,
  encodeSubscribe,
  patchSentTime,
} from '../../src/common/protocol/index.js';
import { TiercastError } from '../../src/common/errors/index.js';
import type { MediaChunk, StreamInfo } from '../../src/common/media.js';

const chunk: MediaChunk = {
  stream: 'demo',
  rendition: 'v360',
  segment: 7,
  chunk: 2,
  flags: 1 | 4,
  decodeTime: 630000,
  duration: 18000,
  ingressTime: 1700000000123.5,
  sentTime: 1700000000200,
  payload: Buffer.from('moofmdat'),
};

test('MEDIA_CHUNK has the documented byte layout', () => {
  const f = encodeMediaChunk(chunk);
  const expected = Buffer.concat([
    Buffer.from([0x54, 0x43, 0x01, 0x06]),
    Buffer.from([4]),
    Buffer.from('demo'),
    Buffer.from([4]),
    Buffer.from('v360'),
    Buffer.from([0, 0, 0, 7]), // segment
    Buffer.from([0, 2]), // chunk
    Buffer.from([5]), // flags
    (() => {
      const b = Buffer.alloc(8);
      b.writeDoubleBE(630000);
      return b;
    })(),
    Buffer.from([0, 0, 0x46, 0x50]), // duration 18000
    (() => {
      const b = Buffer.alloc(16);
      b.writeDoubleBE(1700000000123.5, 0);
      b.writeDoubleBE(1700000000200, 8);
      return b;
    })(),
    Buffer.from('moofmdat'),
  ]);
  assert.deepEqual(f, expected);
});

test('MEDIA_CHUNK round-trips and payload is a view (no copy)', () => {
  const f = encodeMediaChunk(chunk);
  const d = decodeFrame(f);
  assert.equal(d.type, FrameType.MEDIA_CHUNK);
  if (d.type !== FrameType.MEDIA_CHUNK) return;
  assert.deepEqual({ ...d.chunk, payload: d.chunk.payload.toString() }, { ...chunk, payload: 'moofmdat' });
  assert.equal(d.chunk.payload.buffer, f.buffer);
});

test('patchSentTime rewrites only the sentTime field', () => {
  const f = encodeMediaChunk(chunk);
  patchSentTime(f, 42);
  const d = decodeFrame(f);
  assert.ok(d.type === FrameType.MEDIA_CHUNK);
  assert.equal(d.chunk.sentTime, 42);
  assert.equal(d.chunk.ingressTime, chunk.ingressTime);
  assert.equal(d.chunk.payload.toString(), 'moofmdat');
});

test('control frames round-trip', () => {
  const info: StreamInfo = {
    name: 'demo',
    availabilityStartTime: 1,
    segmentDurationMs: 1000,
    chunkDurationMs: 200,
    epoch: 0,
    renditions: [
      {
        id: 'a0',
        kind: 'audio',
        codecs: 'mp4a.40.2',
        bandwidth: 128000,
        timescale: 48000,
        sampleRate: 48000,
        channels: 2,
      },
    ],
  };
  assert.deepEqual(decodeFrame(encodeStreamStart(info)), { type: FrameType.STREAM_START, info });
  assert.deepEqual(decodeFrame(encodeSubscribe('demo', [{ rendition: 'a0', segment: 3, chunk: 1 }])), {
    type: FrameType.SUBSCRIBE,
    stream: 'demo',
    resume: [{ rendition: 'a0', segment: 3, chunk: 1 }],
  });
  assert.deepEqual(decodeFrame(encodeStreamEnd('demo', 'bye', 'STREAM_NOT_FOUND')), {
    type: FrameType.STREAM_END,
    stream: 'demo',
    reason: 'bye',
    code: 'STREAM_NOT_FOUND',
  });
  assert.deepEqual(decodeFrame(encodeHeartbeat(5)), { type: FrameType.HEARTBEAT, time: 5 });
  assert.deepEqual(decodeFrame(encodeDirectory([{ name: 'demo', live: true }])), {
    type: FrameType.DIRECTORY,
    entries: [{ name: 'demo', live: true }],
  });
  const init = decodeFrame(
    encodeInitSegment({ stream: 'demo', rendition: 'a0', data: Buffer.from('ftypmoov') }),
  );
  assert.ok(init.type === FrameType.INIT_SEGMENT);
  assert.equal(init.init.data.toString(), 'ftypmoov');
});

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof TiercastError ? err.code : 'not a TiercastError';
  }
  return undefined;
}

test('a frame of another protocol version is refused clearly', () => {
  const f = encodeHeartbeat(1);
  f[2] = PROTOCOL_VERSION + 1;
  assert.equal(
    codeOf(() => decodeFrame(f)),
    'PROTOCOL_VERSION_MISMATCH',
  );
});

test('malformed frames are refused with a code, never crash', () => {
  const cases: Buffer[] = [
    Buffer.alloc(0),
    Buffer.from('GET / HTTP/1.1'),
    Buffer.from([0x54, 0x43, 1, 99]),
    Buffer.from([0x54, 0x43, 1, FrameType.SUBSCRIBE, 0x7b]),
    Buffer.concat([Buffer.from([0x54, 0x43, 1, FrameType.SUBSCRIBE]), Buffer.from('{"stream":"../etc"}')]),
    Buffer.concat([
      Buffer.from([0x54, 0x43, 1, FrameType.SUBSCRIBE]),
      Buffer.from('{"stream":"a","extra":1}'),
    ]),
    encodeMediaChunk(chunk).subarray(0, 20),
    Buffer.from([0x54, 0x43, 1, FrameType.HEARTBEAT, 0]),
  ];
  for (const c of cases)
    assert.equal(
      codeOf(() => decodeFrame(c)),
      'PROTOCOL_MALFORMED_FRAME',
      c.toString('hex'),
    );
  const big = encodeMediaChunk({ ...chunk, payload: Buffer.alloc(2048) });
  assert.equal(
    codeOf(() => decodeFrame(big, { maxFrameBytes: 1024 })),
    'PROTOCOL_FRAME_TOO_LARGE',
  );
});

test('fuzz: random mutations never throw anything but a ProtocolError', () => {
  const base = encodeMediaChunk(chunk);
  let seed = 1;
  const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  for (let i = 0; i < 2000; i++) {
    const f = Buffer.from(base.subarray(0, Math.floor(rnd() * base.length) + 1));
    for (let k = 0; k < 3; k++) f[Math.floor(rnd() * f.length)] = Math.floor(rnd() * 256);
    const code = codeOf(() => decodeFrame(f));
    assert.ok(code === undefined || code.startsWith('PROTOCOL_'), `unexpected ${code}`);
  }
});
