/**
 * Pure: ABR ladder configuration -> one ffmpeg command line producing every rendition as fragmented MP4
 * (CMAF) on its own pipe (fd 3, 4, ...). Video renditions first in ladder order, then audio.
 *
 * Why these flags (measured with ffmpeg 5.1, see test/unit/transcoder-ladder.test.ts):
 * - `-force_key_frames expr:gte(t,n_forced*SEG)` + `-sc_threshold 0` + a large `-g`: every rendition
 *   gets a keyframe exactly at each segment boundary and nowhere else, so segments align across renditions.
 * - `frag_keyframe` + `-frag_duration`: a fragment is cut at every keyframe and as soon as the next packet
 *   is `chunkDuration` past the fragment start, so a chunk lasts at most chunkDuration + one frame
 *   (200 ms -> 200 ms at 25/30/60 fps, 208 ms at 24 fps, 213 ms for AAC at 48 kHz).
 * - `empty_moov` + `default_base_moof` + `skip_sidx` + `skip_trailer`: an init segment first, then
 *   self-contained moof+mdat pairs that can be relayed as they come, nothing written at the end.
 * - `-flush_packets 1`: each fragment leaves ffmpeg's 32 KB AVIO buffer as soon as it is complete.
 * - `-fps_mode passthrough -enc_time_base -1` keeps the source's frame rate and timestamps (ms from FLV):
 *   no frame is duplicated or dropped because a frame rate was guessed from a short probe.
 * - ~20-40 ms after a chunk's last frame was fed in, its fragment comes out (veryfast, zerolatency).
 * - no `frag_keyframe` for audio: every AAC frame is a sync sample, so only the duration cuts.
 */
import { ConfigError } from '../../common/errors/index.js';
import { SOURCE_RENDITION_ID, type TrackKind } from '../../common/media.js';

export interface LadderRung {
  id: string;
  height: number;
  videoBitrateKbps: number;
}

export interface TranscodeOptions {
  ladder: LadderRung[];
  audioBitrateKbps: number;
  /** Default 1000. */
  segmentDurationMs: number;
  /** Default 200; at most 250 so a chunk never holds more than a quarter second of latency. */
  chunkDurationMs: number;
  /** x264 preset, default 'veryfast'. */
  preset: string;
  /**
   * Threads for decoding the source (ffmpeg's input `-threads`), default 1. ffmpeg's automatic frame
   * threading holds each frame back one frame time per thread: 75 ms p50 more glass-to-glass here.
   */
  decodeThreads?: number;
  /** Height of the published video, if known: rungs above it are dropped. */
  sourceHeight?: number;
  /**
   * Add the publisher's H.264 as a `src` rendition, remuxed with `-c:v copy` (listed first); the x264
   * rungs then put keyframes where the source has them (`-force_key_frames source`) so every rendition
   * switches at the same instants. Only for H.264 sources: HEVC/AV1/VP9 are not passed through.
   */
  passthrough?: boolean;
  /** Declared or measured bitrate of the published video (onMetaData videodatarate), for the manifests. */
  sourceBitrateKbps?: number;
  /** With passthrough: no x264 rung at all (transcode off), only the Source rendition and audio. */
  videoTranscodeOff?: boolean;
}

export const DEFAULT_LADDER: readonly LadderRung[] = Object.freeze([
  { id: 'v1080', height: 1080, videoBitrateKbps: 4500 },
  { id: 'v720', height: 720, videoBitrateKbps: 2500 },
  { id: 'v480', height: 480, videoBitrateKbps: 1200 },
  { id: 'v360', height: 360, videoBitrateKbps: 700 },
  { id: 'v240', height: 240, videoBitrateKbps: 400 },
]);

export const AUDIO_RENDITION_ID = 'a0';
/** The passed-through (not re-encoded) publisher video. */
export { SOURCE_RENDITION_ID };
export const AUDIO_SAMPLE_RATE = 48000;
export const AUDIO_CHANNELS = 2;
export const MAX_CHUNK_DURATION_MS = 250;
/** Without a known source height, do not guess upwards: 720p covers most webcams and is cheap enough. */
export const UNKNOWN_SOURCE_MAX_HEIGHT = 720;
/** The first extra stdio fd: 0-2 are stdin (FLV in), stdout (unused), stderr (logs and stats). */
export const FIRST_OUTPUT_FD = 3;
/** Upper bound on ffmpeg's input probing; probing stops earlier once both streams are known. */
export const ANALYZE_DURATION_US = 500_000;

export function defaultTranscodeOptions(overrides: Partial<TranscodeOptions> = {}): TranscodeOptions {
  const options: TranscodeOptions = {
    ladder: DEFAULT_LADDER.map((r) => ({ ...r })),
    audioBitrateKbps: 128,
    segmentDurationMs: 1000,
    chunkDurationMs: 200,
    preset: 'veryfast',
    ...overrides,
  };
  validateTranscodeOptions(options);
  return options;
}

/** Throws ConfigError naming the offending field. The config schema checks the same rules at load time. */
export function validateTranscodeOptions(o: TranscodeOptions): void {
  const fail = (field: string, message: string): never => {
    throw new ConfigError(`transcode.${field}: ${message}`);
  };
  if (
    !Number.isInteger(o.chunkDurationMs) ||
    o.chunkDurationMs <= 0 ||
    o.chunkDurationMs > MAX_CHUNK_DURATION_MS
  ) {
    fail('chunkDurationMs', `must be an integer in 1..${MAX_CHUNK_DURATION_MS}, got ${o.chunkDurationMs}`);
  }
  if (!Number.isInteger(o.segmentDurationMs) || o.segmentDurationMs < o.chunkDurationMs) {
    fail(
      'segmentDurationMs',
      `must be an integer >= chunkDurationMs (${o.chunkDurationMs}), got ${o.segmentDurationMs}`,
    );
  }
  if (!Number.isInteger(o.audioBitrateKbps) || o.audioBitrateKbps <= 0) {
    fail('audioBitrateKbps', `must be a positive integer, got ${o.audioBitrateKbps}`);
  }
  if (!/^[a-z]+$/.test(o.preset)) fail('preset', `invalid x264 preset ${JSON.stringify(o.preset)}`);
  if (o.ladder.length === 0) fail('ladder', 'needs at least one rung');
  const ids = new Set<string>();
  for (const [i, r] of o.ladder.entries()) {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(r.id)) fail(`ladder[${i}].id`, `invalid id ${JSON.stringify(r.id)}`);
    if (r.id === AUDIO_RENDITION_ID)
      fail(`ladder[${i}].id`, `"${AUDIO_RENDITION_ID}" is the audio rendition`);
    if (ids.has(r.id)) fail(`ladder[${i}].id`, `duplicate id ${r.id}`);
    ids.add(r.id);
    if (!Number.isInteger(r.height) || r.height < 16)
      fail(`ladder[${i}].height`, `invalid height ${r.height}`);
    if (!Number.isInteger(r.videoBitrateKbps) || r.videoBitrateKbps <= 0) {
      fail(`ladder[${i}].videoBitrateKbps`, `must be a positive integer, got ${r.videoBitrateKbps}`);
    }
  }
}

const even = (n: number): number => Math.max(2, Math.floor(n / 2) * 2);

/**
 * Rungs at or below the source height, tallest first. If none fits (a tiny source), the smallest rung is
 * kept with its height capped at the source: never upscale. Unknown source: rungs up to 720p.
 */
export function selectRungs(ladder: readonly LadderRung[], sourceHeight?: number): LadderRung[] {
  const sorted = [...ladder].sort((a, b) => b.height - a.height);
  const cap = sourceHeight !== undefined && sourceHeight > 0 ? sourceHeight : UNKNOWN_SOURCE_MAX_HEIGHT;
  const kept = sorted.filter((r) => r.height <= cap).map((r) => ({ ...r, height: even(r.height) }));
  if (kept.length > 0) return kept;
  const smallest = sorted[sorted.length - 1]!;
  return [{ ...smallest, height: even(Math.min(smallest.height, cap)) }];
}

export interface OutputPlan {
  /** The child's fd the rendition is written to (`pipe:N`). */
  fd: number;
  rendition: string;
  kind: TrackKind;
  /** Target bits per second. */
  bandwidth: number;
  height?: number;
}

export interface FfmpegPlan {
  args: string[];
  outputs: OutputPlan[];
}

export interface SourceTracks {
  hasAudio: boolean;
  hasVideo: boolean;
  /** What the transcoder writes to ffmpeg: legacy FLV (default) or Matroska for Enhanced RTMP codecs. */
  container?: 'flv' | 'matroska';
  /** FourCC of the published video ('avc1', 'hvc1', 'av01', 'vp09'); unknown means legacy FLV H.264. */
  videoCodec?: string;
}

/** Only H.264 is passed through: browsers cannot all decode HEVC/AV1/VP9 in MSE/HLS. */
export function canPassThrough(source: SourceTracks): boolean {
  if (!source.hasVideo) return false;
  if (source.videoCodec !== undefined) return source.videoCodec === 'avc1';
  return source.container !== 'matroska';
}

function fragmentFlags(chunkDurationMs: number, keyframes: boolean): string[] {
  const movflags = [
    'empty_moov',
    'default_base_moof',
    ...(keyframes ? ['frag_keyframe'] : []),
    'skip_sidx',
    'skip_trailer',
  ];
  return [
    '-f',
    'mp4',
    '-movflags',
    movflags.join('+'),
    '-frag_duration',
    String(chunkDurationMs * 1000),
    '-flush_packets',
    '1',
  ];
}

export function buildFfmpegPlan(options: TranscodeOptions, source: SourceTracks): FfmpegPlan {
  validateTranscodeOptions(options);
  if (!source.hasAudio && !source.hasVideo)
    throw new ConfigError('transcode: the source has neither audio nor video');
  const segSeconds = options.segmentDurationMs / 1000;
  const args = ['-hide_banner', '-nostdin', '-loglevel', 'level+info', '-stats_period', '0.5'];
  // Not `-fflags nobuffer`: it discards the packets read while probing, a different amount per stream,
  // which shifted audio ~0.6 s against video in our measurements. A short analyzeduration keeps probing
  // (the only startup delay) small instead; the transcoder writes both sequence headers before any frame.
  const format = source.container === 'matroska' ? 'matroska' : 'flv';
  args.push('-threads', String(options.decodeThreads ?? 1));
  args.push('-analyzeduration', String(ANALYZE_DURATION_US), '-f', format, '-i', 'pipe:0');
  const outputs: OutputPlan[] = [];
  let fd = FIRST_OUTPUT_FD;

  const passthrough = options.passthrough === true && canPassThrough(source);
  if (passthrough) {
    args.push(
      '-map', '0:v:0', '-c:v', 'copy',
      '-video_track_timescale', '90000',
      ...fragmentFlags(options.chunkDurationMs, true),
      `pipe:${fd}`,
    ); // prettier-ignore
    outputs.push({
      fd,
      rendition: SOURCE_RENDITION_ID,
      kind: 'video',
      bandwidth:
        (options.sourceBitrateKbps ?? Math.max(...options.ladder.map((r) => r.videoBitrateKbps))) * 1000,
      ...(options.sourceHeight !== undefined ? { height: options.sourceHeight } : {}),
    });
    fd++;
  }

  if (source.hasVideo && !(passthrough && options.videoTranscodeOff === true)) {
    const rungs = selectRungs(options.ladder, options.sourceHeight);
    const labels = rungs.map((_, i) => `s${i}`);
    const split =
      rungs.length > 1 ? `[0:v:0]split=${rungs.length}${labels.map((l) => `[${l}]`).join('')};` : '';
    const scales = rungs.map(
      (r, i) => `[${rungs.length > 1 ? labels[i]! : '0:v:0'}]scale=-2:${r.height},format=yuv420p[o${i}]`,
    );
    args.push('-filter_complex', split + scales.join(';'));
    // A GOP longer than anything forced so that x264 never adds an unaligned keyframe on its own.
    const gop = String(Math.max(600, Math.ceil(segSeconds * 240)));
    for (const [i, r] of rungs.entries()) {
      const kbps = r.videoBitrateKbps;
      args.push(
        '-map', `[o${i}]`,
        '-c:v', 'libx264', '-preset', options.preset, '-tune', 'zerolatency', '-profile:v', 'main',
        '-b:v', `${kbps}k`, '-maxrate', `${kbps}k`, '-bufsize', `${kbps}k`,
        '-fps_mode', 'passthrough', '-enc_time_base', '-1',
        '-g', gop, '-sc_threshold', '0',
        '-force_key_frames', passthrough ? 'source' : `expr:gte(t,n_forced*${segSeconds})`,
        '-video_track_timescale', '90000',
        ...fragmentFlags(options.chunkDurationMs, true),
        `pipe:${fd}`,
      ); // prettier-ignore
      outputs.push({ fd, rendition: r.id, kind: 'video', bandwidth: kbps * 1000, height: r.height });
      fd++;
    }
  }

  if (source.hasAudio) {
    args.push(
      '-map', '0:a:0',
      '-c:a', 'aac', '-b:a', `${options.audioBitrateKbps}k`, '-ar', String(AUDIO_SAMPLE_RATE), '-ac', String(AUDIO_CHANNELS),
      ...fragmentFlags(options.chunkDurationMs, false),
      `pipe:${fd}`,
    ); // prettier-ignore
    outputs.push({
      fd,
      rendition: AUDIO_RENDITION_ID,
      kind: 'audio',
      bandwidth: options.audioBitrateKbps * 1000,
    });
  }
  return { args, outputs };
}
