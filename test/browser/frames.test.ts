/**
 * The page's frame decoder (src/edge/public/frames.js) reads exactly what the server's encoder
 * (src/common/protocol/frames.ts) writes, from the ArrayBuffers a browser WebSocket delivers, and
 * rejects what is not a viewer frame with a stable code.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  encodeHeartbeat,
  encodeInitSegment,
  encodeMediaChunk,
  encodeSubscribe,
} from '../../src/common/protocol/index.js';
import { ChunkFlags, type MediaChunk } from '../../src/common/media.js';
import * as frames from '../../src/edge/public/frames.js';

/** What a browser gets: a standalone ArrayBuffer holding exactly the message. */
function asMessage(buf: Buffer): ArrayBuffer {
  const ab = new ArrayBuffer(buf.length);
  new Uint8Array(ab).set(buf);
  return ab;
}

function throwsCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (err: unknown) => (err as { code?: string }).code === code);
}

const chunk: MediaChunk = {
  stream: 'demo_stream-1',
  rendition: 'v720',
  segment: 123456,
  chunk: 4,
  flags: ChunkFlags.KEYFRAME | ChunkFlags.SEGMENT_START | ChunkFlags.DISCONTINUITY,
  decodeTime: 2 ** 40 + 3072, // past 32 bits: hours of a 90 kHz timeline
  duration: 18_000,
  ingressTime: 1_795_000_000_123.25,
  sentTime: 1_795_000_000_130.5,
  payload: Buffer.from('moof....mdat....payload bytes'),
};

test('a MEDIA_CHUNK decodes field for field, payload included', () => {
  const f = frames.decodeFrame(asMessage(encodeMediaChunk(chunk)));
  assert.equal(f.type, 'chunk');
  if (f.type !== 'chunk') return;
  const { payload, type: _type, ...meta } = f;
  const { payload: expected, ...expectedMeta } = chunk;
  assert.deepEqual(meta, expectedMeta);
  assert.deepEqual(Buffer.from(payload), expected);
});

test('the page flag constants match the server', () => {
  assert.deepEqual(frames.ChunkFlags, { ...ChunkFlags });
  assert.equal(frames.hasFlag(chunk.flags, frames.ChunkFlags.DISCONTINUITY), true);
  assert.equal(frames.hasFlag(chunk.flags, frames.ChunkFlags.SEGMENT_END), false);
});

test('a view with an offset into a larger buffer decodes the same (no copy needed)', () => {
  const framed = encodeMediaChunk(chunk);
  const big = Buffer.concat([Buffer.from('garbage-before'), framed, Buffer.from('after')]);
  const view = new Uint8Array(big.buffer, big.byteOffset + 14, framed.length);
  const f = frames.decodeFrame(view);
  assert.equal(f.type, 'chunk');
  if (f.type === 'chunk') assert.deepEqual(Buffer.from(f.payload), chunk.payload);
});

test('an INIT_SEGMENT and a HEARTBEAT decode', () => {
  const data = Buffer.from('ftyp....moov....');
  const init = frames.decodeFrame(asMessage(encodeInitSegment({ stream: 'demo', rendition: 'a0', data })));
  assert.equal(init.type, 'init');
  if (init.type === 'init') {
    assert.equal(init.stream, 'demo');
    assert.equal(init.rendition, 'a0');
    assert.deepEqual(Buffer.from(init.data), data);
  }
  assert.deepEqual(frames.decodeFrame(asMessage(encodeHeartbeat(1234.5))), {
    type: 'heartbeat',
    time: 1234.5,
  });
});

test('bytes that are not a viewer frame are rejected with a stable code', () => {
  const good = encodeMediaChunk(chunk);
  const badMagic = Buffer.from(good);
  badMagic[0] = 0x58;
  throwsCode(() => frames.decodeFrame(asMessage(badMagic)), 'PROTOCOL_MALFORMED_FRAME');

  const otherVersion = Buffer.from(good);
  otherVersion[2] = 2;
  throwsCode(() => frames.decodeFrame(asMessage(otherVersion)), 'PROTOCOL_VERSION_MISMATCH');

  throwsCode(() => frames.decodeFrame(asMessage(good.subarray(0, 30))), 'PROTOCOL_MALFORMED_FRAME');
  throwsCode(() => frames.decodeFrame(new ArrayBuffer(2)), 'PROTOCOL_MALFORMED_FRAME');

  const badName = Buffer.from(good);
  badName[5] = 0x2f; // '/' inside the stream name
  throwsCode(() => frames.decodeFrame(asMessage(badName)), 'PROTOCOL_MALFORMED_FRAME');

  const noPayload = encodeInitSegment({ stream: 'demo', rendition: 'v1', data: Buffer.alloc(0) });
  throwsCode(() => frames.decodeFrame(asMessage(noPayload)), 'PROTOCOL_MALFORMED_FRAME');

  // Control frames travel between relays, never to a browser.
  throwsCode(() => frames.decodeFrame(asMessage(encodeSubscribe('demo'))), 'PROTOCOL_UNEXPECTED_FRAME');
});
