/**
 * RTMP message type ids and the bodies of the protocol control / user control messages the server
 * sends. Pure functions; the chunk stream turns these bodies into bytes on the wire.
 */
import { ProtocolError } from '../../common/errors/index.js';

export const MessageType = {
  SET_CHUNK_SIZE: 1,
  ABORT: 2,
  ACKNOWLEDGEMENT: 3,
  USER_CONTROL: 4,
  WINDOW_ACK_SIZE: 5,
  SET_PEER_BANDWIDTH: 6,
  AUDIO: 8,
  VIDEO: 9,
  DATA_AMF3: 15,
  SHARED_OBJECT_AMF3: 16,
  COMMAND_AMF3: 17,
  DATA_AMF0: 18,
  SHARED_OBJECT_AMF0: 19,
  COMMAND_AMF0: 20,
  AGGREGATE: 22,
} as const;

export const UserControlEvent = {
  STREAM_BEGIN: 0,
  STREAM_EOF: 1,
  STREAM_DRY: 2,
  SET_BUFFER_LENGTH: 3,
  STREAM_IS_RECORDED: 4,
  PING_REQUEST: 6,
  PING_RESPONSE: 7,
} as const;

/** Chunk stream ids the server sends on (by convention: 2 for control, 3 for commands, 5 for stream status). */
export const Csid = {
  PROTOCOL_CONTROL: 2,
  COMMAND: 3,
  STREAM_STATUS: 5,
} as const;

export const PeerBandwidthLimit = { HARD: 0, SOFT: 1, DYNAMIC: 2 } as const;

function u32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n >>> 0, 0);
  return b;
}

export function setChunkSizeBody(size: number): Buffer {
  return u32(size & 0x7fffffff);
}

export function windowAckSizeBody(size: number): Buffer {
  return u32(size);
}

export function acknowledgementBody(sequenceNumber: number): Buffer {
  return u32(sequenceNumber);
}

export function setPeerBandwidthBody(size: number, limitType: number): Buffer {
  const b = Buffer.allocUnsafe(5);
  b.writeUInt32BE(size >>> 0, 0);
  b.writeUInt8(limitType, 4);
  return b;
}

export function userControlBody(event: number, value: number): Buffer {
  const b = Buffer.allocUnsafe(6);
  b.writeUInt16BE(event, 0);
  b.writeUInt32BE(value >>> 0, 2);
  return b;
}

/** Reads the 32-bit body of Set Chunk Size, Abort, Acknowledgement and Window Acknowledgement Size. */
export function readU32Body(body: Buffer, what: string): number {
  if (body.length < 4)
    throw new ProtocolError('RTMP_PROTOCOL_ERROR', `${what} message too short`, { bytes: body.length });
  return body.readUInt32BE(0);
}

export interface UserControlMessage {
  event: number;
  /** The first 32-bit parameter (stream id or ping timestamp); 0 if absent. */
  value: number;
}

export function parseUserControl(body: Buffer): UserControlMessage {
  if (body.length < 2)
    throw new ProtocolError('RTMP_PROTOCOL_ERROR', 'user control message too short', { bytes: body.length });
  return { event: body.readUInt16BE(0), value: body.length >= 6 ? body.readUInt32BE(2) : 0 };
}

export interface AggregatePart {
  typeId: number;
  timestamp: number;
  data: Buffer;
}

/**
 * Splits an Aggregate message (type 22): back-to-back FLV tags (11-byte header, body, 4-byte back
 * pointer). Sub-message timestamps are rebased so the first one equals the aggregate's timestamp.
 */
export function splitAggregate(body: Buffer, timestamp: number): AggregatePart[] {
  const out: AggregatePart[] = [];
  let pos = 0;
  let first: number | undefined;
  while (pos < body.length) {
    if (pos + 11 > body.length)
      throw new ProtocolError('RTMP_PROTOCOL_ERROR', 'truncated aggregate sub-header', { pos });
    const typeId = body.readUInt8(pos);
    const size = body.readUIntBE(pos + 1, 3);
    const subTs = (body.readUIntBE(pos + 4, 3) | (body.readUInt8(pos + 7) << 24)) >>> 0;
    const start = pos + 11;
    if (start + size + 4 > body.length)
      throw new ProtocolError('RTMP_PROTOCOL_ERROR', 'truncated aggregate sub-message', { pos });
    first ??= subTs;
    out.push({
      typeId,
      timestamp: (timestamp + subTs - first + 2 ** 32) % 2 ** 32,
      data: body.subarray(start, start + size),
    });
    pos = start + size + 4;
  }
  return out;
}
