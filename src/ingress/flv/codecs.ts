/**
 * Which codecs the transcoder takes, read from the first byte(s) of FLV audio/video tag bodies (Adobe FLV
 * spec annex E; Enhanced RTMP v1 for the ex-header form). Pure.
 *
 * The pipeline feeds ffmpeg legacy FLV with H.264 video and AAC or MP3 audio, and Matroska (written by
 * the ingress from the same tags) when a track is HEVC, AV1, VP9 or Opus. Anything else would be accepted
 * by RTMP and then produce nothing watchable, so a publish is refused at its first such tag with a
 * description naming the codec; a truncated sequence header likewise (malformedTag).
 */
import type { FlvTag } from './flv-tag.js';
import { MalformedTagError, mediaPacket } from './media-packet.js';

const VIDEO_CODECS: Record<number, string> = {
  1: 'JPEG',
  2: 'Sorenson H.263',
  3: 'Screen video',
  4: 'On2 VP6',
  5: 'On2 VP6 with alpha',
  6: 'Screen video v2',
  7: 'H.264',
  12: 'HEVC',
  13: 'AV1',
};
const AUDIO_CODECS: Record<number, string> = {
  0: 'PCM',
  1: 'ADPCM',
  2: 'MP3',
  3: 'PCM',
  4: 'Nellymoser',
  5: 'Nellymoser',
  6: 'Nellymoser',
  7: 'G.711 A-law',
  8: 'G.711 mu-law',
  10: 'AAC',
  11: 'Speex',
  14: 'MP3',
  15: 'device-specific audio',
};
const FOURCC_NAMES: Record<string, string> = {
  hvc1: 'HEVC',
  av01: 'AV1',
  vp09: 'VP9',
  vp08: 'VP8',
  avc1: 'H.264',
  Opus: 'Opus',
  fLaC: 'FLAC',
  'ac-3': 'AC-3',
  'ec-3': 'E-AC-3',
  '.mp3': 'MP3',
  mp4a: 'AAC',
};
/** Codecs the transcoder takes (legacy FLV or, for the Enhanced RTMP ones, Matroska to ffmpeg). */
const SUPPORTED_VIDEO = new Set(['avc1', 'hvc1', 'av01', 'vp09', 'vp08']);
const SUPPORTED_AUDIO = new Set(['mp4a', 'Opus', '.mp3']);
/** What ffmpeg accepts in the codec list of an Enhanced RTMP connect reply. */
export const SUPPORTED_FOURCCS = ['hvc1', 'av01', 'vp09', 'avc1', 'Opus', 'mp4a'];

export const SUPPORTED_CODECS_TEXT = 'H.264, HEVC, AV1 or VP9 video with AAC, Opus or MP3 audio';

/** The FourCC as text a streamer can read: printable ASCII only (the bytes come from the publisher). */
function printable(cc: string): string {
  return [...cc]
    .map((ch) => {
      const b = ch.charCodeAt(0);
      return b >= 0x20 && b < 0x7f && b !== 0x27 ? ch : '?';
    })
    .join('');
}

/**
 * Undefined when the transcoder can take this tag's codec (script tags always); otherwise the codec's
 * name, e.g. "FLAC (Enhanced RTMP 'fLaC')" or "On2 VP6" or "unknown video codec id 9".
 */
export function unsupportedCodec(tag: Pick<FlvTag, 'type' | 'data'>): string | undefined {
  let p;
  try {
    p = mediaPacket(tag);
  } catch (err) {
    if (!(err instanceof MalformedTagError)) throw err;
    return undefined; // a truncated header is malformedTag's business
  }
  if (!p) return undefined;
  if (p.kind === 'multitrack') return 'Enhanced RTMP multitrack (send one video and one audio track)';
  if (p.codec.startsWith('legacy:')) {
    const id = Number(p.codec.slice(7));
    const names = p.track === 'video' ? VIDEO_CODECS : AUDIO_CODECS;
    return names[id] ?? `unknown ${p.track} codec id ${id}`;
  }
  const supported = p.track === 'video' ? SUPPORTED_VIDEO : SUPPORTED_AUDIO;
  if (supported.has(p.codec)) return undefined;
  const cc = printable(p.codec);
  return `${FOURCC_NAMES[cc] ?? p.track} (Enhanced RTMP '${cc}')`;
}

/** A codec's name for the streamer ('hvc1' → 'HEVC'). */
export function codecName(codec: string): string {
  return FOURCC_NAMES[codec] ?? printable(codec);
}

/** Smallest plausible decoder configuration per codec, and its first byte where one is fixed. */
const CONFIG_SHAPE: Record<string, { min: number; check?: (b: Buffer) => boolean; name: string }> = {
  avc1: { min: 7, check: (b) => b[0] === 1, name: 'AVCDecoderConfigurationRecord' },
  hvc1: { min: 23, check: (b) => b[0] === 1, name: 'HEVCDecoderConfigurationRecord' },
  av01: { min: 4, check: (b) => b[0] === 0x81, name: 'AV1CodecConfigurationRecord' },
  vp09: { min: 8, name: 'VPCodecConfigurationRecord' },
  vp08: { min: 8, name: 'VPCodecConfigurationRecord' },
  Opus: { min: 19, check: (b) => b.toString('latin1', 0, 8) === 'OpusHead', name: 'OpusHead' },
  mp4a: { min: 2, name: 'AudioSpecificConfig' },
};

/**
 * Undefined when the tag's headers and sequence header are whole; otherwise what is wrong, for the
 * streamer ("truncated HEVC sequence header (HEVCDecoderConfigurationRecord, 9 bytes)").
 */
export function malformedTag(tag: Pick<FlvTag, 'type' | 'data'>): string | undefined {
  let p;
  try {
    p = mediaPacket(tag);
  } catch (err) {
    if (err instanceof MalformedTagError)
      return `malformed ${tag.type === 9 ? 'video' : 'audio'} tag: ${err.message}`;
    throw err;
  }
  if (!p || p.kind !== 'config') return undefined;
  const shape = CONFIG_SHAPE[p.codec];
  if (!shape) return undefined;
  const name = FOURCC_NAMES[p.codec] ?? p.codec;
  if (p.payload.length < shape.min || (shape.check && !shape.check(p.payload)))
    return `truncated or malformed ${name} sequence header (${shape.name}, ${p.payload.length} bytes)`;
  return undefined;
}
