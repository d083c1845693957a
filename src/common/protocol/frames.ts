/**
 * The inter-tier wire protocol, version 1: one binary WebSocket message per frame.
 * Pure encode/decode functions; decode validates everything at the boundary and throws ProtocolError.
 *
 * Header (4 bytes):  'T' 'C'  version:u8  type:u8
 * INIT_SEGMENT:      streamLen:u8 stream  rendLen:u8 rendition  payload...
 * MEDIA_CHUNK:       streamLen:u8 stream  rendLen:u8 rendition  segment:u32 chunk:u16 flags:u8
 *                    decodeTime:f64 duration:u32 ingressTime:f64 sentTime:f64  payload...
 * HEARTBEAT:         time:f64
 * control frames:    UTF-8 JSON body (SUBSCRIBE, UNSUBSCRIBE, STREAM_START, STREAM_END, ERROR, DIRECTORY)
 * DIRECTORY flows parent → child on connect and on every change: the live streams the tree carries.
 *
 * The same MEDIA_CHUNK bytes travel ingress → relays → edge → browser: each relay only rewrites
 * sentTime in place (see patchSentTime) so one buffer is shared by every subscriber.
 */
import { z } from 'zod';
import { ProtocolError } from '../errors/index.js';
import type { InitSegment, MediaChunk, ResumePosition, StreamInfo } from '../media.js';

export const PROTOCOL_VERSION = 1;
const MAGIC0 = 0x54; // 'T'
const MAGIC1 = 0x43; // 'C'
export const HEADER_BYTES = 4;

export const FrameType = {
  SUBSCRIBE: 1,
  UNSUBSCRIBE: 2,
  STREAM_START: 3,
  STREAM_END: 4,
  INIT_SEGMENT: 5,
  MEDIA_CHUNK: 6,
  HEARTBEAT: 7,
  ERROR: 8,
  DIRECTORY: 9,
} as const;
export type FrameTypeValue = (typeof FrameType)[keyof typeof FrameType];

const NAME_RE = /^[A-Za-z0-9_-]{1,64}$/;
const nameSchema = z.string().regex(NAME_RE);

const resumeSchema = z.object({
  rendition: nameSchema,
  segment: z.number().int().nonnegative(),
  chunk: z.number().int().nonnegative(),
});

/** `path`: the node ids the request came through (child first); a parent finding itself in it refuses (loop). */
const subscribeSchema = z
  .object({
    stream: nameSchema,
    resume: z.array(resumeSchema).max(32).optional(),
    path: z.array(z.string().max(64)).max(32).optional(),
  })
  .strict();
const unsubscribeSchema = z.object({ stream: nameSchema }).strict();
const renditionSchema = z
  .object({
    id: nameSchema,
    kind: z.enum(['video', 'audio']),
    codecs: z.string().max(64),
    bandwidth: z.number().int().nonnegative(),
    width: z.number().int().positive().optional(),
    height: z.number().int().positive().optional(),
    frameRate: z.number().positive().optional(),
    sampleRate: z.number().int().positive().optional(),
    channels: z.number().int().positive().optional(),
    timescale: z.number().int().positive(),
  })
  .strict();
const streamStartSchema = z
  .object({
    name: nameSchema,
    availabilityStartTime: z.number(),
    // Not always whole: with passthrough it is the source's GOP (45 frames at 29.97 fps: 1501.5 ms).
    segmentDurationMs: z.number().positive().max(60_000),
    chunkDurationMs: z.number().int().positive(),
    epoch: z.number().int().nonnegative(),
    renditions: z.array(renditionSchema).min(1).max(32),
    protected: z.boolean().optional(),
  })
  .strict();
const streamEndSchema = z
  .object({ stream: nameSchema, reason: z.string().max(256), code: z.string().max(64).optional() })
  .strict();
const directoryEntrySchema = z
  .object({
    name: nameSchema,
    live: z.boolean(),
    title: z.string().max(140).optional(),
    category: z.string().max(64).optional(),
    startedAt: z.number().optional(),
  })
  .strict();
const directorySchema = z.object({ entries: z.array(directoryEntrySchema).max(10_000) }).strict();
export type DirectoryEntry = z.infer<typeof directoryEntrySchema>;
const errorSchema = z
  .object({ code: z.string().max(64), message: z.string().max(1024), stream: nameSchema.optional() })
  .strict();

export type Frame =
  | { type: typeof FrameType.SUBSCRIBE; stream: string; resume?: ResumePosition[]; path?: string[] }
  | { type: typeof FrameType.UNSUBSCRIBE; stream: string }
  | { type: typeof FrameType.STREAM_START; info: StreamInfo }
  | { type: typeof FrameType.STREAM_END; stream: string; reason: string; code?: string }
  | { type: typeof FrameType.INIT_SEGMENT; init: InitSegment }
  | { type: typeof FrameType.MEDIA_CHUNK; chunk: MediaChunk }
  | { type: typeof FrameType.HEARTBEAT; time: number }
  | { type: typeof FrameType.ERROR; code: string; message: string; stream?: string }
  | { type: typeof FrameType.DIRECTORY; entries: DirectoryEntry[] };

export function isValidName(name: string): boolean {
  return NAME_RE.test(name);
}

function header(type: FrameTypeValue, bodyBytes: number): Buffer {
  const buf = Buffer.allocUnsafe(HEADER_BYTES + bodyBytes);
  buf[0] = MAGIC0;
  buf[1] = MAGIC1;
  buf[2] = PROTOCOL_VERSION;
  buf[3] = type;
  return buf;
}

function jsonFrame(type: FrameTypeValue, body: unknown): Buffer {
  const json = Buffer.from(JSON.stringify(body), 'utf8');
  const buf = header(type, json.length);
  json.copy(buf, HEADER_BYTES);
  return buf;
}

function writeName(buf: Buffer, offset: number, name: string): number {
  const len = buf.write(name, offset + 1, 'latin1');
  buf[offset] = len;
  return offset + 1 + len;
}

export function encodeSubscribe(stream: string, resume?: ResumePosition[], path?: string[]): Buffer {
  return jsonFrame(FrameType.SUBSCRIBE, {
    stream,
    ...(resume && resume.length ? { resume } : {}),
    ...(path && path.length ? { path } : {}),
  });
}
export function encodeUnsubscribe(stream: string): Buffer {
  return jsonFrame(FrameType.UNSUBSCRIBE, { stream });
}
export function encodeStreamStart(info: StreamInfo): Buffer {
  return jsonFrame(FrameType.STREAM_START, info);
}
export function encodeStreamEnd(stream: string, reason: string, code?: string): Buffer {
  return jsonFrame(FrameType.STREAM_END, code ? { stream, reason, code } : { stream, reason });
}
export function encodeError(code: string, message: string, stream?: string): Buffer {
  return jsonFrame(FrameType.ERROR, stream ? { code, message, stream } : { code, message });
}
export function encodeDirectory(entries: DirectoryEntry[]): Buffer {
  return jsonFrame(FrameType.DIRECTORY, { entries });
}
export function encodeHeartbeat(time: number): Buffer {
  const buf = header(FrameType.HEARTBEAT, 8);
  buf.writeDoubleBE(time, HEADER_BYTES);
  return buf;
}

export function encodeInitSegment(init: InitSegment): Buffer {
  const buf = header(
    FrameType.INIT_SEGMENT,
    2 + init.stream.length + init.rendition.length + init.data.length,
  );
  let o = writeName(buf, HEADER_BYTES, init.stream);
  o = writeName(buf, o, init.rendition);
  init.data.copy(buf, o);
  return buf;
}

/** Offset of sentTime from the end of the names, so relays can patch it without decoding. */
const CHUNK_FIXED = 4 + 2 + 1 + 8 + 4 + 8 + 8;

export function encodeMediaChunk(c: MediaChunk): Buffer {
  const buf = header(
    FrameType.MEDIA_CHUNK,
    2 + c.stream.length + c.rendition.length + CHUNK_FIXED + c.payload.length,
  );
  let o = writeName(buf, HEADER_BYTES, c.stream);
  o = writeName(buf, o, c.rendition);
  o = buf.writeUInt32BE(c.segment, o);
  o = buf.writeUInt16BE(c.chunk, o);
  o = buf.writeUInt8(c.flags, o);
  o = buf.writeDoubleBE(c.decodeTime, o);
  o = buf.writeUInt32BE(c.duration, o);
  o = buf.writeDoubleBE(c.ingressTime, o);
  o = buf.writeDoubleBE(c.sentTime, o);
  c.payload.copy(buf, o);
  return buf;
}

/** Rewrites sentTime of an encoded MEDIA_CHUNK in place (one write per hop, before fan-out). */
export function patchSentTime(frame: Buffer, time: number): void {
  const o = sentTimeOffset(frame);
  frame.writeDoubleBE(time, o);
}

function sentTimeOffset(frame: Buffer): number {
  const sLen = frame[HEADER_BYTES] ?? 0;
  const rLen = frame[HEADER_BYTES + 1 + sLen] ?? 0;
  return HEADER_BYTES + 2 + sLen + rLen + CHUNK_FIXED - 8;
}

export interface DecodeLimits {
  maxFrameBytes: number;
}

function fail(message: string, context: Record<string, string | number> = {}): never {
  throw new ProtocolError('PROTOCOL_MALFORMED_FRAME', message, context);
}

function readName(buf: Buffer, offset: number): [string, number] {
  if (offset >= buf.length) fail('truncated name');
  const len = buf[offset]!;
  const end = offset + 1 + len;
  if (end > buf.length) fail('truncated name');
  const name = buf.toString('latin1', offset + 1, end);
  if (!NAME_RE.test(name)) fail('invalid name');
  return [name, end];
}

function parseJson<T>(buf: Buffer, schema: z.ZodType<T>, what: string): T {
  let raw: unknown;
  try {
    raw = JSON.parse(buf.toString('utf8', HEADER_BYTES));
  } catch {
    fail(`${what} body is not JSON`);
  }
  const r = schema.safeParse(raw);
  if (!r.success)
    fail(
      `${what} body invalid: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  return r.data;
}

/** Decodes one frame. Payload buffers are views into `buf` (no copy). */
export function decodeFrame(buf: Buffer, limits: DecodeLimits = { maxFrameBytes: 16 * 1024 * 1024 }): Frame {
  if (buf.length > limits.maxFrameBytes) {
    throw new ProtocolError('PROTOCOL_FRAME_TOO_LARGE', 'frame exceeds the size limit', {
      bytes: buf.length,
      limit: limits.maxFrameBytes,
    });
  }
  if (buf.length < HEADER_BYTES || buf[0] !== MAGIC0 || buf[1] !== MAGIC1)
    fail('bad magic', { bytes: buf.length });
  if (buf[2] !== PROTOCOL_VERSION) {
    throw new ProtocolError('PROTOCOL_VERSION_MISMATCH', 'peer speaks another protocol version', {
      ours: PROTOCOL_VERSION,
      theirs: buf[2]!,
    });
  }
  const type = buf[3];
  switch (type) {
    case FrameType.SUBSCRIBE: {
      const b = parseJson(buf, subscribeSchema, 'SUBSCRIBE');
      return {
        type,
        stream: b.stream,
        ...(b.resume ? { resume: b.resume } : {}),
        ...(b.path ? { path: b.path } : {}),
      };
    }
    case FrameType.UNSUBSCRIBE:
      return { type, stream: parseJson(buf, unsubscribeSchema, 'UNSUBSCRIBE').stream };
    case FrameType.STREAM_START:
      return { type, info: parseJson<StreamInfo>(buf, streamStartSchema, 'STREAM_START') };
    case FrameType.STREAM_END: {
      const b = parseJson(buf, streamEndSchema, 'STREAM_END');
      return b.code
        ? { type, stream: b.stream, reason: b.reason, code: b.code }
        : { type, stream: b.stream, reason: b.reason };
    }
    case FrameType.ERROR: {
      const b = parseJson(buf, errorSchema, 'ERROR');
      return b.stream
        ? { type, code: b.code, message: b.message, stream: b.stream }
        : { type, code: b.code, message: b.message };
    }
    case FrameType.DIRECTORY:
      return { type, entries: parseJson(buf, directorySchema, 'DIRECTORY').entries };
    case FrameType.HEARTBEAT:
      if (buf.length !== HEADER_BYTES + 8) fail('HEARTBEAT has a wrong length', { bytes: buf.length });
      return { type, time: buf.readDoubleBE(HEADER_BYTES) };
    case FrameType.INIT_SEGMENT: {
      const [stream, o1] = readName(buf, HEADER_BYTES);
      const [rendition, o2] = readName(buf, o1);
      if (o2 >= buf.length) fail('INIT_SEGMENT has no payload');
      return { type, init: { stream, rendition, data: buf.subarray(o2) } };
    }
    case FrameType.MEDIA_CHUNK: {
      const [stream, o1] = readName(buf, HEADER_BYTES);
      const [rendition, o2] = readName(buf, o1);
      if (o2 + CHUNK_FIXED >= buf.length) fail('MEDIA_CHUNK truncated', { bytes: buf.length });
      let o = o2;
      const segment = buf.readUInt32BE(o);
      const chunk = buf.readUInt16BE((o += 4));
      const flags = buf.readUInt8((o += 2));
      const decodeTime = buf.readDoubleBE((o += 1));
      const duration = buf.readUInt32BE((o += 8));
      const ingressTime = buf.readDoubleBE((o += 4));
      const sentTime = buf.readDoubleBE((o += 8));
      o += 8;
      if (!Number.isFinite(decodeTime) || decodeTime < 0) fail('MEDIA_CHUNK decodeTime invalid');
      return {
        type,
        chunk: {
          stream,
          rendition,
          segment,
          chunk,
          flags,
          decodeTime,
          duration,
          ingressTime,
          sentTime,
          payload: buf.subarray(o),
        },
      };
    }
    default:
      fail('unknown frame type', { type: type ?? -1 });
  }
}
