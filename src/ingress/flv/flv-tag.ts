/**
 * The FLV tag, as RTMP ingest, the FLV reader (capture inputs) and the transcoder all see it, and the few
 * classifications the transcoder needs (keyframe, codec sequence header, metadata). Pure.
 */
import { AmfEcmaArray, encodeAmf0 } from '../rtmp/amf0.js';

export const FLV_TAG_AUDIO = 8;
export const FLV_TAG_VIDEO = 9;
export const FLV_TAG_SCRIPT = 18;

/** One FLV tag: an RTMP audio/video/data message, or a tag read from an FLV byte stream. */
export interface FlvTag {
  type: 8 | 9 | 18;
  /** Media time in ms (32-bit, wraps). */
  timestamp: number;
  /** Tag body: for audio/video the first byte(s) are the codec header, then the payload. */
  data: Buffer;
  /** Date.now() when the ingress received the message (or bytes) carrying this tag. */
  receivedAt: number;
}

const VIDEO_FRAME_KEY = 1;
export const VIDEO_CODEC_AVC = 7;
const VIDEO_CODEC_HEVC_LEGACY = 12;
const AUDIO_FORMAT_AAC = 10;
const AUDIO_FORMAT_EX_HEADER = 9;

/** A video tag whose FrameType is 1 (keyframe / IDR), including the AVC sequence header. */
export function isVideoKeyframe(tag: Pick<FlvTag, 'type' | 'data'>): boolean {
  if (tag.type !== FLV_TAG_VIDEO || tag.data.length < 1) return false;
  const first = tag.data[0]!;
  // Enhanced RTMP (IsExHeader bit) uses the same FrameType field in bits 4-6.
  return ((first >> 4) & 0x07) === VIDEO_FRAME_KEY;
}

/** AVC/HEVC decoder configuration (AVCPacketType 0) or AAC AudioSpecificConfig (AACPacketType 0). */
export function isSequenceHeader(tag: Pick<FlvTag, 'type' | 'data'>): boolean {
  if (tag.data.length < 2) return false;
  if (tag.type === FLV_TAG_VIDEO) {
    const low = tag.data[0]! & 0x0f;
    // Enhanced RTMP (IsExHeader bit): the low nibble is the PacketType, 0 = SequenceStart.
    if ((tag.data[0]! & 0x80) !== 0) return low === 0;
    return (low === VIDEO_CODEC_AVC || low === VIDEO_CODEC_HEVC_LEGACY) && tag.data[1] === 0;
  }
  if (tag.type === FLV_TAG_AUDIO) {
    // Enhanced RTMP ex-audio (SoundFormat 9): the low nibble is the AudioPacketType, 0 = SequenceStart.
    if (tag.data[0]! >> 4 === AUDIO_FORMAT_EX_HEADER) return (tag.data[0]! & 0x0f) === 0;
    return tag.data[0]! >> 4 === AUDIO_FORMAT_AAC && tag.data[1] === 0;
  }
  return false;
}

/** A script tag carrying onMetaData (or @setDataFrame onMetaData as OBS sends it). */
export function isMetadataTag(tag: Pick<FlvTag, 'type' | 'data'>): boolean {
  if (tag.type !== FLV_TAG_SCRIPT) return false;
  const head = tag.data.subarray(0, 40).toString('latin1');
  return head.includes('onMetaData');
}

/** AVC end of sequence (AVCPacketType 2) or Enhanced RTMP SequenceEnd: carries no picture. */
export function isEndOfSequence(tag: Pick<FlvTag, 'type' | 'data'>): boolean {
  if (tag.type === FLV_TAG_VIDEO && tag.data.length >= 1 && (tag.data[0]! & 0x80) !== 0)
    return (tag.data[0]! & 0x0f) === 2;
  return (
    tag.type === FLV_TAG_VIDEO &&
    tag.data.length >= 2 &&
    (tag.data[0]! & 0x0f) === VIDEO_CODEC_AVC &&
    tag.data[1] === 2
  );
}

/**
 * An onMetaData script tag body (AMF0: the name, then an ECMA array of numbers), as an RTMP encoder sends it
 * first: inputs that are not RTMP (WHIP, WebM) announce their tracks and picture size with it.
 */
export function onMetaDataBody(props: Record<string, number>): Buffer {
  return encodeAmf0('onMetaData', new AmfEcmaArray(props));
}

/** Enhanced RTMP names a codec in onMetaData by its FourCC read as a big-endian number ('Opus', 'av01'). */
export function fourccCodecId(cc: string): number {
  return Buffer.from(cc, 'latin1').readUInt32BE(0);
}
