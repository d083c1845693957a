/**
 * A live Matroska writer: just enough of EBML/Matroska (RFC 8794, RFC 9559) for ffmpeg to read a stream
 * from a pipe. Pure: it returns bytes, the caller writes them.
 *
 * Layout: the EBML header, a Segment of unknown size, Info (timestamps in ms), Tracks (CodecPrivate from
 * the sequence headers), then one Cluster per frame. A Cluster per frame costs ~14 bytes but needs no
 * buffering (no added latency) and keeps every size known up front; the Cluster's timestamp is the FLV
 * (decode) timestamp and the SimpleBlock's relative timestamp the composition offset, so the block's
 * presentation time is dts + cts exactly as FLV gives it to ffmpeg. No SeekHead or Cues: a pipe cannot seek.
 */

export interface MkvTrack {
  number: number;
  type: 'video' | 'audio';
  /** Matroska CodecID, e.g. V_MPEGH/ISO/HEVC, A_OPUS. */
  codecId: string;
  codecPrivate?: Buffer;
  width?: number;
  height?: number;
  sampleRate?: number;
  channels?: number;
  /** Opus pre-skip, in ns (Matroska CodecDelay). */
  codecDelayNs?: number;
}

const ID = {
  EBML: 0x1a45dfa3,
  EBMLVersion: 0x4286,
  EBMLReadVersion: 0x42f7,
  EBMLMaxIDLength: 0x42f2,
  EBMLMaxSizeLength: 0x42f3,
  DocType: 0x4282,
  DocTypeVersion: 0x4287,
  DocTypeReadVersion: 0x4285,
  Segment: 0x18538067,
  Info: 0x1549a966,
  TimestampScale: 0x2ad7b1,
  MuxingApp: 0x4d80,
  WritingApp: 0x5741,
  Tracks: 0x1654ae6b,
  TrackEntry: 0xae,
  TrackNumber: 0xd7,
  TrackUID: 0x73c5,
  TrackType: 0x83,
  FlagLacing: 0x9c,
  CodecID: 0x86,
  CodecPrivate: 0x63a2,
  CodecDelay: 0x56aa,
  Video: 0xe0,
  PixelWidth: 0xb0,
  PixelHeight: 0xba,
  Audio: 0xe1,
  SamplingFrequency: 0xb5,
  Channels: 0x9f,
  Cluster: 0x1f43b675,
  Timestamp: 0xe7,
  SimpleBlock: 0xa3,
};

/** The "unknown size" marker: all value bits set in an 8-byte size. */
const UNKNOWN_SIZE = Buffer.from([0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

function idBytes(id: number): Buffer {
  const n = id > 0xffffff ? 4 : id > 0xffff ? 3 : id > 0xff ? 2 : 1;
  const b = Buffer.alloc(n);
  b.writeUIntBE(id, 0, n);
  return b;
}

/** EBML variable-size integer for an element size (the shortest form; 2^56-2 at most). */
export function vint(size: number): Buffer {
  for (let len = 1; len <= 8; len++) {
    // 2^(7*len) - 1 is reserved (all ones means unknown).
    if (size < 2 ** (7 * len) - 1) {
      const b = Buffer.alloc(len);
      let v = size;
      for (let i = len - 1; i >= 0; i--) {
        b[i] = v % 256;
        v = Math.floor(v / 256);
      }
      b[0]! |= 1 << (8 - len);
      return b;
    }
  }
  throw new RangeError(`EBML size ${size} too large`);
}

function element(id: number, body: Buffer | Buffer[]): Buffer {
  const data = Array.isArray(body) ? Buffer.concat(body) : body;
  return Buffer.concat([idBytes(id), vint(data.length), data]);
}

function uint(id: number, value: number): Buffer {
  let n = 1;
  while (n < 8 && value >= 2 ** (8 * n)) n++;
  const b = Buffer.alloc(n);
  let v = value;
  for (let i = n - 1; i >= 0; i--) {
    b[i] = v % 256;
    v = Math.floor(v / 256);
  }
  return element(id, b);
}

function float(id: number, value: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeDoubleBE(value);
  return element(id, b);
}

function str(id: number, value: string): Buffer {
  return element(id, Buffer.from(value, 'latin1'));
}

function trackEntry(t: MkvTrack): Buffer {
  const parts = [
    uint(ID.TrackNumber, t.number),
    uint(ID.TrackUID, t.number),
    uint(ID.TrackType, t.type === 'video' ? 1 : 2),
    uint(ID.FlagLacing, 0),
    str(ID.CodecID, t.codecId),
  ];
  if (t.codecPrivate && t.codecPrivate.length > 0) parts.push(element(ID.CodecPrivate, t.codecPrivate));
  if (t.codecDelayNs) parts.push(uint(ID.CodecDelay, t.codecDelayNs));
  if (t.type === 'video' && t.width && t.height)
    parts.push(element(ID.Video, [uint(ID.PixelWidth, t.width), uint(ID.PixelHeight, t.height)]));
  if (t.type === 'audio')
    parts.push(
      element(ID.Audio, [
        float(ID.SamplingFrequency, t.sampleRate ?? 48000),
        uint(ID.Channels, t.channels ?? 2),
      ]),
    );
  return element(ID.TrackEntry, parts);
}

/** EBML header, the opening of a Segment of unknown size, Info and Tracks. */
export function mkvHeader(tracks: readonly MkvTrack[]): Buffer {
  const ebml = element(ID.EBML, [
    uint(ID.EBMLVersion, 1),
    uint(ID.EBMLReadVersion, 1),
    uint(ID.EBMLMaxIDLength, 4),
    uint(ID.EBMLMaxSizeLength, 8),
    str(ID.DocType, 'matroska'),
    uint(ID.DocTypeVersion, 4),
    uint(ID.DocTypeReadVersion, 2),
  ]);
  const info = element(ID.Info, [
    uint(ID.TimestampScale, 1_000_000), // ms, as FLV
    str(ID.MuxingApp, 'tiercast'),
    str(ID.WritingApp, 'tiercast'),
  ]);
  return Buffer.concat([
    ebml,
    idBytes(ID.Segment),
    UNKNOWN_SIZE,
    info,
    element(ID.Tracks, tracks.map(trackEntry)),
  ]);
}

/**
 * One Cluster holding one SimpleBlock. `timestampMs` is the decode time (the Cluster's), `ctsMs` the
 * composition offset (the block's relative time, clamped to its 16 bits).
 */
export function mkvFrame(
  track: number,
  timestampMs: number,
  ctsMs: number,
  keyframe: boolean,
  data: Buffer,
): Buffer {
  const head = Buffer.alloc(4);
  head[0] = 0x80 | track; // track number as a 1-byte vint (tracks 1..126)
  head.writeInt16BE(Math.max(-32768, Math.min(32767, Math.round(ctsMs))), 1);
  head[3] = keyframe ? 0x80 : 0;
  const block = element(ID.SimpleBlock, [head, data]);
  return element(ID.Cluster, [uint(ID.Timestamp, Math.max(0, Math.trunc(timestampMs))), block]);
}
