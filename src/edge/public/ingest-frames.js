// The page side of the browser ingest's wire format (the ingress reads it in
// src/ingress/browser-ingest/ingest-protocol.ts; docs/architecture.md "Browser ingest"). Pure: no DOM, no
// globals, so Node tests check it against the server's decoder.
//
// Binary message:  type:u8 (8 audio, 9 video)  timestamp:u32 BE (ms)  FLV tag body
// Video: legacy AVC tags (the sequence header is WebCodecs' AVCDecoderConfigurationRecord; frames are the
// length-prefixed NALUs of `avc: {format: 'avc'}`). Audio: Enhanced RTMP ex-audio with FourCC 'Opus'
// (SequenceStart carries the OpusHead of RFC 7845).

export const TAG_AUDIO = 8;
export const TAG_VIDEO = 9;
const OPUS_FOURCC = [0x4f, 0x70, 0x75, 0x73];

/**
 * One binary message.
 * @param {8 | 9} type
 * @param {number} timestampMs
 * @param {Uint8Array} body
 * @returns {Uint8Array}
 */
export function encodeTag(type, timestampMs, body) {
  const out = new Uint8Array(5 + body.length);
  out[0] = type;
  new DataView(out.buffer).setUint32(1, Math.max(0, Math.round(timestampMs)) >>> 0);
  out.set(body, 5);
  return out;
}

/**
 * @param {number[]} head
 * @param {Uint8Array} payload
 */
function withHead(head, payload) {
  const out = new Uint8Array(head.length + payload.length);
  out.set(head, 0);
  out.set(payload, head.length);
  return out;
}

/**
 * The legacy AVC sequence header tag body (AVCPacketType 0).
 * @param {Uint8Array} avcDecoderConfigurationRecord
 */
export function avcSequenceHeader(avcDecoderConfigurationRecord) {
  return withHead([0x17, 0, 0, 0, 0], avcDecoderConfigurationRecord);
}

/**
 * A legacy AVC frame tag body (AVCPacketType 1); WebCodecs' realtime H.264 has no B-frames, so the
 * composition time is 0 unless given.
 * @param {boolean} key
 * @param {Uint8Array} nalus length-prefixed (4-byte) NAL units
 * @param {number} [compositionMs]
 */
export function avcFrame(key, nalus, compositionMs = 0) {
  const cts = Math.round(compositionMs) & 0xffffff;
  return withHead([key ? 0x17 : 0x27, 1, (cts >> 16) & 0xff, (cts >> 8) & 0xff, cts & 0xff], nalus);
}

/**
 * RFC 7845 identification header (mapping family 0: mono or stereo).
 * @param {number} channels
 * @param {number} sampleRate the input rate, for information
 * @param {number} [preSkip] samples at 48 kHz to drop at the start
 */
export function opusHead(channels, sampleRate, preSkip = 312) {
  const out = new Uint8Array(19);
  out.set([0x4f, 0x70, 0x75, 0x73, 0x48, 0x65, 0x61, 0x64], 0); // "OpusHead"
  const v = new DataView(out.buffer);
  out[8] = 1;
  out[9] = channels;
  v.setUint16(10, preSkip, true);
  v.setUint32(12, sampleRate, true);
  v.setInt16(16, 0, true);
  out[18] = 0;
  return out;
}

/**
 * Enhanced RTMP ex-audio SequenceStart (SoundFormat 9, AudioPacketType 0) for Opus.
 * @param {Uint8Array} head the OpusHead
 */
export function opusSequenceStart(head) {
  return withHead([0x90, ...OPUS_FOURCC], head);
}

/**
 * Enhanced RTMP ex-audio CodedFrames (AudioPacketType 1): one Opus packet.
 * @param {Uint8Array} packet
 */
export function opusFrame(packet) {
  return withHead([0x91, ...OPUS_FOURCC], packet);
}
