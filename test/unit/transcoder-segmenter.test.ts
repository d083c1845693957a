import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { errorCode } from '../../src/common/errors/index.js';
import { ChunkFlags, hasFlag, type MediaChunk } from '../../src/common/media.js';
import {
  CmafSegmenter,
  type SegmenterOptions,
  type SegmenterOutput,
} from '../../src/ingress/transcoder/cmaf-segmenter.js';
import { BoxSplitter, readMoof, type Mp4Box } from '../../src/ingress/transcoder/fmp4-boxes.js';

const fixture = (name: string): Buffer =>
  readFileSync(new URL(`../fixtures/transcoder/${name}`, import.meta.url));
const vInitBoxes = new BoxSplitter().push(fixture('v180-init.mp4')); // 90 kHz
const aInitBoxes = new BoxSplitter().push(fixture('a0-init.mp4')); // 48 kHz

function box(type: string, payload: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(8 + payload.length, 0);
  head.write(type, 4, 'latin1');
  return Buffer.concat([head, payload]);
}

const SYNC = 0x02000000;
const NON_SYNC = 0x01010000;

/** moof (mfhd, traf[tfhd, tfdt v1, trun with durations, sizes, first-sample flags]) + mdat. */
function fragment(seq: number, tfdt: number, durations: number[], firstSync: boolean): Mp4Box[] {
  const mfhd = box('mfhd', Buffer.from(`00000000${seq.toString(16).padStart(8, '0')}`, 'hex'));
  const tfhd = box('tfhd', Buffer.concat([Buffer.from('00020020' + '00000001', 'hex'), u32(NON_SYNC)]));
  const tfdtBody = Buffer.alloc(12);
  tfdtBody.writeUInt32BE(0x01000000, 0);
  tfdtBody.writeBigUInt64BE(BigInt(tfdt), 4);
  const trunHead = Buffer.concat([
    u32(0x000305),
    u32(durations.length),
    u32(0),
    u32(firstSync ? SYNC : NON_SYNC),
  ]);
  const samples = Buffer.concat(durations.map((d) => Buffer.concat([u32(d), u32(4)])));
  const traf = box(
    'traf',
    Buffer.concat([tfhd, box('tfdt', tfdtBody), box('trun', Buffer.concat([trunHead, samples]))]),
  );
  const moof = box('moof', Buffer.concat([mfhd, traf]));
  const mdat = box('mdat', Buffer.alloc(4 * durations.length, seq));
  return [
    { type: 'moof', data: moof },
    { type: 'mdat', data: mdat },
  ];
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0, 0);
  return b;
}

interface Run {
  outputs: SegmenterOutput[];
  chunks: MediaChunk[];
  warnings: string[];
  asked: number[];
}

function feed(seg: CmafSegmenter, boxes: Mp4Box[], asked: number[] = []): Run {
  const outputs = boxes.flatMap((b) => seg.push(b));
  return {
    outputs,
    chunks: outputs.flatMap((o) => (o.type === 'chunk' ? [o.chunk] : [])),
    warnings: outputs.flatMap((o) => (o.type === 'warning' ? [o.message] : [])),
    asked,
  };
}

function segmenter(overrides: Partial<SegmenterOptions> = {}, asked: number[] = []): CmafSegmenter {
  return new CmafSegmenter({
    stream: 's1',
    rendition: 'v1',
    segmentDurationMs: 1000,
    timeOffset: 0,
    ingressTimeOf: (t) => {
      asked.push(t);
      return 1_000_000 + Math.round(t * 1000);
    },
    now: () => 2_000_000,
    ...overrides,
  });
}

/** 30 fps video in 90 kHz, 6 frames (200 ms) per fragment, a keyframe every second. */
function video30(count: number, firstSeq = 1): Mp4Box[] {
  const out: Mp4Box[] = [];
  for (let i = 0; i < count; i++)
    out.push(...fragment(firstSeq + i, i * 18000, Array(6).fill(3000), i % 5 === 0));
  return out;
}

const flagsOf = (c: MediaChunk): string =>
  (Object.keys(ChunkFlags) as (keyof typeof ChunkFlags)[]).filter((k) => hasFlag(c, ChunkFlags[k])).join('|');

test('video: init first, then numbered chunks; segments start at keyframes on boundaries', () => {
  const seg = segmenter();
  const run = feed(seg, [...vInitBoxes, ...video30(12)]);
  const init = run.outputs[0]!;
  assert.equal(init.type, 'init');
  assert.ok(init.type === 'init' && init.data.equals(Buffer.concat(vInitBoxes.map((b) => b.data))));
  assert.deepEqual(
    run.chunks.map((c) => [c.segment, c.chunk]),
    [
      [0, 0], [0, 1], [0, 2], [0, 3], [0, 4],
      [1, 0], [1, 1], [1, 2], [1, 3], [1, 4],
      [2, 0], [2, 1],
    ],
  ); // prettier-ignore
  assert.equal(flagsOf(run.chunks[0]!), 'KEYFRAME|SEGMENT_START');
  assert.equal(flagsOf(run.chunks[1]!), '');
  assert.equal(flagsOf(run.chunks[4]!), 'SEGMENT_END');
  assert.equal(flagsOf(run.chunks[5]!), 'KEYFRAME|SEGMENT_START');
  const c = run.chunks[6]!;
  assert.equal(c.stream, 's1');
  assert.equal(c.rendition, 'v1');
  assert.equal(c.decodeTime, 6 * 18000);
  assert.equal(c.duration, 18000);
  assert.equal(c.ingressTime, 1_000_000 + 1200);
  assert.equal(c.sentTime, 2_000_000);
  assert.equal(seg.lastSegment, 2);
  assert.equal(seg.endTime, 2.4);
});

test('payload = boxes since the previous chunk (styp, prft) + moof + mdat', () => {
  const seg = segmenter();
  feed(seg, vInitBoxes);
  const styp = box('styp', Buffer.from('msdh00000000msdhmsix', 'latin1'));
  const prft = box('prft', Buffer.alloc(20));
  const [moof, mdat] = fragment(1, 0, [3000], true);
  const run = feed(seg, [{ type: 'styp', data: styp }, { type: 'prft', data: prft }, moof!, mdat!]);
  assert.ok(run.chunks[0]!.payload.equals(Buffer.concat([styp, prft, moof!.data, mdat!.data])));
  const next = fragment(2, 3000, [3000], false);
  assert.ok(feed(seg, next).chunks[0]!.payload.equals(Buffer.concat(next.map((b) => b.data))));
});

test('timeOffset continues the timeline: tfdt rewritten in the payload, numbers from the offset, DISCONTINUITY once', () => {
  const asked: number[] = [];
  const seg = segmenter({ timeOffset: 7, minSegment: 5, discontinuity: true }, asked);
  const run = feed(seg, [...vInitBoxes, ...video30(6)], asked);
  assert.deepEqual(
    run.chunks.map((c) => [c.segment, c.chunk]),
    [[7, 0], [7, 1], [7, 2], [7, 3], [7, 4], [8, 0]],
  ); // prettier-ignore
  assert.equal(flagsOf(run.chunks[0]!), 'KEYFRAME|SEGMENT_START|DISCONTINUITY');
  assert.ok(run.chunks.slice(1).every((c) => !hasFlag(c, ChunkFlags.DISCONTINUITY)));
  assert.equal(run.chunks[0]!.decodeTime, 7 * 90000);
  const moof = new BoxSplitter().push(run.chunks[1]!.payload)[0]!.data;
  assert.equal(readMoof(moof).baseMediaDecodeTime, 7 * 90000 + 18000);
  // The wall-clock lookup is asked in the run's own time (before the offset).
  assert.deepEqual(asked.slice(0, 3), [0, 0.2, 0.4]);
  assert.equal(seg.endTime, 7 + 1.2);
});

test('minSegment keeps numbers increasing even if the offset would land lower; boundaries still follow time', () => {
  const seg = segmenter({ timeOffset: 3, minSegment: 10 });
  const run = feed(seg, [...vInitBoxes, ...video30(6)]);
  assert.deepEqual(
    run.chunks.map((c) => `${c.segment}.${c.chunk}:${flagsOf(c)}`),
    [
      '10.0:KEYFRAME|SEGMENT_START',
      '10.1:',
      '10.2:',
      '10.3:',
      '10.4:SEGMENT_END',
      '11.0:KEYFRAME|SEGMENT_START',
    ],
  );
});

test('29.97 fps: keyframe forced at 1.001 s; the one-frame chunk reaching the boundary ends the segment', () => {
  const seg = segmenter();
  const d = 3003;
  const boxes = [
    ...vInitBoxes,
    ...fragment(1, 0, Array(6).fill(d), true),
    ...fragment(2, 6 * d, Array(6).fill(d), false),
    ...fragment(3, 12 * d, Array(6).fill(d), false),
    ...fragment(4, 18 * d, Array(6).fill(d), false),
    ...fragment(5, 24 * d, Array(5).fill(d), false), // ends at 29 frames = 0.967 s
    ...fragment(6, 29 * d, [d], false), // frame 29: 0.967 .. 1.001, reaches the boundary
    ...fragment(7, 30 * d, Array(6).fill(d), true), // forced keyframe at 1.001
  ];
  const run = feed(seg, boxes);
  assert.deepEqual(
    run.chunks.map((c) => `${c.segment}.${c.chunk}:${flagsOf(c)}`),
    [
      '0.0:KEYFRAME|SEGMENT_START', '0.1:', '0.2:', '0.3:', '0.4:', '0.5:SEGMENT_END',
      '1.0:KEYFRAME|SEGMENT_START',
    ],
  ); // prettier-ignore
});

test('audio: a segment starts with the first chunk starting in it; the chunk crossing a boundary ends it', () => {
  const seg = segmenter({ rendition: 'a0' });
  const boxes = [...aInitBoxes];
  for (let i = 0; i < 15; i++) boxes.push(...fragment(i + 1, i * 10240, Array(10).fill(1024), true));
  const run = feed(seg, boxes);
  // 10 AAC frames = 213.3 ms: chunks start at 0, .213, .427, .640, .853, 1.067, ...
  assert.deepEqual(
    run.chunks.map((c) => `${c.segment}.${c.chunk}:${flagsOf(c)}`),
    [
      '0.0:KEYFRAME|SEGMENT_START', '0.1:KEYFRAME', '0.2:KEYFRAME', '0.3:KEYFRAME', '0.4:KEYFRAME|SEGMENT_END',
      '1.0:KEYFRAME|SEGMENT_START', '1.1:KEYFRAME', '1.2:KEYFRAME', '1.3:KEYFRAME', '1.4:KEYFRAME|SEGMENT_END',
      '2.0:KEYFRAME|SEGMENT_START', '2.1:KEYFRAME', '2.2:KEYFRAME', '2.3:KEYFRAME', '2.4:KEYFRAME|SEGMENT_END',
    ],
  ); // prettier-ignore
  for (const c of run.chunks) {
    assert.ok(c.decodeTime < (c.segment + 1) * 48000 && c.decodeTime + 5 >= c.segment * 48000);
  }
});

test('video without a keyframe where expected: warned, SEGMENT_END is still honoured; nothing before the first keyframe', () => {
  const seg = segmenter();
  const boxes = [...vInitBoxes, ...fragment(1, 0, Array(6).fill(3000), false)];
  const first = feed(seg, boxes);
  assert.equal(first.chunks.length, 0);
  assert.match(first.warnings[0]!, /before the first keyframe/);
  const rest: Mp4Box[] = [];
  for (let i = 1; i < 7; i++) rest.push(...fragment(i + 1, i * 18000, Array(6).fill(3000), i === 1));
  const run = feed(seg, rest);
  // segment 0 starts at 0.2 s (first keyframe); 0.8..1.0 ends it; 1.0 has no keyframe but must start segment 1
  assert.deepEqual(
    run.chunks.map((c) => `${c.segment}.${c.chunk}:${flagsOf(c)}`),
    ['0.0:KEYFRAME|SEGMENT_START', '0.1:', '0.2:', '0.3:SEGMENT_END', '1.0:SEGMENT_START', '1.1:'],
  );
  assert.match(run.warnings[0]!, /segment 1 does not start with a keyframe/);
});

test('a keyframe inside a segment (not at a boundary) does not start a new segment', () => {
  const seg = segmenter();
  const boxes = [...vInitBoxes];
  for (let i = 0; i < 6; i++)
    boxes.push(...fragment(i + 1, i * 18000, Array(6).fill(3000), i === 0 || i === 2));
  const run = feed(seg, boxes);
  assert.deepEqual(
    run.chunks.map((c) => `${c.segment}.${c.chunk}:${flagsOf(c)}`),
    ['0.0:KEYFRAME|SEGMENT_START', '0.1:', '0.2:KEYFRAME', '0.3:', '0.4:SEGMENT_END', '1.0:SEGMENT_START'],
  );
});

test('out-of-order boxes are MP4_PARSE_ERROR', () => {
  const isParseError = (err: unknown): boolean => errorCode(err) === 'MP4_PARSE_ERROR';
  const [moof, mdat] = fragment(1, 0, [3000], true);
  assert.throws(() => segmenter().push(moof!), isParseError);
  const s = segmenter();
  feed(s, vInitBoxes);
  assert.throws(() => s.push(mdat!), isParseError);
  s.push(moof!);
  assert.throws(() => s.push(moof!), isParseError);
  assert.throws(() => s.push(vInitBoxes[1]!), isParseError); // second moov
});

test('sourceKeyframes (passthrough): segments = the source GOP, which sits a phase after the boundaries', () => {
  // 2 s GOP at 30 fps starting 10 frames in (where ffmpeg put the source's first keyframe), 200 ms chunks.
  const gop = (k: number, seq: number): Mp4Box[] =>
    Array.from({ length: 10 }, (_, i) =>
      fragment(seq + i, 30000 + k * 180000 + i * 18000, Array(6).fill(3000), i === 0),
    ).flat();
  const boxes = [...vInitBoxes, ...gop(0, 1), ...gop(1, 11), ...gop(2, 21).slice(0, 2)];
  const plain = feed(segmenter({ segmentDurationMs: 2000 }), boxes);
  // Without the phase, the chunk ending past the nominal boundary closes the segment one chunk early.
  assert.equal(plain.warnings.length, 2);
  const run = feed(segmenter({ segmentDurationMs: 2000, sourceKeyframes: true }), boxes);
  assert.deepEqual(run.warnings, []);
  const ends = run.chunks
    .filter((c) => hasFlag(c, ChunkFlags.SEGMENT_END))
    .map((c) => `${c.segment}.${c.chunk}`);
  assert.deepEqual(ends, ['0.9', '1.9']);
  assert.deepEqual(
    run.chunks.filter((c) => hasFlag(c, ChunkFlags.SEGMENT_START)).map((c) => [c.segment, flagsOf(c)]),
    [
      [0, 'KEYFRAME|SEGMENT_START'],
      [1, 'KEYFRAME|SEGMENT_START'],
      [2, 'KEYFRAME|SEGMENT_START'],
    ],
  );
});
