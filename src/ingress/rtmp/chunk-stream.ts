/**
 * The RTMP chunk stream: messages are cut into chunks of at most `chunkSize` payload bytes, each
 * prefixed by a basic header (fmt + chunk stream id) and a message header whose size depends on fmt:
 *   fmt 0 (11 bytes) timestamp, length, type id, message stream id: starts a csid or resets it
 *   fmt 1 (7 bytes)  timestamp delta, length, type id (stream id unchanged)
 *   fmt 2 (3 bytes)  timestamp delta
 *   fmt 3 (0 bytes)  continuation of the current message, or a new message identical in length,
 *                    type, stream and timestamp delta to the previous one on that csid
 * A timestamp field of 0xFFFFFF means a 4-byte extended timestamp follows; a fmt 3 chunk carries
 * one too when the previous header on its csid did (what ffmpeg and librtmp both send and expect).
 * As the spec says, a fmt 3 new message following a fmt 0 header uses the fmt 0 timestamp as delta.
 *
 * Pure: `ChunkStreamParser.push()` takes Buffers cut at arbitrary points and returns whole messages.
 * Set Chunk Size and Abort are applied here, because they change how the following bytes parse;
 * they are returned too, for the session to log.
 */
import { ProtocolError } from '../../common/errors/index.js';
import { MessageType, readU32Body } from './protocol-messages.js';

export interface RtmpMessage {
  /** Chunk stream id the message arrived on. */
  csid: number;
  typeId: number;
  /** Message stream id (0 for connection-level messages). */
  streamId: number;
  /** ms, 32-bit, wraps at 2^32. */
  timestamp: number;
  /** May share memory with the Buffers passed to push(); do not mutate. */
  payload: Buffer;
}

export interface ChunkStreamParserOptions {
  /** Largest message accepted; a longer one is RTMP_MESSAGE_TOO_LARGE. Default 4 MiB. */
  maxMessageBytes?: number;
}

export const DEFAULT_CHUNK_SIZE = 128;
export const DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
const MAX_CSID = 65599;
const EXTENDED = 0xffffff;
const TS_MOD = 2 ** 32;
const MESSAGE_HEADER_BYTES = [11, 7, 3, 0] as const;
const EMPTY = Buffer.alloc(0);

interface CsidState {
  timestamp: number;
  /** Delta applied by a fmt 3 header that starts a new message. */
  delta: number;
  length: number;
  typeId: number;
  streamId: number;
  /** Whether the last fmt 0-2 header on this csid carried an extended timestamp. */
  extended: boolean;
  parts: Buffer[];
  /** Bytes of the message in progress; 0 when no message is in progress. */
  received: number;
}

export class ChunkStreamParser {
  private maxMessageBytes: number;
  /**
   * Ceiling on bytes held in partial messages across all chunk streams. Publishers interleave audio
   * and video on two or three csids, so twice the message limit never refuses a real one, while a
   * peer opening thousands of csids with half-sent messages cannot grow memory without bound.
   */
  private maxPartialBytes: number;
  private inChunkSize = DEFAULT_CHUNK_SIZE;
  private readonly streams = new Map<number, CsidState>();
  private pending: Buffer = EMPTY;
  /** The chunk whose payload is being read, if its header has been parsed. */
  private current: { state: CsidState; csid: number; remaining: number } | undefined;
  private partialBytes = 0;

  constructor(opts: ChunkStreamParserOptions = {}) {
    this.maxMessageBytes = opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.maxPartialBytes = this.maxMessageBytes * 2;
  }

  get chunkSize(): number {
    return this.inChunkSize;
  }

  /** Bytes currently held in partial messages. */
  get bufferedBytes(): number {
    return this.partialBytes + this.pending.length;
  }

  /**
   * Changes the message limit (and so the partial-message ceiling) for the bytes that follow: the session
   * starts small and raises it once a publish is accepted.
   */
  setMaxMessageBytes(bytes: number): void {
    this.maxMessageBytes = bytes;
    this.maxPartialBytes = bytes * 2;
  }

  /** Feeds bytes; returns the messages they complete, in order. Throws ProtocolError on a violation. */
  push(data: Buffer): RtmpMessage[] {
    const out: RtmpMessage[] = [];
    const buf = this.pending.length > 0 ? Buffer.concat([this.pending, data]) : data;
    let pos = 0;
    for (;;) {
      const cur = this.current;
      if (cur) {
        const take = Math.min(cur.remaining, buf.length - pos);
        if (take === 0) break;
        if (this.partialBytes + take > this.maxPartialBytes) {
          throw new ProtocolError('RTMP_MESSAGE_TOO_LARGE', 'partial messages exceed the buffer limit', {
            limit: this.maxPartialBytes,
          });
        }
        cur.state.parts.push(buf.subarray(pos, pos + take));
        cur.state.received += take;
        this.partialBytes += take;
        cur.remaining -= take;
        pos += take;
        if (cur.remaining > 0) break;
        this.current = undefined;
        if (cur.state.received === cur.state.length) this.complete(cur.csid, cur.state, out);
        continue;
      }
      const next = this.parseHeader(buf, pos, out);
      if (next === undefined) break;
      pos = next;
    }
    // Only an incomplete header (at most 18 bytes) is left over: copy it so the input can be freed.
    this.pending = pos < buf.length ? Buffer.from(buf.subarray(pos)) : EMPTY;
    return out;
  }

  /** Parses one chunk header at `pos`; returns the offset after it, or undefined if more bytes are needed. */
  private parseHeader(buf: Buffer, pos: number, out: RtmpMessage[]): number | undefined {
    const avail = buf.length - pos;
    if (avail < 1) return undefined;
    const b0 = buf[pos]!;
    const fmt = b0 >> 6;
    let csid = b0 & 0x3f;
    let p = pos + 1;
    if (csid === 0) {
      if (avail < 2) return undefined;
      csid = 64 + buf[p]!;
      p += 1;
    } else if (csid === 1) {
      if (avail < 3) return undefined;
      csid = 64 + buf[p]! + buf[p + 1]! * 256;
      p += 2;
    }
    const headerBytes = MESSAGE_HEADER_BYTES[fmt as 0 | 1 | 2 | 3];
    if (buf.length < p + headerBytes) return undefined;

    let state = this.streams.get(csid);
    if (!state && fmt !== 0) {
      throw new ProtocolError('RTMP_PROTOCOL_ERROR', `chunk fmt ${fmt} without a previous header`, { csid });
    }
    const tsField = fmt === 3 ? 0 : buf.readUIntBE(p, 3);
    const extended = fmt === 3 ? state!.extended : tsField === EXTENDED;
    const extOffset = p + headerBytes;
    if (extended && buf.length < extOffset + 4) return undefined;
    const end = extOffset + (extended ? 4 : 0);
    // All header bytes are present: from here on state may change.
    const tsValue = extended ? buf.readUInt32BE(extOffset) : tsField;

    if (fmt === 3) {
      const s = state!;
      if (s.received > 0) {
        // Continuation of the message in progress; its timestamp is already set.
        this.beginChunk(csid, s);
        return end;
      }
      s.timestamp = (s.timestamp + s.delta) % TS_MOD;
      return this.beginMessage(csid, s, end, out);
    }

    if (state && state.received > 0) {
      // A new header in the middle of a message: the peer gave up on it without an Abort. Drop it.
      this.dropPartial(state);
    }
    if (fmt === 0) {
      const length = buf.readUIntBE(p + 3, 3);
      const typeId = buf.readUInt8(p + 6);
      const streamId = buf.readUInt32LE(p + 7);
      if (!state) {
        state = {
          timestamp: 0,
          delta: 0,
          length: 0,
          typeId: 0,
          streamId: 0,
          extended: false,
          parts: [],
          received: 0,
        };
        this.streams.set(csid, state);
      }
      state.timestamp = tsValue;
      state.delta = tsValue;
      state.length = length;
      state.typeId = typeId;
      state.streamId = streamId;
    } else {
      const s = state!;
      s.delta = tsValue;
      s.timestamp = (s.timestamp + tsValue) % TS_MOD;
      if (fmt === 1) {
        s.length = buf.readUIntBE(p + 3, 3);
        s.typeId = buf.readUInt8(p + 6);
      }
    }
    state!.extended = extended;
    return this.beginMessage(csid, state!, end, out);
  }

  private beginMessage(csid: number, s: CsidState, end: number, out: RtmpMessage[]): number {
    if (s.length > this.maxMessageBytes) {
      throw new ProtocolError('RTMP_MESSAGE_TOO_LARGE', 'message exceeds the size limit', {
        bytes: s.length,
        limit: this.maxMessageBytes,
        type: s.typeId,
      });
    }
    if (s.length === 0) {
      this.complete(csid, s, out);
      return end;
    }
    this.beginChunk(csid, s);
    return end;
  }

  private beginChunk(csid: number, s: CsidState): void {
    this.current = { state: s, csid, remaining: Math.min(this.inChunkSize, s.length - s.received) };
  }

  private dropPartial(s: CsidState): void {
    this.partialBytes -= s.received;
    s.parts = [];
    s.received = 0;
  }

  private complete(csid: number, s: CsidState, out: RtmpMessage[]): void {
    const payload =
      s.parts.length === 1 ? s.parts[0]! : s.parts.length === 0 ? EMPTY : Buffer.concat(s.parts, s.length);
    this.dropPartial(s);
    const msg: RtmpMessage = {
      csid,
      typeId: s.typeId,
      streamId: s.streamId,
      timestamp: s.timestamp,
      payload,
    };
    if (msg.typeId === MessageType.SET_CHUNK_SIZE) {
      // The top bit is reserved and must be zero; mask it as ffmpeg and nginx-rtmp do.
      const size = readU32Body(payload, 'set chunk size') & 0x7fffffff;
      if (size < 1) throw new ProtocolError('RTMP_PROTOCOL_ERROR', 'invalid chunk size', { size });
      this.inChunkSize = size;
    } else if (msg.typeId === MessageType.ABORT) {
      const target = this.streams.get(readU32Body(payload, 'abort'));
      if (target) this.dropPartial(target);
    }
    out.push(msg);
  }
}

export interface OutgoingMessage {
  csid: number;
  typeId: number;
  streamId: number;
  timestamp: number;
  payload: Buffer;
}

function basicHeader(fmt: number, csid: number): Buffer {
  if (csid < 2 || csid > MAX_CSID) throw new RangeError(`chunk stream id out of range: ${csid}`);
  if (csid < 64) return Buffer.from([(fmt << 6) | csid]);
  if (csid < 320) return Buffer.from([fmt << 6, csid - 64]);
  const rel = csid - 64;
  return Buffer.from([(fmt << 6) | 1, rel & 0xff, rel >> 8]);
}

/**
 * Encodes outgoing messages: a fmt 0 header on the first chunk of every message (the server sends
 * few, small messages, so header compression is not worth its state), fmt 3 on the rest.
 */
export class ChunkStreamEncoder {
  private outChunkSize = DEFAULT_CHUNK_SIZE;

  get chunkSize(): number {
    return this.outChunkSize;
  }

  /** Call after encoding the Set Chunk Size message announcing `size`: that message itself uses the old size. */
  setChunkSize(size: number): void {
    if (!Number.isInteger(size) || size < 1 || size > 0x7fffffff)
      throw new RangeError(`invalid chunk size: ${size}`);
    this.outChunkSize = size;
  }

  encode(msg: OutgoingMessage): Buffer {
    const ts = msg.timestamp >>> 0;
    const extended = ts >= EXTENDED;
    const header = Buffer.alloc(11);
    header.writeUIntBE(extended ? EXTENDED : ts, 0, 3);
    header.writeUIntBE(msg.payload.length, 3, 3);
    header.writeUInt8(msg.typeId, 6);
    header.writeUInt32LE(msg.streamId >>> 0, 7);
    const ext = extended ? Buffer.alloc(4) : EMPTY;
    if (extended) ext.writeUInt32BE(ts, 0);

    const parts: Buffer[] = [basicHeader(0, msg.csid), header, ext];
    const continuation = basicHeader(3, msg.csid);
    for (let off = 0; off < msg.payload.length; off += this.outChunkSize) {
      if (off > 0) parts.push(continuation, ext);
      parts.push(msg.payload.subarray(off, off + this.outChunkSize));
    }
    return Buffer.concat(parts);
  }
}
