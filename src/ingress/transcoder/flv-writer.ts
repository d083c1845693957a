/**
 * Pure FLV serialization: the file header and tags that the transcoder writes to ffmpeg's stdin, rebuilt
 * from the RTMP server's tags (Adobe FLV spec v10.1, annex E). Also the few tag classifications the
 * transcoder needs (keyframe, codec sequence header, metadata).
 */
import { TiercastError } from '../../common/errors/index.js';

export const FLV_TAG_AUDIO = 8;
export const FLV_TAG_VIDEO = 9;
export const FLV_TAG_SCRIPT = 18;

/** One FLV tag as the RTMP server hands it over; structurally identical to the server's own type. */
export interface FlvTag {
  type: 8 | 9 | 18;
  /** Media time in ms (32-bit, wraps). */
  timestamp: number;
  /** Tag body: for audio/video the first byte(s) are the codec header, then the payload. */
  data: Buffer;
  /** Date.now() when the ingress received the message carrying this tag. */
  receivedAt: number;
}

const FLV_HEADER_SIZE = 9;
const TAG_HEADER_SIZE = 11;
/** The DataSize field is 24 bits. */
export const MAX_FLV_TAG_DATA = 0xffffff;

/** The 9-byte FLV header followed by PreviousTagSize0 (4 zero bytes): 13 bytes. */
export function flvHeader(opts: { audio: boolean; video: boolean }): Buffer {
  const buf = Buffer.alloc(FLV_HEADER_SIZE + 4);
  buf.write('FLV', 0, 'latin1');
  buf.writeUInt8(1, 3); // version
  buf.writeUInt8((opts.audio ? 0x04 : 0) | (opts.video ? 0x01 : 0), 4);
  buf.writeUInt32BE(FLV_HEADER_SIZE, 5);
  // bytes 9..12: PreviousTagSize0 = 0
  return buf;
}

/**
 * 11-byte tag header, body, then PreviousTagSize (11 + body length). The timestamp is written as
 * 24 low bits + 8 extended high bits; values outside 32 bits wrap, as they do on the wire.
 */
export function serializeTag(tag: Pick<FlvTag, 'type' | 'timestamp' | 'data'>): Buffer {
  const size = tag.data.length;
  if (size > MAX_FLV_TAG_DATA) {
    throw new TiercastError(
      'RTMP_MESSAGE_TOO_LARGE',
      `FLV tag body of ${size} bytes exceeds the 24-bit size field`,
      {
        type: tag.type,
      },
    );
  }
  const ts = Math.trunc(tag.timestamp) >>> 0;
  const buf = Buffer.allocUnsafe(TAG_HEADER_SIZE + size + 4);
  buf.writeUInt8(tag.type & 0x1f, 0); // reserved and filter bits 0
  buf.writeUIntBE(size, 1, 3);
  buf.writeUIntBE(ts & 0xffffff, 4, 3);
  buf.writeUInt8(ts >>> 24, 7);
  buf.writeUIntBE(0, 8, 3); // stream id, always 0
  tag.data.copy(buf, TAG_HEADER_SIZE);
  buf.writeUInt32BE(TAG_HEADER_SIZE + size, TAG_HEADER_SIZE + size);
  return buf;
}

const VIDEO_FRAME_KEY = 1;
const VIDEO_CODEC_AVC = 7;
const VIDEO_CODEC_HEVC_LEGACY = 12;
const AUDIO_FORMAT_AAC = 10;

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
  if (tag.type === FLV_TAG_AUDIO) return tag.data[0]! >> 4 === AUDIO_FORMAT_AAC && tag.data[1] === 0;
  return false;
}

/** A script tag carrying onMetaData (or @setDataFrame onMetaData as OBS sends it). */
export function isMetadataTag(tag: Pick<FlvTag, 'type' | 'data'>): boolean {
  if (tag.type !== FLV_TAG_SCRIPT) return false;
  const head = tag.data.subarray(0, 40).toString('latin1');
  return head.includes('onMetaData');
}

/** AVC end of sequence (AVCPacketType 2): carries no picture. */
export function isEndOfSequence(tag: Pick<FlvTag, 'type' | 'data'>): boolean {
  return (
    tag.type === FLV_TAG_VIDEO &&
    tag.data.length >= 2 &&
    (tag.data[0]! & 0x0f) === VIDEO_CODEC_AVC &&
    tag.data[1] === 2
  );
}
