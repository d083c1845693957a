/**
 * Reads what the MPD and the segmenter need from a CMAF init segment (ftyp+moov), using mp4box.js:
 * RFC 6381 codec string, timescale, picture size or audio format, and the trex defaults that apply to
 * fragments which carry no per-sample durations/flags.
 */
import { createFile, MP4BoxBuffer, type Movie } from 'mp4box';
import { TiercastError } from '../../common/errors/index.js';
import type { RenditionInfo, TrackKind } from '../../common/media.js';
import { nearestStandardRate } from './source-gop.js';

export interface InitInfo {
  kind: TrackKind;
  trackId: number;
  /** RFC 6381, e.g. "avc1.4d401e" or "mp4a.40.2". */
  codecs: string;
  timescale: number;
  width?: number;
  height?: number;
  sampleRate?: number;
  channels?: number;
  defaultSampleDuration?: number;
  defaultSampleFlags?: number;
}

function parseError(
  message: string,
  context: Record<string, string | number | undefined>,
  cause?: unknown,
): TiercastError {
  return new TiercastError('MP4_PARSE_ERROR', message, context, cause === undefined ? undefined : { cause });
}

/** Throws MP4_PARSE_ERROR if the buffer is not a complete init segment with one audio or video track. */
export function readInitInfo(
  init: Buffer,
  context: Record<string, string | number | undefined> = {},
): InitInfo {
  // mp4box.js wants an ArrayBuffer of its own with the position of these bytes in the "file".
  const ab = MP4BoxBuffer.fromArrayBuffer(
    init.buffer.slice(init.byteOffset, init.byteOffset + init.byteLength),
    0,
  );
  const file = createFile();
  let movie: Movie | undefined;
  let failure: string | undefined;
  file.onReady = (info) => {
    movie = info;
  };
  file.onError = (module, message) => {
    failure = `${module}: ${message}`;
  };
  try {
    file.appendBuffer(ab);
    file.flush();
  } catch (err) {
    throw parseError('init segment could not be parsed', context, err);
  }
  if (!movie)
    throw parseError(`not a complete init segment (no moov)${failure ? `: ${failure}` : ''}`, context);
  const track = movie.videoTracks[0] ?? movie.audioTracks[0];
  if (!track || movie.tracks.length !== 1) {
    throw parseError(
      `init segment must hold exactly one audio or video track, found ${movie.tracks.length}`,
      context,
    );
  }
  if (!track.codec || !(track.timescale > 0))
    throw parseError('init segment track has no codec or timescale', context);
  const trex = file.moov?.mvex?.trexs.find((t) => t.track_id === track.id);
  const kind: TrackKind = track.video ? 'video' : 'audio';
  const info: InitInfo = { kind, trackId: track.id, codecs: track.codec, timescale: track.timescale };
  if (track.video) {
    info.width = track.video.width;
    info.height = track.video.height;
  }
  if (track.audio) {
    info.sampleRate = track.audio.sample_rate;
    info.channels = track.audio.channel_count;
  }
  if (trex) {
    if (trex.default_sample_duration) info.defaultSampleDuration = trex.default_sample_duration;
    info.defaultSampleFlags = trex.default_sample_flags;
  }
  return info;
}

/**
 * What the manifest says about a rendition, from its init segment and its first fragment (the frame rate
 * can only be read from a real fragment: samples x timescale / duration).
 */
export function renditionInfoOf(
  output: { rendition: string; bandwidth: number },
  info: InitInfo,
  firstMoof: { sampleCount: number; duration: number },
): RenditionInfo {
  const measured =
    info.kind === 'video' && firstMoof.duration > 0
      ? (firstMoof.sampleCount * info.timescale) / firstMoof.duration
      : undefined;
  // Few frames (frame-sized chunks) measure the rate coarsely: near a broadcast rate, take that rate.
  const tolerance = firstMoof.sampleCount < 6 ? 0.04 / firstMoof.sampleCount : 0;
  const rate = measured === undefined ? undefined : (nearestStandardRate(measured, tolerance) ?? measured);
  const frameRate = rate === undefined ? undefined : Math.round(rate * 1000) / 1000;
  return {
    id: output.rendition,
    kind: info.kind,
    codecs: info.codecs,
    bandwidth: output.bandwidth,
    timescale: info.timescale,
    ...(info.width !== undefined && { width: info.width }),
    ...(info.height !== undefined && { height: info.height }),
    ...(frameRate !== undefined && { frameRate }),
    ...(info.sampleRate !== undefined && { sampleRate: info.sampleRate }),
    ...(info.channels !== undefined && { channels: info.channels }),
  };
}
