/**
 * Pure incremental FLV reader: turns an FLV byte stream (ffmpeg `-f flv pipe:3`, used for local capture
 * devices) into tags shaped like the RTMP server's, so both inputs share one path into the transcoder.
 */
import { ProtocolError } from '../../common/errors/index.js';
import type { FlvTag } from './flv-tag.js';

export type { FlvTag };

const MAX_TAG_BYTES = 16 * 1024 * 1024;

export class FlvReader {
  private buf: Buffer = Buffer.alloc(0);
  private headerDone = false;

  /** Feeds bytes; returns the complete tags they finish. Throws ProtocolError on a malformed stream. */
  push(data: Buffer, now = Date.now()): FlvTag[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, data]) : data;
    const out: FlvTag[] = [];
    if (!this.headerDone) {
      if (this.buf.length < 13) return out;
      if (this.buf.toString('latin1', 0, 3) !== 'FLV')
        throw new ProtocolError('RTMP_PROTOCOL_ERROR', 'input is not FLV');
      const headerSize = this.buf.readUInt32BE(5);
      if (this.buf.length < headerSize + 4) return out;
      this.buf = this.buf.subarray(headerSize + 4);
      this.headerDone = true;
    }
    while (this.buf.length >= 11) {
      const type = this.buf[0]! & 0x1f;
      const size = this.buf.readUIntBE(1, 3);
      if (size > MAX_TAG_BYTES)
        throw new ProtocolError('RTMP_MESSAGE_TOO_LARGE', 'FLV tag too large', { bytes: size });
      if (this.buf.length < 11 + size + 4) break;
      const timestamp = (this.buf.readUIntBE(4, 3) | (this.buf[7]! << 24)) >>> 0;
      const body = Buffer.from(this.buf.subarray(11, 11 + size));
      this.buf = this.buf.subarray(11 + size + 4);
      if (type === 8 || type === 9 || type === 18) out.push({ type, timestamp, data: body, receivedAt: now });
    }
    return out;
  }
}
