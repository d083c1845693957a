/**
 * The browser ingest's wire format (`/publish/ws` on the ingress's HTTP port; docs/architecture.md
 * "Browser ingest"). Pure encode/decode, validated here, typed inside. The page's encoder is
 * src/edge/public/ingest-frames.js; both are tested against the same bytes.
 *
 * Text messages are JSON: the page's first message is `{"key": KEY, "audio": BOOL}` (the only place the
 * key travels; `audio` announces a microphone, so the ingress waits for audio that starts after the
 * picture, as for an RTMP encoder's onMetaData), or `{"key": KEY, "format": "webm"}` from a page without
 * WebCodecs (below; the WebM header names its tracks);
 * the ingress answers `{"ok":true,"name":NAME,"audio":BOOL}` or `{"ok":false,"code","message"}` and
 * closes. Later the page sends `{"type":"ping","t":N}` (answered with `pong`), the ingress sends `stats`
 * every second and `error` before it closes.
 *
 * Binary messages are one FLV tag each, with a 5-byte header instead of FLV's 11-byte tag header and
 * PreviousTagSize: the WebSocket message already frames the tag (DataSize is redundant) and the stream id
 * is always 0, so only the tag type and the 32-bit millisecond timestamp remain:
 *
 *   type:u8 (8 audio, 9 video)  timestamp:u32 BE (ms)  body (the FLV tag body: legacy AVC, or Enhanced
 *   RTMP ex-audio/ex-video; the composition time is inside the body, as in FLV)
 *
 * With `"format": "webm"` (the MediaRecorder fallback) the binary messages are instead the chunks of one
 * WebM file as MediaRecorder writes it (any sizes, in order; H.264, VP8, VP9 or AV1 with Opus), read by
 * src/ingress/mkv/mkv-to-flv.ts into the same tags. A new socket starts a new file.
 */
import { FLV_TAG_AUDIO, FLV_TAG_VIDEO } from '../flv/flv-tag.js';

export const INGEST_HEADER_BYTES = 5;
/** A keyframe of 1080p H.264 at a high bitrate stays well under this; more is a mistake or an attack. */
export const INGEST_MAX_FRAME_BYTES = 4 * 1024 * 1024;
/** Text messages (the key, pings) are tiny. */
export const INGEST_MAX_TEXT_BYTES = 4096;

export interface IngestTag {
  type: 8 | 9;
  timestamp: number;
  body: Buffer;
}

export type Decoded<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Structure only: the codec itself is judged by the LiveStream (UNSUPPORTED_CODEC, with its name). */
export function decodeIngestTag(msg: Buffer): Decoded<IngestTag> {
  if (msg.length < INGEST_HEADER_BYTES + 1)
    return { ok: false, reason: `a media message is at least ${INGEST_HEADER_BYTES + 1} bytes` };
  const type = msg[0]!;
  if (type !== FLV_TAG_AUDIO && type !== FLV_TAG_VIDEO)
    return { ok: false, reason: `tag type ${type} is neither audio (8) nor video (9)` };
  const body = msg.subarray(INGEST_HEADER_BYTES);
  const b0 = body[0]!;
  if (type === FLV_TAG_VIDEO) {
    if (b0 & 0x80) {
      if (body.length < 5) return { ok: false, reason: 'an Enhanced RTMP video tag needs its FourCC' };
    } else {
      const frameType = (b0 >> 4) & 0x07;
      if (frameType < 1 || frameType > 5) return { ok: false, reason: `video frame type ${frameType}` };
      // AVC: AVCPacketType (0 config, 1 NALUs, 2 end) and a 24-bit composition time.
      if ((b0 & 0x0f) === 7 && (body.length < 5 || body[1]! > 2))
        return { ok: false, reason: 'an AVC video tag needs its packet type and composition time' };
    }
  } else if (b0 >> 4 === 9 && body.length < 5) {
    return { ok: false, reason: 'an Enhanced RTMP audio tag needs its FourCC' };
  }
  return { ok: true, value: { type, timestamp: msg.readUInt32BE(1), body } };
}

/** The page side's encoding (tests and fixtures; the page has its own copy in ingest-frames.js). */
export function encodeIngestTag(tag: IngestTag): Buffer {
  const head = Buffer.alloc(INGEST_HEADER_BYTES);
  head[0] = tag.type;
  head.writeUInt32BE(tag.timestamp >>> 0, 1);
  return Buffer.concat([head, tag.body]);
}

/** How the page frames its media: one tag per message, or the byte stream of one WebM file. */
export type IngestFormat = 'tags' | 'webm';

export type PageMessage =
  { kind: 'hello'; key: string; format: IngestFormat; audio: boolean } | { kind: 'ping'; t: number };

/** A text message from the page; the reason never repeats what was sent (it may hold the key). */
export function decodePageMessage(text: string): Decoded<PageMessage> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'a text message must be JSON' };
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    return { ok: false, reason: 'a text message must be a JSON object' };
  const o = v as Record<string, unknown>;
  if ('key' in o) {
    if (typeof o.key !== 'string' || o.key.length === 0 || o.key.length > 256)
      return { ok: false, reason: 'the key must be a string of 1 to 256 characters' };
    const format = o.format ?? 'tags';
    if (format !== 'tags' && format !== 'webm')
      return { ok: false, reason: 'the format must be "tags" or "webm"' };
    const audio = o.audio ?? false;
    if (typeof audio !== 'boolean') return { ok: false, reason: 'audio must be true or false' };
    return { ok: true, value: { kind: 'hello', key: o.key, format, audio } };
  }
  if (o.type === 'ping' && typeof o.t === 'number' && Number.isFinite(o.t))
    return { ok: true, value: { kind: 'ping', t: o.t } };
  return { ok: false, reason: 'unknown text message' };
}

/** What the ingress sends the page (JSON text). */
export type ServerMessage =
  | { ok: true; name: string; audio: boolean }
  | { ok: false; code: string; message: string }
  | { type: 'pong'; t: number }
  | {
      type: 'stats';
      /** Bytes of media received in the last second, as kbit/s. */
      kbps: number;
      frames: number;
      /** Media time behind wall clock since the first tag, ms: growing means the uplink cannot keep up. */
      behindMs: number;
      live: boolean;
    }
  | { type: 'error'; code: string; message: string };
