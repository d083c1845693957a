/**
 * The WebCodecs player's demuxer (src/edge/public/cmaf-demux.js) reads what ffmpeg's CMAF muxer writes (the
 * transcoder's packager): codec strings and decoder configurations from the init segment, and every sample of
 * every moof+mdat with its times, key flag and bytes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DemuxError, parseChunk, parseInit } from '../../src/edge/public/cmaf-demux.js';

const run = promisify(execFile);

/** Splits a fragmented MP4 into its init segment and its moof+mdat chunks. */
function split(file: Buffer): { init: Uint8Array; chunks: Uint8Array[] } {
  let pos = 0;
  let initEnd = 0;
  const chunks: Uint8Array[] = [];
  let chunkStart = -1;
  while (pos + 8 <= file.length) {
    const size = file.readUInt32BE(pos);
    const type = file.toString('latin1', pos + 4, pos + 8);
    if (type === 'moov') initEnd = pos + size;
    if (type === 'moof') chunkStart = pos;
    if (type === 'mdat' && chunkStart >= 0) {
      chunks.push(new Uint8Array(file.subarray(chunkStart, pos + size)));
      chunkStart = -1;
    }
    pos += size;
  }
  return { init: new Uint8Array(file.subarray(0, initEnd)), chunks };
}

async function encode(args: string[]): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'tiercast-demux-'));
  try {
    const out = join(dir, 'out.mp4');
    await run('ffmpeg', [
      '-hide_banner',
      '-loglevel',
      'error',
      ...args,
      '-movflags',
      'frag_keyframe+empty_moov+default_base_moof+frag_every_frame',
      '-f',
      'mp4',
      out,
    ]);
    return await readFile(out);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('H.264 video: codec string from avcC, size, and every frame with its key flag and times', async () => {
  const file = await encode([
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=320x180:rate=30',
    '-t',
    '2',
    '-c:v',
    'libx264',
    '-profile:v',
    'baseline',
    '-bf',
    '0',
    '-g',
    '30',
    '-pix_fmt',
    'yuv420p',
  ]);
  const { init, chunks } = split(file);
  const info = parseInit(init);
  assert.equal(info.tracks.length, 1);
  const t = info.tracks[0]!;
  assert.equal(t.kind, 'video');
  assert.match(t.codec, /^avc1\.42[0-9a-f]{4}$/);
  assert.equal(t.description[0], 1, 'avcC configurationVersion');
  assert.equal(t.width, 320);
  assert.equal(t.height, 180);
  const samples = chunks.flatMap((c) => parseChunk(c, info));
  assert.equal(samples.length, 60);
  const keys = samples.flatMap((s, i) => (s.key ? [i] : []));
  assert.deepEqual(keys, [0, 30], 'a keyframe every 30 frames, the others not');
  const frame = t.timescale / 30;
  samples.forEach((s, i) => {
    assert.equal(s.dts, samples[0]!.dts + i * frame, `dts of frame ${i}`);
    assert.equal(s.duration, frame);
    assert.ok(s.pts >= s.dts);
    // AVCC: the first NAL unit's 4-byte length fits in the sample.
    const nal = new DataView(s.data.buffer, s.data.byteOffset).getUint32(0);
    assert.ok(nal + 4 <= s.data.byteLength, `frame ${i} starts with a NAL length`);
  });
  // The first sample of a keyframe chunk holds an IDR slice (NAL type 5) somewhere.
  assert.ok(hasNalType(samples[0]!.data, 5));
  assert.ok(!hasNalType(samples[1]!.data, 5));
});

test('AAC audio: mp4a.40.2 and the AudioSpecificConfig from esds, 1024-sample frames', async () => {
  const file = await encode([
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=440:sample_rate=48000',
    '-ac',
    '2',
    '-t',
    '1',
    '-c:a',
    'aac',
    '-b:a',
    '96k',
  ]);
  const { init, chunks } = split(file);
  const info = parseInit(init);
  const t = info.tracks[0]!;
  assert.equal(t.kind, 'audio');
  assert.equal(t.codec, 'mp4a.40.2');
  assert.equal(t.sampleRate, 48000);
  assert.equal(t.channels, 2);
  // AudioSpecificConfig: AAC LC (2), 48 kHz (index 3), 2 channels.
  assert.deepEqual([...t.description.subarray(0, 2)], [0x11, 0x90]);
  const samples = chunks.flatMap((c) => parseChunk(c, info));
  assert.ok(samples.length >= 46, `${samples.length} AAC frames in a second`);
  // The last frame is cut where the input ends.
  for (const s of samples.slice(0, -1)) {
    assert.equal(s.duration * (48000 / t.timescale), 1024);
    assert.ok(s.key);
    assert.ok(s.data.byteLength > 0);
  }
});

test('the ingress packaging: one chunk holding several frames (one moof, one trun)', async () => {
  const file = await encode([
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=160x90:rate=25',
    '-t',
    '1',
    '-c:v',
    'libx264',
    '-bf',
    '0',
    '-g',
    '25',
    '-movflags',
    '+frag_keyframe',
  ]);
  // Without frag_every_frame ffmpeg would write one fragment per GOP; join all fragments into one "chunk".
  const { init, chunks } = split(file);
  const joined = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) joined.set(c, (at += c.byteLength) - c.byteLength);
  const info = parseInit(init);
  const samples = parseChunk(joined, info);
  assert.equal(samples.length, 25);
  assert.equal(samples.filter((s) => s.key).length, 1);
});

test('broken bytes are refused with a code, not misread', async () => {
  assert.throws(
    () => parseInit(new Uint8Array([0, 0, 0, 8, 0x66, 0x74, 0x79, 0x70])),
    (e: unknown) => {
      return e instanceof DemuxError && e.code === 'PROTOCOL_MALFORMED_FRAME';
    },
  );
  const file = await encode([
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=160x90:rate=25',
    '-t',
    '0.2',
    '-c:v',
    'libx264',
  ]);
  const { init, chunks } = split(file);
  const info = parseInit(init);
  const cut = chunks[0]!.subarray(0, chunks[0]!.byteLength - 10);
  assert.throws(() => parseChunk(cut, info), DemuxError);
});

function hasNalType(data: Uint8Array, type: number): boolean {
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (let p = 0; p + 4 < data.byteLength;) {
    const len = v.getUint32(p);
    if (((data[p + 4] ?? 0) & 0x1f) === type) return true;
    p += 4 + len;
  }
  return false;
}
