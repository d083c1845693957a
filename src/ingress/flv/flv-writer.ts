/**
 * Pure FLV serialization: the file header and tags that the transcoder writes to ffmpeg's stdin, rebuilt
 * from the RTMP server's tags (Adobe FLV spec v10.1, annex E).
 */
import { TiercastError } from '../../common/errors/index.js';
import type { FlvTag } from './flv-tag.js';

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
