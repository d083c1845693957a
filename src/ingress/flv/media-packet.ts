/**
 * What an FLV audio/video tag body carries, legacy (Adobe FLV annex E) or Enhanced RTMP (veovera
 * enhanced-rtmp v1/v2: the ex-video header with IsExHeader, PacketType and FourCC; the ex-audio header with
 * SoundFormat 9, AudioPacketType and FourCC; ModEx prefixes skipped). Pure.
 *
 * Every codec is named by its FourCC, legacy ones too (legacy AVC is 'avc1', legacy AAC 'mp4a', legacy MP3
 * '.mp3'), so "the codec of a track" is one string whatever form the publisher used.
 */
import { FLV_TAG_AUDIO, FLV_TAG_VIDEO, type FlvTag } from './flv-tag.js';

export type PacketKind =
  /** A decoder configuration (sequence header): CodecPrivate for the container. */
  | 'config'
  | 'frame'
  /** End of sequence: carries no media. */
  | 'end'
  /** Means nothing to a decoder (Enhanced RTMP Metadata, command frames, multichannel config). */
  | 'ignore'
  /** Enhanced RTMP multitrack: not taken. */
  | 'multitrack';

export interface MediaPacket {
  track: 'video' | 'audio';
  /** FourCC ('avc1', 'hvc1', 'av01', 'vp09', 'mp4a', 'Opus', '.mp3', …), or 'legacy:N' for other legacy ids. */
  codec: string;
  /** Whether the tag used the Enhanced RTMP header. */
  enhanced: boolean;
  kind: PacketKind;
  keyframe: boolean;
  /** Composition time offset in ms (pts - dts), for AVC/HEVC frames. */
  cts: number;
  /** The codec data: configuration record or frame bytes, without any FLV header. */
  payload: Buffer;
}

/** Enhanced RTMP PacketType values (video) and AudioPacketType values. */
const VIDEO_PACKET = {
  SequenceStart: 0,
  CodedFrames: 1,
  SequenceEnd: 2,
  CodedFramesX: 3,
  Multitrack: 6,
  ModEx: 7,
};
const AUDIO_PACKET = { SequenceStart: 0, CodedFrames: 1, SequenceEnd: 2, Multitrack: 5, ModEx: 7 };
const FRAME_TYPE_KEY = 1;
const FRAME_TYPE_COMMAND = 5;
const AUDIO_EX_HEADER = 9;

export class MalformedTagError extends Error {}

function need(data: Buffer, bytes: number, what: string): void {
  if (data.length < bytes) throw new MalformedTagError(`${what} truncated (${data.length} bytes)`);
}

/** Skips ModEx prefixes; returns [packetType, position after them]. */
function skipModEx(data: Buffer, packetType: number, pos: number, modEx: number): [number, number] {
  for (let guard = 0; packetType === modEx; guard++) {
    if (guard > 8) throw new MalformedTagError('too many ModEx prefixes');
    need(data, pos + 1, 'ModEx');
    let size = data[pos]! + 1;
    pos += 1;
    if (size === 256) {
      need(data, pos + 2, 'ModEx');
      size = data.readUInt16BE(pos) + 1;
      pos += 2;
    }
    need(data, pos + size + 1, 'ModEx');
    pos += size;
    packetType = data[pos]! & 0x0f;
    pos += 1;
  }
  return [packetType, pos];
}

function fourCcAt(data: Buffer, pos: number): string {
  need(data, pos + 4, 'FourCC');
  return data.toString('latin1', pos, pos + 4);
}

function si24(data: Buffer, pos: number): number {
  const v = data.readUIntBE(pos, 3);
  return v & 0x800000 ? v - 0x1000000 : v;
}

function video(data: Buffer): MediaPacket {
  const b0 = data[0]!;
  const frameType = (b0 >> 4) & 0x07;
  const keyframe = frameType === FRAME_TYPE_KEY;
  if ((b0 & 0x80) === 0) {
    const id = b0 & 0x0f;
    if (id !== 7) return { track: 'video', codec: `legacy:${id}`, enhanced: false, kind: 'frame', keyframe, cts: 0, payload: data.subarray(1) }; // prettier-ignore
    need(data, 5, 'AVC video tag');
    const kind = data[1] === 0 ? 'config' : data[1] === 1 ? 'frame' : data[1] === 2 ? 'end' : 'ignore';
    return { track: 'video', codec: 'avc1', enhanced: false, kind, keyframe, cts: si24(data, 2), payload: data.subarray(5) }; // prettier-ignore
  }
  const [packetType, pos] = skipModEx(data, b0 & 0x0f, 1, VIDEO_PACKET.ModEx);
  const base = { track: 'video' as const, enhanced: true, keyframe, cts: 0 };
  if (packetType === VIDEO_PACKET.Multitrack)
    return { ...base, codec: 'multitrack', kind: 'multitrack', payload: data.subarray(pos) };
  const codec = fourCcAt(data, pos);
  const body = pos + 4;
  if (frameType === FRAME_TYPE_COMMAND)
    return { ...base, codec, kind: 'ignore', payload: data.subarray(body) };
  switch (packetType) {
    case VIDEO_PACKET.SequenceStart:
      return { ...base, codec, kind: 'config', payload: data.subarray(body) };
    case VIDEO_PACKET.CodedFrames:
      // Only AVC and HEVC carry a composition time here (CodedFramesX is the same with 0).
      if (codec === 'avc1' || codec === 'hvc1') {
        need(data, body + 3, `'${codec}' CodedFrames`);
        return { ...base, codec, kind: 'frame', cts: si24(data, body), payload: data.subarray(body + 3) };
      }
      return { ...base, codec, kind: 'frame', payload: data.subarray(body) };
    case VIDEO_PACKET.CodedFramesX:
      return { ...base, codec, kind: 'frame', payload: data.subarray(body) };
    case VIDEO_PACKET.SequenceEnd:
      return { ...base, codec, kind: 'end', payload: data.subarray(body) };
    default:
      return { ...base, codec, kind: 'ignore', payload: data.subarray(body) };
  }
}

function audio(data: Buffer): MediaPacket {
  const b0 = data[0]!;
  const format = b0 >> 4;
  const base = { track: 'audio' as const, keyframe: true, cts: 0 };
  if (format !== AUDIO_EX_HEADER) {
    if (format === 10) {
      need(data, 2, 'AAC audio tag');
      const kind = data[1] === 0 ? 'config' : 'frame';
      return { ...base, codec: 'mp4a', enhanced: false, kind, payload: data.subarray(2) };
    }
    const codec = format === 2 || format === 14 ? '.mp3' : `legacy:${format}`;
    return { ...base, codec, enhanced: false, kind: 'frame', payload: data.subarray(1) };
  }
  const [packetType, pos] = skipModEx(data, b0 & 0x0f, 1, AUDIO_PACKET.ModEx);
  if (packetType === AUDIO_PACKET.Multitrack)
    return { ...base, codec: 'multitrack', enhanced: true, kind: 'multitrack', payload: data.subarray(pos) };
  const codec = fourCcAt(data, pos);
  const payload = data.subarray(pos + 4);
  const kind =
    packetType === AUDIO_PACKET.SequenceStart
      ? 'config'
      : packetType === AUDIO_PACKET.CodedFrames
        ? 'frame'
        : packetType === AUDIO_PACKET.SequenceEnd
          ? 'end'
          : 'ignore';
  return { ...base, codec, enhanced: true, kind, payload };
}

/** The packet an audio/video tag carries; undefined for script tags and empty bodies. Throws MalformedTagError. */
export function mediaPacket(tag: Pick<FlvTag, 'type' | 'data'>): MediaPacket | undefined {
  if (tag.data.length === 0) return undefined;
  if (tag.type === FLV_TAG_VIDEO) return video(tag.data);
  if (tag.type === FLV_TAG_AUDIO) return audio(tag.data);
  return undefined;
}

/** mediaPacket that returns undefined instead of throwing. */
export function tryMediaPacket(tag: Pick<FlvTag, 'type' | 'data'>): MediaPacket | undefined {
  try {
    return mediaPacket(tag);
  } catch {
    return undefined;
  }
}

/** Codecs legacy FLV carries to ffmpeg 5.1 as they are; anything else goes through Matroska. */
export function isLegacyCodec(p: Pick<MediaPacket, 'codec' | 'enhanced'>): boolean {
  return !p.enhanced && (p.codec === 'avc1' || p.codec === 'mp4a' || p.codec === '.mp3');
}
