import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { errorCode } from '../../src/common/errors/index.js';
import {
  BoxSplitter,
  readMoof,
  rewriteDecodeTime,
  type Mp4Box,
} from '../../src/ingress/transcoder/fmp4-boxes.js';
import { readInitInfo } from '../../src/ingress/transcoder/init-info.js';

const fixture = (name: string): Buffer =>
  readFileSync(new URL(`../fixtures/transcoder/${name}`, import.meta.url));
const vInit = fixture('v180-init.mp4');
const vKey = fixture('v180-key.m4s');
const vDelta = fixture('v180-delta.m4s');
const aInit = fixture('a0-init.mp4');
const aFrag = fixture('a0-frag.m4s');
const stream = Buffer.concat([vInit, vKey, vDelta]);

const isParseError = (err: unknown): boolean => errorCode(err) === 'MP4_PARSE_ERROR';

function box(type: string, payload: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(8 + payload.length, 0);
  head.write(type, 4, 'latin1');
  return Buffer.concat([head, payload]);
}

function types(boxes: Mp4Box[]): string[] {
  return boxes.map((b) => b.type);
}

test('splitter: the fixture stream whole gives ftyp, moov, moof, mdat, moof, mdat', () => {
  const boxes = new BoxSplitter().push(stream);
  assert.deepEqual(types(boxes), ['ftyp', 'moov', 'moof', 'mdat', 'moof', 'mdat']);
  assert.ok(Buffer.concat(boxes.map((b) => b.data)).equals(stream));
});

test('splitter: any split points give the same boxes (every single cut, then random pieces)', () => {
  const expected = new BoxSplitter().push(stream).map((b) => b.data.toString('hex'));
  for (let cut = 0; cut <= stream.length; cut += 7) {
    const s = new BoxSplitter();
    const got = [...s.push(stream.subarray(0, cut)), ...s.push(stream.subarray(cut))];
    assert.deepEqual(
      got.map((b) => b.data.toString('hex')),
      expected,
      `cut at ${cut}`,
    );
    assert.equal(s.buffered, 0);
  }
  let seed = 42;
  const rand = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let round = 0; round < 50; round++) {
    const s = new BoxSplitter();
    const got: Mp4Box[] = [];
    for (let pos = 0; pos < stream.length;) {
      const n = 1 + Math.floor(rand() * (round % 2 ? 20 : 3000));
      got.push(...s.push(stream.subarray(pos, pos + n)));
      pos += n;
    }
    assert.deepEqual(
      got.map((b) => b.data.toString('hex')),
      expected,
    );
  }
});

test('splitter: holds a partial box until it is complete', () => {
  const s = new BoxSplitter();
  assert.deepEqual(s.push(vKey.subarray(0, 5)), []);
  assert.deepEqual(s.push(vKey.subarray(5, 100)), []);
  assert.equal(s.buffered, 100);
  const boxes = s.push(vKey.subarray(100));
  assert.deepEqual(types(boxes), ['moof', 'mdat']);
});

test('splitter: 64-bit largesize boxes', () => {
  const payload = Buffer.from('hello');
  const head = Buffer.alloc(16);
  head.writeUInt32BE(1, 0);
  head.write('free', 4, 'latin1');
  head.writeBigUInt64BE(BigInt(16 + payload.length), 8);
  const s = new BoxSplitter();
  assert.deepEqual(s.push(head.subarray(0, 12)), []);
  const boxes = s.push(Buffer.concat([head.subarray(12), payload]));
  assert.deepEqual(types(boxes), ['free']);
  assert.equal(boxes[0]!.data.length, 21);
});

test('splitter: oversize, undersize, size 0 and garbage are MP4_PARSE_ERROR, and the splitter stays failed', () => {
  const big = Buffer.alloc(8);
  big.writeUInt32BE(17 * 1024 * 1024, 0);
  big.write('mdat', 4, 'latin1');
  assert.throws(() => new BoxSplitter().push(big), isParseError);
  assert.throws(() => new BoxSplitter({ maxBoxSize: 1000 }).push(vKey), isParseError);

  const small = Buffer.from('00000004moof', 'latin1');
  small.writeUInt32BE(4, 0);
  assert.throws(() => new BoxSplitter().push(small), isParseError);

  const zero = box('mdat', Buffer.alloc(4));
  zero.writeUInt32BE(0, 0);
  assert.throws(() => new BoxSplitter().push(zero), isParseError);

  const s = new BoxSplitter({ context: { rendition: 'v1' } });
  assert.throws(
    () => s.push(Buffer.from('this is not an mp4 file at all')),
    (err) => isParseError(err) && /rendition:v1/.test((err as Error).message),
  );
  assert.throws(() => s.push(vKey), isParseError);
  s.reset();
  assert.deepEqual(types(s.push(vKey)), ['moof', 'mdat']);
});

test('readMoof: a real keyframe fragment from ffmpeg', () => {
  const moof = new BoxSplitter().push(vKey)[0]!.data;
  assert.deepEqual(readMoof(moof), {
    sequenceNumber: 1,
    trackId: 1,
    baseMediaDecodeTime: 0,
    tfdtVersion: 1,
    sampleCount: 6,
    duration: 18000, // 6 frames at 30 fps in 90 kHz
    firstSampleIsSync: true,
  });
});

test('readMoof: a real non-key video fragment and an audio fragment (sync via tfhd default flags)', () => {
  const delta = readMoof(new BoxSplitter().push(vDelta)[0]!.data);
  assert.equal(delta.sequenceNumber, 2);
  assert.equal(delta.baseMediaDecodeTime, 18000);
  assert.equal(delta.firstSampleIsSync, false);
  const audio = readMoof(new BoxSplitter().push(aFrag)[0]!.data);
  assert.equal(audio.sampleCount, 10);
  assert.equal(audio.firstSampleIsSync, true);
  assert.ok(audio.duration >= 10 * 1024 - 10 && audio.duration <= 10 * 1024 + 10);
  assert.ok(audio.duration * 1000 <= 250 * 48000);
});

test('rewriteDecodeTime: 64-bit tfdt rewritten in place; the fragment is otherwise unchanged', () => {
  const moof = Buffer.from(new BoxSplitter().push(vDelta)[0]!.data);
  const before = Buffer.from(moof);
  const out = rewriteDecodeTime(moof, 5 * 90000);
  assert.equal(out, moof);
  assert.equal(readMoof(out).baseMediaDecodeTime, 18000 + 450000);
  let diff = 0;
  for (let i = 0; i < moof.length; i++) if (moof[i] !== before[i]) diff++;
  assert.ok(diff >= 1 && diff <= 8);
  rewriteDecodeTime(moof, 2 ** 40);
  assert.equal(readMoof(moof).baseMediaDecodeTime, 18000 + 450000 + 2 ** 40);
});

/** A minimal moof with a version 0 tfdt and a trun data_offset pointing just past the moof. */
function moofV0(tfdt: number): Buffer {
  const mfhd = box('mfhd', Buffer.from('0000000000000007', 'hex'));
  const tfhd = box('tfhd', Buffer.from('0002000800000001' + '00000400', 'hex')); // base-is-moof, default duration 1024
  const tfdtBody = Buffer.alloc(8);
  tfdtBody.writeUInt32BE(tfdt, 4);
  const tfdtBox = box('tfdt', tfdtBody);
  const trunBody = Buffer.from('00000201' + '00000002' + '00000000' + '00000003' + '00000004', 'hex'); // offset, sizes
  const trun = box('trun', trunBody);
  const traf = box('traf', Buffer.concat([tfhd, tfdtBox, trun]));
  const moof = box('moof', Buffer.concat([mfhd, traf]));
  moof.writeInt32BE(moof.length + 8, moof.indexOf('trun') + 4 + 8);
  return moof;
}

test('rewriteDecodeTime: version 0 tfdt in place while it fits, upgraded to version 1 past 32 bits', () => {
  const small = moofV0(1000);
  assert.equal(readMoof(small).tfdtVersion, 0);
  assert.equal(readMoof(small).duration, 2048); // from the tfhd default duration
  assert.equal(rewriteDecodeTime(small, 5000), small);
  assert.equal(readMoof(small).baseMediaDecodeTime, 6000);

  const moof = moofV0(0xfffffff0);
  const grown = rewriteDecodeTime(moof, 0x20);
  assert.equal(grown.length, moof.length + 4);
  assert.equal(grown.readUInt32BE(0), grown.length);
  const info = readMoof(grown);
  assert.equal(info.tfdtVersion, 1);
  assert.equal(info.baseMediaDecodeTime, 0x100000010);
  assert.equal(info.sequenceNumber, 7);
  assert.equal(info.sampleCount, 2);
  // data_offset still points at the first byte after the mdat header, which moved by 4.
  const trunAt = grown.indexOf('trun') - 4;
  assert.equal(grown.readInt32BE(trunAt + 16), grown.length + 8);
});

test('readMoof: trex defaults from the init are used when the moof carries none; otherwise a parse error', () => {
  const mfhd = box('mfhd', Buffer.from('0000000000000001', 'hex'));
  const tfhd = box('tfhd', Buffer.from('0002000000000001', 'hex'));
  const tfdt = box('tfdt', Buffer.from('010000000000000000000000', 'hex'));
  const trun = box('trun', Buffer.from('00000000' + '00000003', 'hex'));
  const moof = box('moof', Buffer.concat([mfhd, box('traf', Buffer.concat([tfhd, tfdt, trun]))]));
  assert.throws(() => readMoof(moof), isParseError);
  const info = readMoof(moof, { defaultSampleDuration: 1024, defaultSampleFlags: 0x02000000 });
  assert.equal(info.duration, 3072);
  assert.equal(info.firstSampleIsSync, true);
  assert.equal(
    readMoof(moof, { defaultSampleDuration: 1, defaultSampleFlags: 0x01010000 }).firstSampleIsSync,
    false,
  );
  assert.throws(() => readMoof(box('moov', Buffer.alloc(0))), isParseError);
});

test('readInitInfo: codec strings, timescale, size and audio format from real inits', () => {
  const v = readInitInfo(vInit);
  assert.equal(v.kind, 'video');
  assert.match(v.codecs, /^avc1\.4d[0-9a-f]{4}$/);
  assert.equal(v.timescale, 90000);
  assert.equal(v.height, 180);
  assert.equal(v.width, 320);
  const a = readInitInfo(aInit);
  assert.equal(a.kind, 'audio');
  assert.equal(a.codecs, 'mp4a.40.2');
  assert.equal(a.timescale, 48000);
  assert.equal(a.sampleRate, 48000);
  assert.equal(a.channels, 2);
});

test('readInitInfo: garbage, truncated or moov-less input is MP4_PARSE_ERROR', () => {
  assert.throws(() => readInitInfo(Buffer.from('garbage garbage garbage')), isParseError);
  assert.throws(() => readInitInfo(Buffer.alloc(0)), isParseError);
  assert.throws(() => readInitInfo(vInit.subarray(0, vInit.length - 50)), isParseError);
  assert.throws(() => readInitInfo(vKey), isParseError);
});
