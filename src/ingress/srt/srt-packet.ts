/**
 * The few SRT packets the ingress's SRT front reads and writes itself: the caller-listener handshake (HSv5,
 * Haivision `docs/features/handshake.md`, draft-sharabayko-srt §3.2.1), the Stream ID extension, a
 * rejection, a SHUTDOWN. Pure encode/decode on Buffers; everything after the handshake is relayed to
 * ffmpeg's libsrt unread. A datagram that is not what it claims to be decodes to `undefined`: the front
 * drops it, it never throws on the wire's account.
 *
 * Layout: a 16-byte header (bit 0 = control; control type in bits 1-15; timestamp at 8; destination socket
 * id at 12), then for a handshake 48 bytes (version, encryption|extension flags, ISN, MSS, flow window,
 * handshake type, socket id, SYN cookie, peer IP) and extension blocks (type:u16, length in 32-bit words:u16).
 */
import { createHmac } from 'node:crypto';
import { isIPv4 } from 'node:net';

export const HEADER_BYTES = 16;
const HS_BYTES = 48;
export const HS_INDUCTION = 1;
export const HS_CONCLUSION = 0xffffffff;
const CTRL_HANDSHAKE = 0;
const CTRL_SHUTDOWN = 5;
/** The Listener's induction answer carries this in the extension field: "I speak HSv5". */
const SRT_MAGIC = 0x4a17;
const UDT_DGRAM = 2;
const EXT_HSREQ = 1;
const EXT_SID = 5;
/** Rejections travel as handshake type 1000 + reason (`URQ_FAILURE_TYPES`). */
const URQ_FAILURE_TYPES = 1000;
/** SRT allows a Stream ID of up to 512 characters. */
const MAX_STREAM_ID = 512;

/** Predefined access-control reject reasons (`SRT_REJX_*`, the SRT rejection-codes document). */
export const REJECT = {
  FORBIDDEN: 1403,
  OVERLOAD: 1402,
  CONFLICT: 1409,
  INTERNAL: 1500,
  DOWN: 1503,
} as const;

export interface Handshake {
  destId: number;
  version: number;
  extFlags: number;
  type: number;
  socketId: number;
  cookie: number;
  /** Extension blocks of a conclusion, in order. */
  extensions: { type: number; body: Buffer }[];
}

/** Decodes a handshake control packet; `undefined` for anything else or anything malformed. */
export function parseHandshake(pkt: Buffer): Handshake | undefined {
  if (pkt.length < HEADER_BYTES + HS_BYTES) return undefined;
  const first = pkt.readUInt16BE(0);
  if ((first & 0x8000) === 0 || (first & 0x7fff) !== CTRL_HANDSHAKE) return undefined;
  const hs = HEADER_BYTES;
  const extensions: Handshake['extensions'] = [];
  let p = hs + HS_BYTES;
  while (p + 4 <= pkt.length) {
    const type = pkt.readUInt16BE(p);
    const words = pkt.readUInt16BE(p + 2);
    if (p + 4 + words * 4 > pkt.length) return undefined;
    extensions.push({ type, body: pkt.subarray(p + 4, p + 4 + words * 4) });
    p += 4 + words * 4;
  }
  return {
    destId: pkt.readUInt32BE(12),
    version: pkt.readUInt32BE(hs),
    extFlags: pkt.readUInt16BE(hs + 6),
    type: pkt.readUInt32BE(hs + 20),
    socketId: pkt.readUInt32BE(hs + 24),
    cookie: pkt.readUInt32BE(hs + 28),
    extensions,
  };
}

/** An HSv5 conclusion as a caller sends it: version 5 and the HSREQ extension. */
export function isHsv5Conclusion(h: Handshake): boolean {
  return h.type === HS_CONCLUSION && h.version === 5 && h.extensions.some((e) => e.type === EXT_HSREQ);
}

/**
 * The Stream ID of a conclusion, or `undefined` if it has none or it is not text. On the wire the string is
 * padded with NULs to whole 32-bit words and each word's bytes are reversed ("STREAM" → `ERTS\0\0MA`).
 */
export function streamIdOf(h: Handshake): string | undefined {
  const ext = h.extensions.find((e) => e.type === EXT_SID);
  if (!ext || ext.body.length > MAX_STREAM_ID) return undefined;
  const b = Buffer.from(ext.body);
  for (let i = 0; i + 4 <= b.length; i += 4) b.subarray(i, i + 4).reverse();
  let end = b.length;
  while (end > 0 && b[end - 1] === 0) end--;
  const s = b.subarray(0, end).toString('utf8');
  return s.includes('\uFFFD') ? undefined : s;
}

/** Encodes a Stream ID block body (tests and callers' side of the codec). */
export function encodeStreamId(s: string): Buffer {
  const raw = Buffer.from(s, 'utf8');
  const b = Buffer.alloc(Math.ceil(raw.length / 4) * 4);
  raw.copy(b);
  for (let i = 0; i < b.length; i += 4) b.subarray(i, i + 4).reverse();
  return b;
}

/**
 * The stream key in a Stream ID: the whole string (what OBS and vMix send when the key is typed as the
 * `streamid`), or the `r` (resource) of the SRT access-control syntax `#!::r=KEY,m=publish`. A mode other
 * than publish (a player's `m=request`) has no key here: `undefined`, refused like a wrong key. Fields
 * other than `r` and `m` (`u` user, `s` session, `h` host, `t` type) are ignored.
 */
export function streamKeyFromStreamId(streamId: string): string | undefined {
  // Some callers (ffmpeg 5.1's URL `?streamid=%23%21%3A%3A…`) send the access-control form percent-encoded.
  let sid = streamId;
  if (/^%23(!|%21)/i.test(sid)) {
    try {
      sid = decodeURIComponent(sid);
    } catch {
      return undefined;
    }
  }
  if (!sid.startsWith('#!::')) return sid;
  const fields = new Map<string, string>();
  for (const part of sid.slice(4).split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1));
  }
  const mode = fields.get('m');
  if (mode !== undefined && mode !== 'publish') return undefined;
  return fields.get('r');
}

/**
 * A SYN cookie bound to the peer's address and port and the minute: a conclusion that echoes one proves the
 * caller receives at that address, so spoofed sources cannot get past the induction (and nothing is kept
 * per induction). `minute` defaults to now; the front accepts this minute's and the last one's.
 */
export function synCookie(secret: Buffer, address: string, port: number, minute: number): number {
  return createHmac('sha256', secret).update(`${address}|${port}|${minute}`).digest().readUInt32BE(0);
}

function header(controlType: number, timestamp: number, destId: number, bodyBytes: number): Buffer {
  const b = Buffer.alloc(HEADER_BYTES + bodyBytes);
  b.writeUInt16BE(0x8000 | controlType, 0);
  b.writeUInt32BE(timestamp >>> 0, 8);
  b.writeUInt32BE(destId >>> 0, 12);
  return b;
}

/** libsrt writes an IPv4 peer address as one 32-bit word in host (little-endian) order. */
function writePeerIp(b: Buffer, address: string): void {
  const o = HEADER_BYTES + 32;
  b.fill(0, o, o + 16);
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (isIPv4(v4)) {
    const parts = v4.split('.').map(Number);
    for (let i = 0; i < 4; i++) b[o + i] = parts[3 - i]!;
  }
}

/**
 * The Listener's answer to an induction: version 5, the SRT magic, our cookie and a socket id of our
 * choosing (the caller ignores it: the accepted socket's id comes with the conclusion answer).
 */
export function inductionResponse(
  req: Buffer,
  o: { cookie: number; listenerId: number; timestamp: number; peerAddress: string },
): Buffer {
  const callerId = req.readUInt32BE(HEADER_BYTES + 24);
  const b = header(CTRL_HANDSHAKE, o.timestamp, callerId, HS_BYTES);
  req.copy(b, HEADER_BYTES, HEADER_BYTES, HEADER_BYTES + HS_BYTES);
  b.writeUInt32BE(5, HEADER_BYTES);
  b.writeUInt16BE(0, HEADER_BYTES + 4);
  b.writeUInt16BE(SRT_MAGIC, HEADER_BYTES + 6);
  b.writeUInt32BE(HS_INDUCTION, HEADER_BYTES + 20);
  b.writeUInt32BE(o.listenerId >>> 0, HEADER_BYTES + 24);
  b.writeUInt32BE(o.cookie >>> 0, HEADER_BYTES + 28);
  writePeerIp(b, o.peerAddress);
  return b;
}

/**
 * The induction a caller would have sent, rebuilt from its conclusion: what the front sends to ffmpeg's
 * listener to learn ffmpeg's own cookie (and to know ffmpeg is listening).
 */
export function inductionRequestFrom(conclusion: Buffer, timestamp: number): Buffer {
  const b = header(CTRL_HANDSHAKE, timestamp, 0, HS_BYTES);
  conclusion.copy(b, HEADER_BYTES, HEADER_BYTES, HEADER_BYTES + HS_BYTES);
  b.writeUInt32BE(4, HEADER_BYTES);
  b.writeUInt16BE(0, HEADER_BYTES + 4);
  b.writeUInt16BE(UDT_DGRAM, HEADER_BYTES + 6);
  b.writeUInt32BE(HS_INDUCTION, HEADER_BYTES + 20);
  b.writeUInt32BE(0, HEADER_BYTES + 28);
  writePeerIp(b, '127.0.0.1');
  return b;
}

/**
 * The caller's conclusion made to fit ffmpeg's listener: ffmpeg's cookie in place of ours, ffmpeg's
 * listener id if the caller addressed ours, and the loopback address ffmpeg is reached at.
 */
export function conclusionForListener(
  conclusion: Buffer,
  o: { cookie: number; ourListenerId: number; theirListenerId: number },
): Buffer {
  const b = Buffer.from(conclusion);
  if (b.readUInt32BE(12) === o.ourListenerId >>> 0) b.writeUInt32BE(o.theirListenerId >>> 0, 12);
  b.writeUInt32BE(o.cookie >>> 0, HEADER_BYTES + 28);
  writePeerIp(b, '127.0.0.1');
  return b;
}

/** A rejection of a conclusion: handshake type 1000 + reason, no extensions; the caller gives up at once. */
export function rejection(conclusion: Buffer, reason: number, timestamp: number): Buffer {
  const callerId = conclusion.readUInt32BE(HEADER_BYTES + 24);
  const b = header(CTRL_HANDSHAKE, timestamp, callerId, HS_BYTES);
  conclusion.copy(b, HEADER_BYTES, HEADER_BYTES, HEADER_BYTES + HS_BYTES);
  b.writeUInt32BE(5, HEADER_BYTES);
  b.writeUInt32BE(0, HEADER_BYTES + 4);
  b.writeUInt32BE(URQ_FAILURE_TYPES + reason, HEADER_BYTES + 20);
  b.writeUInt32BE(0, HEADER_BYTES + 24);
  return b;
}

/** A SHUTDOWN to a connected caller (when the ingress ends its publish), so it notices at once. */
export function shutdown(destId: number, timestamp: number): Buffer {
  return header(CTRL_SHUTDOWN, timestamp, destId, 4);
}
