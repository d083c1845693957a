/**
 * One wire format on both sides: the server's codec (src/common/protocol/frames.ts) and the page's decoder
 * (src/edge/public/frames.js) read the same hand-written bytes (test/fixtures/protocol/viewer-frames.ts) to
 * the same meaning, refuse the same broken frames with the same code, and the server writes exactly those
 * bytes back. The page's constants are the server's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  FrameType,
  HEADER_BYTES,
  PROTOCOL_VERSION,
  decodeFrame,
  encodeHeartbeat,
  encodeInitSegment,
  encodeMediaChunk,
  type Frame,
} from '../../src/common/protocol/index.js';
import { ChunkFlags } from '../../src/common/media.js';
import * as page from '../../src/edge/public/frames.js';
import {
  fromHex,
  malformedFrames,
  subscribeFrame,
  viewerFrames,
  type ViewerFrameMeaning,
} from '../fixtures/protocol/viewer-frames.js';

/** What a browser gets: a standalone ArrayBuffer holding exactly the message. */
function asMessage(buf: Buffer): ArrayBuffer {
  const ab = new ArrayBuffer(buf.length);
  new Uint8Array(ab).set(buf);
  return ab;
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** The server's decoded frame in the page's shape, payloads as hex. */
function serverMeaning(f: Frame): ViewerFrameMeaning | { type: number } {
  switch (f.type) {
    case FrameType.INIT_SEGMENT:
      return { type: 'init', stream: f.init.stream, rendition: f.init.rendition, data: hex(f.init.data) };
    case FrameType.MEDIA_CHUNK: {
      const { payload, ...rest } = f.chunk;
      return { type: 'chunk', ...rest, payload: hex(payload) };
    }
    case FrameType.HEARTBEAT:
      return { type: 'heartbeat', time: f.time };
    default:
      return { type: f.type };
  }
}

function pageMeaning(f: page.ViewerFrame): ViewerFrameMeaning {
  switch (f.type) {
    case 'init':
      return { ...f, data: hex(f.data) };
    case 'chunk':
      return { ...f, payload: hex(f.payload) };
    case 'heartbeat':
      return f;
  }
}

function encode(m: ViewerFrameMeaning): Buffer {
  switch (m.type) {
    case 'init':
      return encodeInitSegment({ stream: m.stream, rendition: m.rendition, data: fromHex(m.data) });
    case 'chunk': {
      const { type: _type, payload, ...rest } = m;
      return encodeMediaChunk({ ...rest, payload: fromHex(payload) });
    }
    case 'heartbeat':
      return encodeHeartbeat(m.time);
  }
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
}

for (const f of viewerFrames) {
  test(`${f.name}: both decoders read the fixture bytes to the same meaning`, () => {
    const bytes = fromHex(f.hex);
    assert.deepEqual(serverMeaning(decodeFrame(bytes)), f.meaning);
    assert.deepEqual(pageMeaning(page.decodeFrame(asMessage(bytes))), f.meaning);
  });

  test(`${f.name}: the server encodes the meaning to exactly the fixture bytes`, () => {
    assert.equal(encode(f.meaning).toString('hex'), fromHex(f.hex).toString('hex'));
  });
}

for (const f of malformedFrames) {
  test(`${f.name}: both decoders refuse it with ${f.code}`, () => {
    const bytes = fromHex(f.hex);
    assert.equal(
      codeOf(() => decodeFrame(bytes)),
      f.code,
      'server',
    );
    assert.equal(
      codeOf(() => page.decodeFrame(asMessage(bytes))),
      f.code,
      'page',
    );
  });
}

test('a control frame decodes on the server and is refused by the page', () => {
  const bytes = fromHex(subscribeFrame.hex);
  assert.deepEqual(decodeFrame(bytes), { type: FrameType.SUBSCRIBE, stream: subscribeFrame.stream });
  assert.equal(
    codeOf(() => page.decodeFrame(asMessage(bytes))),
    'PROTOCOL_UNEXPECTED_FRAME',
  );
});

test("the page's constants are the server's", () => {
  assert.equal(page.PROTOCOL_VERSION, PROTOCOL_VERSION);
  assert.equal(page.HEADER_BYTES, HEADER_BYTES);
  assert.deepEqual(page.FrameType, {
    INIT_SEGMENT: FrameType.INIT_SEGMENT,
    MEDIA_CHUNK: FrameType.MEDIA_CHUNK,
    HEARTBEAT: FrameType.HEARTBEAT,
  });
  assert.deepEqual(page.ChunkFlags, { ...ChunkFlags });
});
