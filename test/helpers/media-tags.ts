/**
 * Real encoded media as FLV tags, the way a publisher sends them: ffmpeg encodes a test pattern (and a
 * tone) into an MP4, whose samples become legacy FLV tags (H.264) or Enhanced RTMP tags (hvc1, av01, vp09,
 * avc1 with the ex-video header; Opus with the ex-audio header). ffmpeg 5.1 cannot send Enhanced RTMP,
 * so this is how tests get it.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { FlvTag } from '../../src/ingress/flv/flv-tag.js';
import { encodeAmf0 } from '../../src/ingress/rtmp/amf0.js';
import { audioSpecificConfigFromEsds, opusHeadFromDops, readMp4, type Mp4Track } from './mp4-samples.js';

const run = promisify(execFile);

export type VideoEncoder = 'libx264' | 'libx265' | 'libsvtav1' | 'libaom-av1' | 'libvpx-vp9';

export interface EncodeOptions {
  video?: VideoEncoder;
  audio?: 'libopus' | 'aac';
  seconds: number;
  width?: number;
  height?: number;
  fps?: number;
  /** Frames from one keyframe to the next (default: one second's worth). */
  gop?: number;
  /** Keyframes only at these times, e.g. '0,1,2' (x264 `-force_key_frames`), none after them. */
  keyframesAt?: string;
}

const FAST: Record<VideoEncoder, string[]> = {
  libx264: ['-preset', 'veryfast', '-bf', '2'],
  libx265: ['-preset', 'ultrafast', '-x265-params', 'log-level=error:bframes=2'],
  libsvtav1: ['-preset', '12'],
  'libaom-av1': ['-cpu-used', '8', '-usage', 'realtime'],
  'libvpx-vp9': ['-deadline', 'realtime', '-cpu-used', '8'],
};

/** Encodes a test pattern (and a 440 Hz tone) with ffmpeg and reads the MP4's tracks. */
export async function encodeMp4(opts: EncodeOptions): Promise<Mp4Track[]> {
  const dir = await mkdtemp(join(tmpdir(), 'tiercast-media-'));
  const file = join(dir, 'out.mp4');
  const { width = 320, height = 240, fps = 30 } = opts;
  const args = ['-hide_banner', '-loglevel', 'error', '-y'];
  if (opts.video) args.push('-f', 'lavfi', '-i', `testsrc2=size=${width}x${height}:rate=${fps}`);
  if (opts.audio) args.push('-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000');
  args.push('-t', String(opts.seconds));
  if (opts.video)
    args.push(
      '-c:v',
      opts.video,
      ...FAST[opts.video],
      ...(opts.keyframesAt !== undefined
        ? [
            '-g',
            '100000',
            '-keyint_min',
            '100000',
            '-sc_threshold',
            '0',
            '-force_key_frames',
            opts.keyframesAt,
          ]
        : ['-g', String(opts.gop ?? fps)]),
      ...(opts.gop !== undefined ? ['-keyint_min', String(opts.gop), '-sc_threshold', '0'] : []),
      '-pix_fmt',
      'yuv420p',
      '-b:v',
      '500k',
    );
  if (opts.audio) args.push('-c:a', opts.audio, '-b:a', '64k');
  args.push(file);
  try {
    await run('ffmpeg', args, { timeout: 120_000 });
    return readMp4(await readFile(file));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const FOURCC: Record<string, string> = {
  avc1: 'avc1',
  avc3: 'avc1',
  hev1: 'hvc1',
  hvc1: 'hvc1',
  av01: 'av01',
  vp09: 'vp09',
  Opus: 'Opus',
  mp4a: 'mp4a',
};

function si24(v: number): Buffer {
  const b = Buffer.alloc(3);
  b.writeUIntBE(v < 0 ? v + 0x1000000 : v, 0, 3);
  return b;
}

/** An FLV video tag body in Enhanced RTMP form (IsExHeader, FrameType, PacketType, FourCC). */
export function exVideoBody(
  fourCc: string,
  packetType: number,
  key: boolean,
  payload: Buffer,
  cts?: number,
): Buffer {
  const head = Buffer.from([0x80 | ((key ? 1 : 2) << 4) | packetType]);
  const parts: Buffer[] = [head, Buffer.from(fourCc, 'latin1')];
  if (cts !== undefined) parts.push(si24(cts));
  parts.push(payload);
  return Buffer.concat(parts);
}

/** An FLV audio tag body in Enhanced RTMP form (SoundFormat 9, AudioPacketType, FourCC). */
export function exAudioBody(fourCc: string, packetType: number, payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from([0x90 | packetType]), Buffer.from(fourCc, 'latin1'), payload]);
}

/** onMetaData as OBS sends it (@setDataFrame stripped, as the RTMP server stores it). */
export function metadataBody(width: number, height: number, fps: number, audioFourCc?: string): Buffer {
  const audio = audioFourCc ? { audiocodecid: Buffer.from(audioFourCc, 'latin1').readUInt32BE(0) } : {};
  return encodeAmf0('onMetaData', { width, height, framerate: fps, ...audio });
}

export interface TagOptions {
  /** Send H.264 in the Enhanced RTMP form ('avc1') rather than legacy FLV. Other video codecs always are. */
  enhancedAvc?: boolean;
  /** Send AAC in the Enhanced RTMP form ('mp4a') rather than legacy FLV (OBS sends it legacy). Opus always is. */
  enhancedAac?: boolean;
}

/** The tracks' samples as FLV tags (ms timestamps, decode order, configs first), metadata first. */
export function tagsFromMp4(tracks: readonly Mp4Track[], opts: TagOptions = {}): FlvTag[] {
  const out: { tag: FlvTag; order: number }[] = [];
  const add = (type: 8 | 9 | 18, timestamp: number, data: Buffer, order: number): void => {
    out.push({ tag: { type, timestamp, data, receivedAt: 0 }, order });
  };
  const video = tracks.find((t) => t.handler === 'vide');
  const audio = tracks.find((t) => t.handler === 'soun');
  const audioCc = audio && FOURCC[audio.format];
  if (video) add(18, 0, metadataBody(video.width ?? 0, video.height ?? 0, 30, audioCc), 0);
  for (const t of tracks) {
    const ms = (v: number): number => Math.round((v * 1000) / t.timescale);
    const cc = FOURCC[t.format];
    if (!cc) throw new Error(`no FourCC for sample entry ${t.format}`);
    if (t.handler === 'vide') {
      const legacy = cc === 'avc1' && !opts.enhancedAvc;
      const withCts = cc === 'avc1' || cc === 'hvc1';
      add(9, 0, legacy ? Buffer.concat([Buffer.from([0x17, 0, 0, 0, 0]), t.config]) : exVideoBody(cc, 0, true, t.config), 1); // prettier-ignore
      for (const s of t.samples) {
        const cts = ms(s.dts + s.cts) - ms(s.dts);
        const body = legacy
          ? Buffer.concat([Buffer.from([s.key ? 0x17 : 0x27, 1]), si24(cts), s.data])
          : exVideoBody(cc, 1, s.key, s.data, withCts ? cts : undefined);
        add(9, ms(s.dts), body, 3);
      }
    } else if (cc === 'mp4a' && !opts.enhancedAac) {
      // Legacy AAC: SoundFormat 10, 44 kHz, 16-bit, stereo flags (ignored by decoders), AACPacketType.
      add(8, 0, Buffer.concat([Buffer.from([0xaf, 0]), audioSpecificConfigFromEsds(t.config)]), 2);
      for (const s of t.samples) add(8, ms(s.dts), Buffer.concat([Buffer.from([0xaf, 1]), s.data]), 3);
    } else {
      const config = cc === 'mp4a' ? audioSpecificConfigFromEsds(t.config) : opusHeadFromDops(t.config);
      add(8, 0, exAudioBody(cc, 0, config), 2);
      for (const s of t.samples) add(8, ms(s.dts), exAudioBody(cc, 1, s.data), 3);
    }
  }
  return out.sort((a, b) => a.tag.timestamp - b.tag.timestamp || a.order - b.order).map((o) => o.tag);
}
