// Browser-side decoder of the tiercast binary frames an edge pushes over the viewer WebSocket.
// Mirrors src/common/protocol/frames.ts (version 1, big-endian) but only the frame types a
// viewer receives: INIT_SEGMENT, MEDIA_CHUNK and HEARTBEAT. Pure: no DOM, no globals, so it can be
// tested in Node against the server-side encoder.
//
// Header (4 bytes):  'T' 'C'  version:u8  type:u8
// INIT_SEGMENT:      streamLen:u8 stream  rendLen:u8 rendition  payload (ftyp+moov)
// MEDIA_CHUNK:       streamLen:u8 stream  rendLen:u8 rendition  segment:u32 chunk:u16 flags:u8
//                    decodeTime:f64 duration:u32 ingressTime:f64 sentTime:f64  payload (moof+mdat)
// HEARTBEAT:         time:f64

export const PROTOCOL_VERSION = 1;
export const HEADER_BYTES = 4;

export const FrameType = Object.freeze({
  INIT_SEGMENT: 5,
  MEDIA_CHUNK: 6,
  HEARTBEAT: 7,
});

export const ChunkFlags = Object.freeze({
  KEYFRAME: 1,
  SEGMENT_START: 2,
  SEGMENT_END: 4,
  DISCONTINUITY: 8,
});

/** segment:u32 chunk:u16 flags:u8 decodeTime:f64 duration:u32 ingressTime:f64 sentTime:f64 */
const CHUNK_FIXED = 4 + 2 + 1 + 8 + 4 + 8 + 8;
const NAME_RE = /^[A-Za-z0-9_-]{1,64}$/;

/** Thrown for bytes that are not a frame this decoder understands; `code` is stable. */
export class FrameError extends Error {
  /**
   * @param {string} code e.g. PROTOCOL_MALFORMED_FRAME
   * @param {string} message
   */
  constructor(code, message) {
    super(message);
    this.name = 'FrameError';
    this.code = code;
  }
}

/**
 * @param {string} message
 * @returns {never}
 */
function fail(message) {
  throw new FrameError('PROTOCOL_MALFORMED_FRAME', message);
}

/**
 * @param {Uint8Array} bytes
 * @param {number} offset
 * @returns {[string, number]} the name and the offset after it
 */
function readName(bytes, offset) {
  if (offset >= bytes.length) fail('truncated name');
  const len = bytes[offset] ?? 0;
  const end = offset + 1 + len;
  if (end > bytes.length) fail('truncated name');
  // Names are ASCII by construction (NAME_RE), so a latin1 read is exact.
  let name = '';
  for (let i = offset + 1; i < end; i++) name += String.fromCharCode(bytes[i] ?? 0);
  if (!NAME_RE.test(name)) fail('invalid name');
  return [name, end];
}

// Views over an ArrayBuffer (what a WebSocket with binaryType 'arraybuffer' delivers), so a SourceBuffer
// takes them as they are.
/** @typedef {Uint8Array<ArrayBuffer>} Bytes */
/** @typedef {{ type: 'init', stream: string, rendition: string, data: Bytes }} InitFrame */
/**
 * @typedef {{ type: 'chunk', stream: string, rendition: string, segment: number, chunk: number, flags: number,
 *   decodeTime: number, duration: number, ingressTime: number, sentTime: number, payload: Bytes }} ChunkFrame
 */
/** @typedef {{ type: 'heartbeat', time: number }} HeartbeatFrame */
/** @typedef {InitFrame | ChunkFrame | HeartbeatFrame} ViewerFrame */

/**
 * Decodes one binary WebSocket message. Payloads are Uint8Array views into `buffer` (no copy).
 *
 * @param {ArrayBuffer | ArrayBufferView<ArrayBuffer>} buffer
 * @returns {ViewerFrame}
 */
export function decodeFrame(buffer) {
  const bytes = ArrayBuffer.isView(buffer)
    ? new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength)
    : new Uint8Array(buffer);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < HEADER_BYTES || bytes[0] !== 0x54 || bytes[1] !== 0x43) fail('bad magic');
  if (bytes[2] !== PROTOCOL_VERSION) {
    throw new FrameError(
      'PROTOCOL_VERSION_MISMATCH',
      `frame version ${bytes[2]}, this page speaks ${PROTOCOL_VERSION}`,
    );
  }
  const type = bytes[3];
  switch (type) {
    case FrameType.INIT_SEGMENT: {
      const [stream, o1] = readName(bytes, HEADER_BYTES);
      const [rendition, o2] = readName(bytes, o1);
      if (o2 >= bytes.length) fail('INIT_SEGMENT has no payload');
      return { type: 'init', stream, rendition, data: bytes.subarray(o2) };
    }
    case FrameType.MEDIA_CHUNK: {
      const [stream, o1] = readName(bytes, HEADER_BYTES);
      const [rendition, o2] = readName(bytes, o1);
      if (o2 + CHUNK_FIXED >= bytes.length) fail('MEDIA_CHUNK truncated');
      let o = o2;
      const segment = view.getUint32(o);
      const chunk = view.getUint16((o += 4));
      const flags = view.getUint8((o += 2));
      const decodeTime = view.getFloat64((o += 1));
      const duration = view.getUint32((o += 8));
      const ingressTime = view.getFloat64((o += 4));
      const sentTime = view.getFloat64((o += 8));
      o += 8;
      if (!Number.isFinite(decodeTime) || decodeTime < 0) fail('MEDIA_CHUNK decodeTime invalid');
      return {
        type: 'chunk',
        stream,
        rendition,
        segment,
        chunk,
        flags,
        decodeTime,
        duration,
        ingressTime,
        sentTime,
        payload: bytes.subarray(o),
      };
    }
    case FrameType.HEARTBEAT:
      if (bytes.length !== HEADER_BYTES + 8) fail('HEARTBEAT has a wrong length');
      return { type: 'heartbeat', time: view.getFloat64(HEADER_BYTES) };
    default:
      throw new FrameError('PROTOCOL_UNEXPECTED_FRAME', `frame type ${type} is not sent to viewers`);
  }
}

/** @param {number} flags @param {number} flag */
export function hasFlag(flags, flag) {
  return (flags & flag) !== 0;
}
