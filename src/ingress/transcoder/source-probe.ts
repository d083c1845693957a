/**
 * Pure source probing from the first FLV tags of a publish: onMetaData (AMF0) and the AVC sequence
 * header's SPS. The transcoder needs the source height (to drop ladder rungs above it) and whether there
 * is audio/video (to plan ffmpeg outputs) before it can start ffmpeg.
 */
import {
  FLV_TAG_AUDIO,
  FLV_TAG_SCRIPT,
  FLV_TAG_VIDEO,
  isSequenceHeader,
  type FlvTag,
} from '../flv/flv-tag.js';

export interface SourceInfo {
  hasAudio: boolean;
  hasVideo: boolean;
  width?: number;
  height?: number;
  frameRate?: number;
  /** onMetaData `videodatarate` (kbit/s), as OBS and ffmpeg declare it. */
  videoBitrateKbps?: number;
}

export type AmfValue =
  number | boolean | string | null | undefined | AmfValue[] | { [key: string]: AmfValue };

class AmfReader {
  pos = 0;
  constructor(private readonly buf: Buffer) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  value(depth = 0): AmfValue {
    if (depth > 16) throw new RangeError('AMF0 nesting too deep');
    const marker = this.buf.readUInt8(this.pos++);
    switch (marker) {
      case 0x00: {
        const v = this.buf.readDoubleBE(this.pos);
        this.pos += 8;
        return v;
      }
      case 0x01:
        return this.buf.readUInt8(this.pos++) !== 0;
      case 0x02:
        return this.shortString();
      case 0x03:
        return this.properties(depth);
      case 0x05:
        return null;
      case 0x06:
        return undefined;
      case 0x08:
        this.pos += 4; // approximate count, the end marker is authoritative
        return this.properties(depth);
      case 0x0a: {
        const n = this.buf.readUInt32BE(this.pos);
        this.pos += 4;
        const out: AmfValue[] = [];
        for (let i = 0; i < n; i++) out.push(this.value(depth + 1));
        return out;
      }
      case 0x0b: {
        const ms = this.buf.readDoubleBE(this.pos);
        this.pos += 10;
        return ms;
      }
      case 0x0c: {
        const n = this.buf.readUInt32BE(this.pos);
        const s = this.buf.toString('utf8', this.pos + 4, this.pos + 4 + n);
        this.pos += 4 + n;
        return s;
      }
      default:
        throw new RangeError(`unsupported AMF0 marker ${marker}`);
    }
  }

  shortString(): string {
    const n = this.buf.readUInt16BE(this.pos);
    const s = this.buf.toString('utf8', this.pos + 2, this.pos + 2 + n);
    this.pos += 2 + n;
    return s;
  }

  private properties(depth: number): { [key: string]: AmfValue } {
    const out: { [key: string]: AmfValue } = {};
    for (;;) {
      const key = this.shortString();
      if (key === '' && this.buf.readUInt8(this.pos) === 0x09) {
        this.pos++;
        return out;
      }
      out[key] = this.value(depth + 1);
    }
  }
}

/** The AMF0 values of a script tag body, e.g. ["onMetaData", {width: 640, ...}]. Undefined if malformed. */
export function parseScriptData(data: Buffer): AmfValue[] | undefined {
  const r = new AmfReader(data);
  const out: AmfValue[] = [];
  try {
    while (!r.done) out.push(r.value());
  } catch {
    return out.length > 0 ? out : undefined;
  }
  return out;
}

/**
 * OBS and ffmpeg's RTMP muxer send `@setDataFrame, onMetaData, {...}`; a file tag is `onMetaData, {...}`.
 * Strips the leading @setDataFrame string so ffmpeg's FLV demuxer recognises the metadata.
 */
export function normalizeMetadata(data: Buffer): Buffer {
  const name = '@setDataFrame';
  if (data.length > 3 + name.length && data[0] === 0x02 && data.readUInt16BE(1) === name.length) {
    if (data.toString('latin1', 3, 3 + name.length) === name) return data.subarray(3 + name.length);
  }
  return data;
}

function metadataObject(data: Buffer): { [key: string]: AmfValue } | undefined {
  const values = parseScriptData(normalizeMetadata(data));
  if (!values || values[0] !== 'onMetaData') return undefined;
  const obj = values[1];
  return obj && typeof obj === 'object' && !Array.isArray(obj) ? obj : undefined;
}

class BitReader {
  private bit = 0;
  constructor(private readonly buf: Buffer) {}

  u(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) {
      const byte = this.buf[this.bit >> 3];
      if (byte === undefined) throw new RangeError('SPS truncated');
      v = v * 2 + ((byte >> (7 - (this.bit & 7))) & 1);
      this.bit++;
    }
    return v;
  }

  ue(): number {
    let zeros = 0;
    while (this.u(1) === 0) {
      if (++zeros > 31) throw new RangeError('bad exp-Golomb code');
    }
    return 2 ** zeros - 1 + this.u(zeros);
  }

  se(): number {
    const k = this.ue();
    return k % 2 === 1 ? (k + 1) / 2 : -k / 2;
  }
}

function unescapeRbsp(nal: Buffer): Buffer {
  const out = Buffer.allocUnsafe(nal.length);
  let n = 0;
  let zeros = 0;
  for (const byte of nal) {
    // 00 00 03 -> 00 00: drop the emulation prevention byte
    if (zeros >= 2 && byte === 3) {
      zeros = 0;
      continue;
    }
    out[n++] = byte;
    zeros = byte === 0 ? zeros + 1 : 0;
  }
  return out.subarray(0, n);
}

const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

/** Coded size minus cropping, from an H.264 SPS NAL unit (with its 1-byte NAL header). */
export function parseSpsDimensions(sps: Buffer): { width: number; height: number } | undefined {
  try {
    const r = new BitReader(unescapeRbsp(sps));
    r.u(8); // NAL header
    const profile = r.u(8);
    r.u(16); // constraint flags, level
    r.ue(); // seq_parameter_set_id
    let chroma = 1;
    if (HIGH_PROFILES.has(profile)) {
      chroma = r.ue();
      if (chroma === 3) r.u(1);
      r.ue();
      r.ue();
      r.u(1);
      if (r.u(1)) {
        for (let i = 0; i < (chroma !== 3 ? 8 : 12); i++) {
          if (!r.u(1)) continue;
          let last = 8;
          let next = 8;
          for (let j = 0; j < (i < 6 ? 16 : 64); j++) {
            if (next !== 0) next = (last + r.se() + 256) % 256;
            last = next === 0 ? last : next;
          }
        }
      }
    }
    r.ue(); // log2_max_frame_num_minus4
    const pocType = r.ue();
    if (pocType === 0) r.ue();
    else if (pocType === 1) {
      r.u(1);
      r.se();
      r.se();
      const n = r.ue();
      for (let i = 0; i < n; i++) r.se();
    }
    r.ue(); // max_num_ref_frames
    r.u(1);
    const widthMbs = r.ue() + 1;
    const heightMapUnits = r.ue() + 1;
    const frameMbsOnly = r.u(1);
    if (!frameMbsOnly) r.u(1);
    r.u(1);
    let [cl, cr, ct, cb] = [0, 0, 0, 0];
    if (r.u(1)) [cl, cr, ct, cb] = [r.ue(), r.ue(), r.ue(), r.ue()];
    const cropX = chroma === 0 || chroma === 3 ? 1 : 2;
    const cropY = (chroma === 1 ? 2 : 1) * (2 - frameMbsOnly);
    const width = widthMbs * 16 - cropX * (cl + cr);
    const height = (2 - frameMbsOnly) * heightMapUnits * 16 - cropY * (ct + cb);
    return width > 0 && height > 0 ? { width, height } : undefined;
  } catch {
    return undefined;
  }
}

/** The first SPS of an FLV AVC sequence header tag body (FrameType/CodecID, AVCPacketType, CTS, record). */
export function spsFromAvcSequenceHeader(data: Buffer): Buffer | undefined {
  if (data.length < 5 + 8 || (data[0]! & 0x0f) !== 7 || data[1] !== 0) return undefined;
  const rec = data.subarray(5);
  const numSps = rec[5]! & 0x1f;
  if (numSps < 1) return undefined;
  const len = rec.readUInt16BE(6);
  if (8 + len > rec.length) return undefined;
  return rec.subarray(8, 8 + len);
}

/**
 * What the first tags of a publish say about the source. The SPS wins over metadata for the size
 * (metadata is whatever the encoder chose to write); a stream counts as having audio if metadata
 * announces an audio codec or an audio tag has been seen.
 */
export function probeSource(tags: readonly Pick<FlvTag, 'type' | 'data'>[]): SourceInfo {
  const info: SourceInfo = { hasAudio: false, hasVideo: false };
  for (const tag of tags) {
    if (tag.type === FLV_TAG_SCRIPT) {
      const meta = metadataObject(tag.data);
      if (!meta) continue;
      const num = (k: string): number | undefined => {
        const v = meta[k];
        return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : undefined;
      };
      info.width ??= num('width');
      info.height ??= num('height');
      info.frameRate ??= num('framerate') ?? num('videoframerate');
      const rate = num('videodatarate');
      if (rate !== undefined) info.videoBitrateKbps ??= rate;
      if (meta.audiocodecid !== undefined && meta.audiocodecid !== null) info.hasAudio = true;
      if (meta.videocodecid !== undefined && meta.videocodecid !== null) info.hasVideo = true;
    } else if (tag.type === FLV_TAG_AUDIO) {
      info.hasAudio = true;
    } else if (tag.type === FLV_TAG_VIDEO) {
      info.hasVideo = true;
      if (isSequenceHeader(tag)) {
        const sps = spsFromAvcSequenceHeader(tag.data);
        const dims = sps && parseSpsDimensions(sps);
        if (dims) {
          info.width = dims.width;
          info.height = dims.height;
        }
      }
    }
  }
  return info;
}
