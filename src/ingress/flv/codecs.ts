/**
 * Which codecs the transcoder takes, read from the first byte(s) of FLV audio/video tag bodies (Adobe FLV
 * spec annex E; Enhanced RTMP v1 for the ex-header form). Pure.
 *
 * The pipeline feeds ffmpeg legacy FLV with H.264 video (the AVC sequence header is stored to restart
 * ffmpeg mid-stream, keyframes are found by AVC packet type) and AAC or MP3 audio. Anything else would
 * be accepted by RTMP and then produce nothing watchable, so a publish is refused at its first such tag
 * with a description naming the codec. (HEVC/AV1 support comes with the ingest issue.)
 */
import { FLV_TAG_AUDIO, FLV_TAG_VIDEO, type FlvTag } from './flv-tag.js';

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
  avc1: 'H.264 in Enhanced RTMP form',
  Opus: 'Opus',
  fLaC: 'FLAC',
  'ac-3': 'AC-3',
  'ec-3': 'E-AC-3',
  '.mp3': 'MP3 in Enhanced RTMP form',
  mp4a: 'AAC in Enhanced RTMP form',
};
const SUPPORTED_VIDEO = new Set([7]);
const SUPPORTED_AUDIO = new Set([2, 10, 14]);
/** Both flags of the first byte: Enhanced RTMP's IsExHeader (video) and SoundFormat 9 (audio). */
const VIDEO_EX_HEADER = 0x80;
const AUDIO_EX_HEADER = 9;

export const SUPPORTED_CODECS_TEXT = 'H.264 video with AAC or MP3 audio';

/** The FourCC as text a streamer can read: printable ASCII only (the bytes come from the publisher). */
function fourCc(data: Buffer, at: number): string {
  const bytes = data.subarray(at, at + 4);
  return [...bytes].map((b) => (b >= 0x20 && b < 0x7f && b !== 0x27 ? String.fromCharCode(b) : '?')).join('');
}

/**
 * Undefined when the transcoder can take this tag's codec (script tags always); otherwise the codec's
 * name, e.g. "HEVC (Enhanced RTMP 'hvc1')" or "On2 VP6" or "unknown video codec id 9".
 */
export function unsupportedCodec(tag: Pick<FlvTag, 'type' | 'data'>): string | undefined {
  if (tag.data.length === 0) return undefined;
  const b0 = tag.data[0]!;
  if (tag.type === FLV_TAG_VIDEO) {
    if (b0 & VIDEO_EX_HEADER) {
      const cc = fourCc(tag.data, 1);
      return `${FOURCC_NAMES[cc] ?? 'video'} (Enhanced RTMP '${cc}')`;
    }
    const id = b0 & 0x0f;
    return SUPPORTED_VIDEO.has(id) ? undefined : (VIDEO_CODECS[id] ?? `unknown video codec id ${id}`);
  }
  if (tag.type === FLV_TAG_AUDIO) {
    const id = b0 >> 4;
    if (id === AUDIO_EX_HEADER) {
      const cc = fourCc(tag.data, 1);
      return `${FOURCC_NAMES[cc] ?? 'audio'} (Enhanced RTMP '${cc}')`;
    }
    return SUPPORTED_AUDIO.has(id) ? undefined : (AUDIO_CODECS[id] ?? `unknown audio codec id ${id}`);
  }
  return undefined;
}
