/**
 * The WebM reader for the browser's MediaRecorder fallback, on WebM that real encoders wrote: ffmpeg
 * (libx264 + libopus in Matroska with an avcC, libvpx VP8 + libopus in WebM) and Chromium's MediaRecorder
 * (test/fixtures/webm: H.264 as Annex B without CodecPrivate, Segment and Clusters of unknown size), fed in
 * pieces of random sizes. The tags must be the same whatever the pieces, and ffmpeg must decode the H.264
 * tags written back as FLV. Garbage, oversize blocks and unsupported codecs are refused with their codes.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { TiercastError } from '../../src/common/errors/index.js';
import type { FlvTag } from '../../src/ingress/flv/flv-tag.js';
import { flvHeader, serializeTag } from '../../src/ingress/flv/flv-writer.js';
import { mediaPacket } from '../../src/ingress/flv/media-packet.js';
import { malformedTag, unsupportedCodec } from '../../src/ingress/flv/codecs.js';
import { WebmTagWriter, annexBNalus } from '../../src/ingress/mkv/mkv-to-flv.js';
import { probeSource } from '../../src/ingress/transcoder/source-probe.js';

const LIMITS = { maxElementBytes: 4 * 1024 * 1024 };

function ffmpeg(args: string[]): Buffer {
  return execFileSync(
    'ffmpeg',
    [
      ...['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25'],
      ...['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', '3', ...args, 'pipe:1'],
    ],
    { maxBuffer: 64 * 1024 * 1024 },
  );
}

const H264_MKV = ffmpeg([
  ...['-c:v', 'libx264', '-preset', 'ultrafast', '-bf', '0', '-g', '25', '-pix_fmt', 'yuv420p'],
  ...['-c:a', 'libopus', '-f', 'matroska', '-live', '1'],
]);
const VP8_WEBM = ffmpeg([
  '-c:v',
  'libvpx',
  '-deadline',
  'realtime',
  '-g',
  '25',
  '-c:a',
  'libopus',
  '-f',
  'webm',
]);
const CHROMIUM = readFileSync(new URL('../fixtures/webm/chromium-h264-opus.webm', import.meta.url));

/** Deterministic pieces of 1 … max bytes. */
function pieces(b: Buffer, seed: number, max: number): Buffer[] {
  const out: Buffer[] = [];
  let s = seed;
  for (let pos = 0; pos < b.length;) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const n = 1 + (s % max);
    out.push(b.subarray(pos, pos + n));
    pos += n;
  }
  return out;
}

function read(chunks: Buffer[]): FlvTag[] {
  const w = new WebmTagWriter(LIMITS);
  const tags: FlvTag[] = [];
  for (const c of chunks) tags.push(...w.push(c, 0));
  assert.ok(w.buffered < 300 * 1024, `the reader holds at most about one element (${w.buffered} bytes)`);
  return tags;
}

const sameTags = (a: FlvTag[], b: FlvTag[]) =>
  assert.deepEqual(
    a.map((t) => [t.type, t.timestamp, t.data.toString('hex')]),
    b.map((t) => [t.type, t.timestamp, t.data.toString('hex')]),
  );

/** Frames ffmpeg decodes from the video tags written as an FLV file. */
function decodedFrames(tags: FlvTag[]): number {
  const flv = Buffer.concat([
    flvHeader({ audio: false, video: true }),
    ...tags.filter((t) => t.type === 9).map(serializeTag),
  ]);
  const r = spawnSync(
    'ffprobe',
    [
      '-v',
      'error',
      '-count_frames',
      '-select_streams',
      'v',
      '-show_entries',
      'stream=nb_read_frames',
      '-of',
      'csv=p=0',
      '-',
    ],
    { input: flv },
  );
  return Number(r.stdout.toString().trim());
}

function refusal(chunks: Buffer[]): TiercastError {
  const w = new WebmTagWriter(LIMITS);
  try {
    for (const c of chunks) w.push(c, 0);
  } catch (err) {
    assert.ok(err instanceof TiercastError);
    return err;
  }
  assert.fail('the stream was not refused');
}

describe('WebM → FLV tags', () => {
  it('H.264 + Opus from ffmpeg (avcC): legacy AVC and Enhanced RTMP Opus, the same in any pieces', () => {
    const whole = read([H264_MKV]);
    for (const seed of [1, 2, 3]) sameTags(read(pieces(H264_MKV, seed, 2000)), whole);
    sameTags(read(pieces(H264_MKV, 7, 3)), whole);
    assert.equal(whole[0]!.type, 18, 'onMetaData first');
    const probe = probeSource(whole);
    assert.deepEqual([probe.width, probe.height, probe.hasAudio, probe.hasVideo], [320, 240, true, true]);
    const packets = whole.filter((t) => t.type !== 18).map((t) => ({ t, p: mediaPacket(t)! }));
    const video = packets.filter(({ p }) => p.track === 'video');
    assert.equal(video[0]!.p.kind, 'config');
    assert.equal(video[0]!.p.codec, 'avc1');
    assert.equal(video[0]!.p.enhanced, false);
    const frames = video.filter(({ p }) => p.kind === 'frame');
    assert.equal(frames.length, 75, '3 s at 25 fps');
    assert.equal(frames.filter(({ p }) => p.keyframe).length, 3, 'a keyframe every 25 frames');
    const ts = frames.slice(0, 4).map(({ t }) => t.timestamp);
    assert.deepEqual(
      ts.map((t) => t - ts[0]!),
      [0, 40, 80, 120],
      'ms from the cluster and block times',
    );
    const audio = packets.filter(({ p }) => p.track === 'audio');
    assert.equal(audio[0]!.p.kind, 'config');
    assert.equal(audio[0]!.p.payload.toString('latin1', 0, 8), 'OpusHead');
    assert.ok(audio.length > 140, `Opus frames of 20 ms (${audio.length})`);
    for (const { t } of packets) {
      assert.equal(unsupportedCodec(t), undefined);
      assert.equal(malformedTag(t), undefined);
    }
    assert.equal(decodedFrames(whole), 75, 'ffmpeg decodes every frame');
  });

  it("Chromium's MediaRecorder H.264 (Annex B, no CodecPrivate, unknown sizes) becomes decodable AVC", () => {
    const whole = read([CHROMIUM]);
    sameTags(read(pieces(CHROMIUM, 5, 700)), whole);
    const video = whole.filter((t) => t.type === 9).map((t) => mediaPacket(t)!);
    assert.equal(video[0]!.kind, 'config', 'the record built from the in-band SPS/PPS comes first');
    assert.equal(video[0]!.payload[0], 1);
    assert.equal(video.filter((p) => p.kind === 'config').length, 1, 'sent again only when it changes');
    const frames = video.filter((p) => p.kind === 'frame');
    assert.ok(frames[0]!.keyframe, 'video starts at a keyframe');
    for (const f of frames) {
      // Length-prefixed slices (1, 5) and SEI (6), exactly filling the payload; no SPS/PPS left in-band.
      let pos = 0;
      while (pos < f.payload.length) {
        const len = f.payload.readUInt32BE(pos);
        assert.ok([1, 5, 6].includes(f.payload[pos + 4]! & 0x9f), `NAL type ${f.payload[pos + 4]! & 0x1f}`);
        pos += 4 + len;
      }
      assert.equal(pos, f.payload.length, 'length-prefixed NAL units');
    }
    assert.ok(
      annexBNalus(CHROMIUM.subarray(CHROMIUM.indexOf(Buffer.from([0, 0, 0, 1, 0x67])))),
      'the input was Annex B',
    );
    const inFile = spawnSync(
      'ffprobe',
      [
        '-v',
        'error',
        '-select_streams',
        'v',
        '-count_packets',
        '-show_entries',
        'stream=nb_read_packets',
        '-of',
        'csv=p=0',
        '-',
      ],
      { input: CHROMIUM },
    );
    assert.equal(frames.length, Number(inFile.stdout.toString().trim()), 'every frame of the file');
    assert.ok(frames.length >= 40, `about 2.5 s of video (${frames.length} frames)`);
    assert.equal(decodedFrames(whole), frames.length, 'ffmpeg decodes every frame');
    assert.ok(
      whole.some((t) => t.type === 8 && mediaPacket(t)!.kind === 'frame'),
      'with Opus',
    );
    assert.equal(probeSource(whole).width, 320);
  });

  it('VP8 + Opus from ffmpeg: Enhanced RTMP vp08 tags the ingress takes', () => {
    const whole = read([VP8_WEBM]);
    sameTags(read(pieces(VP8_WEBM, 11, 1500)), whole);
    const video = whole.filter((t) => t.type === 9);
    const packets = video.map((t) => mediaPacket(t)!);
    assert.deepEqual([packets[0]!.codec, packets[0]!.kind, packets[0]!.enhanced], ['vp08', 'config', true]);
    for (const t of video) {
      assert.equal(unsupportedCodec(t), undefined, 'VP8 is taken');
      assert.equal(malformedTag(t), undefined);
    }
    const frames = packets.filter((p) => p.kind === 'frame');
    assert.equal(frames.length, 75);
    assert.equal(frames.filter((p) => p.keyframe).length, 3);
    // A VP8 keyframe's frame tag: bit 0 of the first byte is 0 (RFC 6386 9.1).
    for (const f of frames) assert.equal((f.payload[0]! & 1) === 0, f.keyframe);
  });

  it('bytes that are not WebM are refused with BROWSER_INGEST_MALFORMED and words', () => {
    const e = refusal([Buffer.from('this is not a WebM stream at all')]);
    assert.equal(e.code, 'BROWSER_INGEST_MALFORMED');
    assert.match(e.message, /does not begin with an EBML header/);
    // A good start, then garbage in place of a Cluster.
    const tracksEnd = CHROMIUM.indexOf(Buffer.from([0x1f, 0x43, 0xb6, 0x75]));
    const g = refusal([CHROMIUM.subarray(0, tracksEnd), Buffer.from('hello, world '.repeat(100))]);
    assert.equal(g.code, 'BROWSER_INGEST_MALFORMED');
    assert.match(g.message, /unexpected element 0x6865/);
  });

  it('a block larger than the cap is refused before its bytes arrive', () => {
    const tracksEnd = CHROMIUM.indexOf(Buffer.from([0x1f, 0x43, 0xb6, 0x75]));
    // A Cluster of unknown size, its Timestamp 0, then a SimpleBlock claiming 5 MiB.
    const cluster = Buffer.from([
      0x1f, 0x43, 0xb6, 0x75, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xe7, 0x81, 0,
    ]);
    const block = Buffer.from([0xa3, 0x08, 0x50, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]);
    const e = refusal([CHROMIUM.subarray(0, tracksEnd), cluster, block]);
    assert.equal(e.code, 'PAYLOAD_TOO_LARGE');
    assert.match(e.message, /a WebM block is at most 4194304 bytes/);
  });

  it('a codec the ingress does not take is refused with UNSUPPORTED_CODEC naming it', () => {
    const mpeg4 = ffmpeg(['-c:v', 'mpeg4', '-an', '-f', 'matroska']);
    const e = refusal(pieces(mpeg4, 3, 4096));
    assert.equal(e.code, 'UNSUPPORTED_CODEC');
    assert.match(e.message, /V_MPEG4\/ISO\/ASP .*send H\.264, VP8, VP9 or AV1 video with Opus audio/);
  });

  it('corrupted bytes give tags or a TiercastError with a code, never another exception', () => {
    let seed = 1;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const codes = new Set<string>();
    for (let i = 0; i < 400; i++) {
      const b = Buffer.from(CHROMIUM);
      // Half of the runs hit the headers (the first 600 bytes), half anywhere.
      const span = i % 2 ? 600 : b.length;
      for (let k = 1 + Math.floor(rnd() * 8); k > 0; k--)
        b[Math.floor(rnd() * span)] = Math.floor(rnd() * 256);
      const w = new WebmTagWriter(LIMITS);
      try {
        for (let p = 0; p < b.length; p += 997) w.push(b.subarray(p, p + 997), 0);
      } catch (err) {
        assert.ok(err instanceof TiercastError, String(err));
        codes.add(err.code);
      }
      assert.ok(w.buffered <= LIMITS.maxElementBytes + 16);
    }
    assert.ok(codes.has('BROWSER_INGEST_MALFORMED'), [...codes].join());
  });

  it('a truncated stream gives the whole blocks so far and waits for the rest', () => {
    const half = read([CHROMIUM.subarray(0, CHROMIUM.length >> 1)]);
    const whole = read([CHROMIUM]);
    assert.ok(half.length > 5 && half.length < whole.length);
    sameTags(half, whole.slice(0, half.length));
  });
});
