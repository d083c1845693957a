import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ChunkStreamEncoder, ChunkStreamParser } from '../../src/ingress/rtmp/chunk-stream.js';
import type { RtmpMessage } from '../../src/ingress/rtmp/chunk-stream.js';
import { ProtocolError } from '../../src/common/errors/index.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

interface HeaderFields {
  /** Timestamp or delta; values >= 0xFFFFFF are written as an extended timestamp. */
  ts?: number;
  len?: number;
  type?: number;
  sid?: number;
  /** For fmt 3: write this extended timestamp after the basic header. */
  ext?: number;
}

/** Builds one chunk by hand, byte by byte, as a peer would send it. */
function chunk(fmt: 0 | 1 | 2 | 3, csid: number, f: HeaderFields, payload: Buffer | string): Buffer {
  const parts: Buffer[] = [];
  if (csid < 64) parts.push(Buffer.from([(fmt << 6) | csid]));
  else if (csid < 320) parts.push(Buffer.from([fmt << 6, csid - 64]));
  else parts.push(Buffer.from([(fmt << 6) | 1, (csid - 64) & 0xff, (csid - 64) >> 8]));
  const ts = f.ts ?? 0;
  const extended = ts >= 0xffffff;
  if (fmt <= 2) {
    const h = Buffer.alloc([11, 7, 3][fmt]!);
    h.writeUIntBE(extended ? 0xffffff : ts, 0, 3);
    if (fmt <= 1) {
      h.writeUIntBE(f.len ?? 0, 3, 3);
      h.writeUInt8(f.type ?? 0, 6);
    }
    if (fmt === 0) h.writeUInt32LE(f.sid ?? 0, 7);
    parts.push(h);
    if (extended) parts.push(u32(ts));
  } else if (f.ext !== undefined) {
    parts.push(u32(f.ext));
  }
  parts.push(typeof payload === 'string' ? Buffer.from(payload) : payload);
  return Buffer.concat(parts);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n, 0);
  return b;
}

function simplify(
  msgs: RtmpMessage[],
): Array<{ csid: number; type: number; sid: number; ts: number; data: string }> {
  return msgs.map((m) => ({
    csid: m.csid,
    type: m.typeId,
    sid: m.streamId,
    ts: m.timestamp,
    data: m.payload.toString('hex'),
  }));
}

function feedAll(parser: ChunkStreamParser, bufs: Buffer[]): RtmpMessage[] {
  return bufs.flatMap((b) => parser.push(b));
}

function assertCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (err: unknown) => err instanceof ProtocolError && err.code === code);
}

void describe('ChunkStreamParser', () => {
  void it('parses a fmt 0 message from a byte fixture', () => {
    // fmt 0, csid 3; ts 1000, length 3, type 20, stream 1 (little endian); payload 010203
    const msgs = new ChunkStreamParser().push(hex('03 0003e8 000003 14 01000000 010203'));
    assert.deepEqual(simplify(msgs), [{ csid: 3, type: 20, sid: 1, ts: 1000, data: '010203' }]);
  });

  void it('reassembles a message spread over fmt 3 continuation chunks at the default chunk size', () => {
    const payload = Buffer.from(Array.from({ length: 300 }, (_, i) => i & 0xff));
    const bytes = Buffer.concat([
      chunk(0, 6, { ts: 5, len: 300, type: 9, sid: 1 }, payload.subarray(0, 128)),
      chunk(3, 6, {}, payload.subarray(128, 256)),
      chunk(3, 6, {}, payload.subarray(256)),
    ]);
    const msgs = new ChunkStreamParser().push(bytes);
    assert.equal(msgs.length, 1);
    assert.ok(msgs[0]!.payload.equals(payload));
    assert.equal(msgs[0]!.timestamp, 5);
  });

  void it('applies fmt 1 and fmt 2 deltas, and a fmt 3 new message repeats the last delta', () => {
    const msgs = new ChunkStreamParser().push(
      Buffer.concat([
        chunk(0, 4, { ts: 1000, len: 2, type: 9, sid: 1 }, 'aa'),
        chunk(1, 4, { ts: 40, len: 3, type: 8 }, 'bbb'),
        chunk(2, 4, { ts: 20 }, 'ccc'),
        chunk(3, 4, {}, 'ddd'),
      ]),
    );
    assert.deepEqual(
      msgs.map((m) => [m.timestamp, m.typeId, m.streamId, m.payload.toString()]),
      [
        [1000, 9, 1, 'aa'],
        [1040, 8, 1, 'bbb'],
        [1060, 8, 1, 'ccc'],
        [1080, 8, 1, 'ddd'],
      ],
    );
  });

  void it('uses the fmt 0 timestamp as the delta for a following fmt 3 new message (spec 5.3.1.2.4)', () => {
    const msgs = new ChunkStreamParser().push(
      Buffer.concat([chunk(0, 4, { ts: 33, len: 1, type: 9, sid: 1 }, 'a'), chunk(3, 4, {}, 'b')]),
    );
    assert.deepEqual(
      msgs.map((m) => m.timestamp),
      [33, 66],
    );
  });

  void it('reads extended timestamps on fmt 0, on fmt 3 continuations and on fmt 1 deltas', () => {
    const big = 0x01020304;
    const payload = Buffer.alloc(200, 7);
    const msgs = new ChunkStreamParser().push(
      Buffer.concat([
        chunk(0, 5, { ts: big, len: 200, type: 9, sid: 1 }, payload.subarray(0, 128)),
        chunk(3, 5, { ext: big }, payload.subarray(128)),
        chunk(1, 5, { ts: 0x1000000, len: 1, type: 9 }, 'z'),
        chunk(2, 5, { ts: 10 }, 'y'),
      ]),
    );
    assert.equal(msgs.length, 3);
    assert.equal(msgs[0]!.timestamp, big);
    assert.ok(msgs[0]!.payload.equals(payload));
    assert.equal(msgs[1]!.timestamp, big + 0x1000000);
    assert.equal(msgs[2]!.timestamp, big + 0x1000000 + 10);
  });

  void it('wraps timestamps at 2^32', () => {
    const msgs = new ChunkStreamParser().push(
      Buffer.concat([
        chunk(0, 4, { ts: 0xfffffff0, len: 1, type: 8, sid: 1 }, 'a'),
        chunk(2, 4, { ts: 0x20 }, 'b'),
      ]),
    );
    assert.deepEqual(
      msgs.map((m) => m.timestamp),
      [0xfffffff0, 0x10],
    );
  });

  void it('applies Set Chunk Size to the chunks that follow it', () => {
    const payload = Buffer.alloc(3000, 1);
    const parser = new ChunkStreamParser();
    const msgs = parser.push(
      Buffer.concat([
        chunk(0, 2, { len: 4, type: 1 }, u32(4096)),
        chunk(0, 6, { len: payload.length, type: 9, sid: 1 }, payload), // one chunk now
        chunk(0, 2, { len: 4, type: 1 }, u32(0x80000000 + 10)), // reserved top bit is masked
        chunk(0, 6, { len: 15, type: 9, sid: 1 }, 'aaaaaaaaaa'),
        chunk(3, 6, {}, 'bbbbb'),
      ]),
    );
    assert.equal(parser.chunkSize, 10);
    assert.deepEqual(
      msgs.map((m) => m.typeId),
      [1, 9, 1, 9],
    );
    assert.ok(msgs[1]!.payload.equals(payload));
    assert.equal(msgs[3]!.payload.toString(), 'aaaaaaaaaabbbbb');
  });

  void it('rejects a chunk size of zero', () => {
    assertCode(
      () => new ChunkStreamParser().push(chunk(0, 2, { len: 4, type: 1 }, u32(0))),
      'RTMP_PROTOCOL_ERROR',
    );
  });

  void it('interleaves messages on different chunk streams', () => {
    const video = Buffer.alloc(200, 0x56);
    const msgs = new ChunkStreamParser().push(
      Buffer.concat([
        chunk(0, 6, { ts: 0, len: 200, type: 9, sid: 1 }, video.subarray(0, 128)),
        chunk(0, 4, { ts: 0, len: 2, type: 8, sid: 1 }, 'au'),
        chunk(3, 6, {}, video.subarray(128)),
      ]),
    );
    assert.deepEqual(
      msgs.map((m) => [m.csid, m.payload.length]),
      [
        [4, 2],
        [6, 200],
      ],
    );
  });

  void it('decodes 2-byte and 3-byte basic headers', () => {
    const msgs = new ChunkStreamParser().push(
      Buffer.concat([chunk(0, 100, { len: 1, type: 8 }, 'a'), chunk(0, 40000, { len: 1, type: 9 }, 'b')]),
    );
    assert.deepEqual(
      msgs.map((m) => m.csid),
      [100, 40000],
    );
    // fixture: fmt 0 with csid byte 0 → csid 64 + 0x24 = 100
    assert.equal(new ChunkStreamParser().push(hex('00 24 000000 000001 08 00000000 61'))[0]!.csid, 100);
  });

  void it('drops a partial message on Abort', () => {
    const msgs = new ChunkStreamParser().push(
      Buffer.concat([
        chunk(0, 6, { len: 200, type: 9, sid: 1 }, Buffer.alloc(128)),
        chunk(0, 2, { len: 4, type: 2 }, u32(6)),
        chunk(0, 6, { len: 3, type: 9, sid: 1 }, 'new'),
      ]),
    );
    assert.deepEqual(
      msgs.map((m) => [m.typeId, m.payload.toString()]),
      [
        [2, '\0\0\0\x06'],
        [9, 'new'],
      ],
    );
  });

  void it('delivers zero-length messages', () => {
    const msgs = new ChunkStreamParser().push(chunk(0, 3, { len: 0, type: 20 }, ''));
    assert.equal(msgs.length, 1);
    assert.equal(msgs[0]!.payload.length, 0);
  });

  void it('gives identical results whatever the feed boundaries', () => {
    const encoder = new ChunkStreamEncoder();
    const stream: Buffer[] = [];
    for (let i = 0; i < 40; i++) {
      const size = (i * 97) % 700;
      if (i === 20) {
        stream.push(chunk(0, 2, { len: 4, type: 1 }, u32(77)));
        encoder.setChunkSize(77);
      }
      stream.push(
        encoder.encode({
          csid: 4 + (i % 3),
          typeId: i % 2 ? 8 : 9,
          streamId: 1,
          timestamp: i % 5 === 0 ? 0x1000000 + i : i * 33,
          payload: Buffer.alloc(size, i),
        }),
      );
      // hand-made relative headers too
      stream.push(chunk(0, 10, { ts: i, len: 3, type: 18, sid: 1 }, 'abc'), chunk(2, 10, { ts: 1 }, 'def'));
    }
    const all = Buffer.concat(stream);
    const expected = simplify(new ChunkStreamParser().push(all));
    assert.equal(expected.length, 121); // 40 encoded + 80 hand-made + Set Chunk Size

    // one byte at a time
    const p1 = new ChunkStreamParser();
    const got1: RtmpMessage[] = [];
    for (let i = 0; i < all.length; i++) got1.push(...p1.push(all.subarray(i, i + 1)));
    assert.deepEqual(simplify(got1), expected);

    // pseudo-random cuts, deterministic
    let seed = 12345;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let round = 0; round < 20; round++) {
      const parts: Buffer[] = [];
      for (let off = 0; off < all.length;) {
        const n = 1 + rand(round % 2 ? 40 : 3000);
        parts.push(Buffer.from(all.subarray(off, off + n)));
        off += n;
      }
      assert.deepEqual(simplify(feedAll(new ChunkStreamParser(), parts)), expected);
    }
  });

  void it('rejects a message above maxMessageBytes as soon as its header arrives', () => {
    const parser = new ChunkStreamParser({ maxMessageBytes: 1000 });
    assert.equal(parser.push(chunk(0, 6, { len: 1000, type: 9 }, Buffer.alloc(128))).length, 0);
    const header = chunk(0, 7, { len: 1001, type: 9 }, '');
    assertCode(() => new ChunkStreamParser({ maxMessageBytes: 1000 }).push(header), 'RTMP_MESSAGE_TOO_LARGE');
  });

  void it('defaults maxMessageBytes to 4 MiB', () => {
    assert.equal(new ChunkStreamParser().push(chunk(0, 6, { len: 4 * 1024 * 1024, type: 9 }, '')).length, 0);
    assertCode(
      () => new ChunkStreamParser().push(chunk(0, 6, { len: 4 * 1024 * 1024 + 1, type: 9 }, '')),
      'RTMP_MESSAGE_TOO_LARGE',
    );
  });

  void it('bounds the bytes held in partial messages across chunk streams', () => {
    const parser = new ChunkStreamParser({ maxMessageBytes: 1000 });
    const parts: Buffer[] = [];
    for (let csid = 3; csid < 30; csid++)
      parts.push(chunk(0, csid, { len: 1000, type: 9 }, Buffer.alloc(128)));
    assertCode(() => parser.push(Buffer.concat(parts)), 'RTMP_MESSAGE_TOO_LARGE');
  });

  void it('rejects fmt 1-3 on a chunk stream that never had a fmt 0 header', () => {
    assertCode(
      () => new ChunkStreamParser().push(chunk(1, 9, { len: 1, type: 9 }, 'a')),
      'RTMP_PROTOCOL_ERROR',
    );
    assertCode(() => new ChunkStreamParser().push(hex('c9')), 'RTMP_PROTOCOL_ERROR');
  });
});

void describe('ChunkStreamEncoder', () => {
  void it('writes a fmt 0 header and fmt 3 continuations (byte fixture)', () => {
    const enc = new ChunkStreamEncoder();
    enc.setChunkSize(2);
    const out = enc.encode({ csid: 3, typeId: 20, streamId: 1, timestamp: 1, payload: Buffer.from('abcde') });
    assert.equal(out.toString('hex'), hex('03 000001 000005 14 01000000 6162 c3 6364 c3 65').toString('hex'));
  });

  void it('writes extended timestamps on every chunk', () => {
    const enc = new ChunkStreamEncoder();
    enc.setChunkSize(2);
    const out = enc.encode({
      csid: 3,
      typeId: 9,
      streamId: 0,
      timestamp: 0x12345678,
      payload: Buffer.from('abc'),
    });
    assert.equal(
      out.toString('hex'),
      hex('03 ffffff 000003 09 00000000 12345678 6162 c3 12345678 63').toString('hex'),
    );
    const msgs = new ChunkStreamParser({}).push(
      Buffer.concat([chunk(0, 2, { len: 4, type: 1 }, u32(2)), out]),
    );
    assert.equal(msgs[1]!.timestamp, 0x12345678);
    assert.equal(msgs[1]!.payload.toString(), 'abc');
  });

  void it('round-trips through the parser for large csids and messages', () => {
    const enc = new ChunkStreamEncoder();
    const payload = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7) & 0xff));
    const msgs = new ChunkStreamParser().push(
      Buffer.concat([
        enc.encode({ csid: 319, typeId: 9, streamId: 1, timestamp: 7, payload }),
        enc.encode({ csid: 65599, typeId: 8, streamId: 1, timestamp: 8, payload: payload.subarray(0, 10) }),
      ]),
    );
    assert.deepEqual(
      msgs.map((m) => [m.csid, m.timestamp, m.payload.length]),
      [
        [319, 7, 5000],
        [65599, 8, 10],
      ],
    );
    assert.ok(msgs[0]!.payload.equals(payload));
  });

  void it('refuses invalid chunk sizes and chunk stream ids', () => {
    const enc = new ChunkStreamEncoder();
    assert.throws(() => enc.setChunkSize(0), RangeError);
    assert.throws(
      () => enc.encode({ csid: 1, typeId: 1, streamId: 0, timestamp: 0, payload: Buffer.alloc(1) }),
      RangeError,
    );
  });
});
