/**
 * A streaming Matroska/WebM reader (RFC 8794 EBML, RFC 9559 Matroska): bytes in, in pieces of any size
 * (a browser's MediaRecorder chunks), tracks and blocks out. Pure and bounded: it keeps at most one
 * element it needs whole (a block, Tracks, Info) and refuses anything larger than `maxElementBytes`.
 *
 * MediaRecorder writes a Segment and Clusters of unknown size and no Cues, so the reader does not nest:
 * it enters Segment and Cluster (whatever their size says) and reads their children as they come, which
 * works because Matroska's element IDs are unique across levels. Only the elements a live stream needs are
 * read (EBML header, Info's TimestampScale, Tracks, Cluster Timestamp, SimpleBlock, BlockGroup); the other
 * known Segment and Cluster children are skipped without being kept; an ID that is not one of them means
 * the bytes are not Matroska and is refused, as is a first element that is not the EBML header.
 *
 * Errors are TiercastErrors: BROWSER_INGEST_MALFORMED (not WebM, truncated structure, laced or encrypted
 * blocks), PAYLOAD_TOO_LARGE (an element above the cap), UNSUPPORTED_CODEC (a codec the ingress does not
 * take), each with words for the streamer.
 */
import { TiercastError } from '../../common/errors/index.js';

export interface MkvTrackInfo {
  number: number;
  type: 'video' | 'audio';
  /** FourCC as the ingress names codecs ('avc1', 'vp08', 'vp09', 'av01', 'Opus'). */
  codec: string;
  codecId: string;
  codecPrivate: Buffer | undefined;
  width?: number;
  height?: number;
  channels?: number;
  sampleRate?: number;
}

export type MkvEvent =
  | { kind: 'tracks'; video: MkvTrackInfo | undefined; audio: MkvTrackInfo | undefined }
  | { kind: 'block'; track: MkvTrackInfo; timeMs: number; keyframe: boolean; data: Buffer };

const ID = {
  EBML: 0x1a45dfa3,
  DocType: 0x4282,
  Segment: 0x18538067,
  SeekHead: 0x114d9b74,
  Info: 0x1549a966,
  TimestampScale: 0x2ad7b1,
  Tracks: 0x1654ae6b,
  TrackEntry: 0xae,
  TrackNumber: 0xd7,
  TrackType: 0x83,
  CodecID: 0x86,
  CodecPrivate: 0x63a2,
  ContentEncodings: 0x6d80,
  Video: 0xe0,
  PixelWidth: 0xb0,
  PixelHeight: 0xba,
  Audio: 0xe1,
  SamplingFrequency: 0xb5,
  Channels: 0x9f,
  Cues: 0x1c53bb6b,
  Tags: 0x1254c367,
  Chapters: 0x1043a770,
  Attachments: 0x1941a469,
  Cluster: 0x1f43b675,
  Timestamp: 0xe7,
  SilentTracks: 0x5854,
  Position: 0xa7,
  PrevSize: 0xab,
  SimpleBlock: 0xa3,
  BlockGroup: 0xa0,
  Block: 0xa1,
  ReferenceBlock: 0xfb,
  EncryptedBlock: 0xaf,
  Void: 0xec,
  CRC32: 0xbf,
};

/** Elements read whole and parsed. */
const READ = new Set([ID.EBML, ID.Info, ID.Tracks, ID.Timestamp, ID.SimpleBlock, ID.BlockGroup]);
/** Elements entered (their size, often unknown, is not used). */
const ENTER = new Set([ID.Segment, ID.Cluster]);
/** Known Segment/Cluster children a live stream does not need: skipped without being kept. */
const SKIP = new Set([
  ID.SeekHead,
  ID.Cues,
  ID.Tags,
  ID.Chapters,
  ID.Attachments,
  ID.SilentTracks,
  ID.Position,
  ID.PrevSize,
  ID.Void,
  ID.CRC32,
]);

const CODECS: Record<string, { type: 'video' | 'audio'; fourcc: string }> = {
  'V_MPEG4/ISO/AVC': { type: 'video', fourcc: 'avc1' },
  V_VP8: { type: 'video', fourcc: 'vp08' },
  V_VP9: { type: 'video', fourcc: 'vp09' },
  V_AV1: { type: 'video', fourcc: 'av01' },
  A_OPUS: { type: 'audio', fourcc: 'Opus' },
};
export const WEBM_CODECS_TEXT = 'H.264, VP8, VP9 or AV1 video with Opus audio';

/** Cap on a skipped element (a live stream's are tiny): more means the bytes are not what they claim. */
const MAX_SKIP_BYTES = 16 * 1024 * 1024;
/** Tracks, Info and the EBML header are small. */
const MAX_HEADER_ELEMENT_BYTES = 64 * 1024;

function malformed(message: string): TiercastError {
  return new TiercastError('BROWSER_INGEST_MALFORMED', `not a readable WebM stream: ${message}`);
}

/** An EBML variable-size integer at `pos`: its length and value (value undefined when all ones). */
function readVint(b: Buffer, pos: number, maxLen: number): { len: number; value: number | undefined } | null {
  if (pos >= b.length) return null;
  const first = b[pos]!;
  let len = 1;
  while (len <= 8 && (first & (0x80 >> (len - 1))) === 0) len++;
  if (len > maxLen) return { len: 0, value: undefined };
  if (pos + len > b.length) return null;
  let value = first & (0xff >> len);
  let allOnes = value === 0xff >> len;
  for (let i = 1; i < len; i++) {
    value = value * 256 + b[pos + i]!;
    if (b[pos + i] !== 0xff) allOnes = false;
  }
  return { len, value: allOnes ? undefined : value };
}

/** An element ID (kept with its length marker, as IDs are written) at `pos`. */
function readId(b: Buffer, pos: number): { len: number; id: number } | null {
  if (pos >= b.length) return null;
  const first = b[pos]!;
  const len = first >= 0x80 ? 1 : first >= 0x40 ? 2 : first >= 0x20 ? 3 : first >= 0x10 ? 4 : 0;
  if (len === 0) return { len: 0, id: first };
  if (pos + len > b.length) return null;
  return { len, id: b.readUIntBE(pos, len) };
}

function uintOf(b: Buffer): number {
  if (b.length === 0 || b.length > 7) return 0;
  return b.readUIntBE(0, b.length);
}

/** The children of a master element held whole: [id, body] pairs. */
function children(b: Buffer, what: string): Array<[number, Buffer]> {
  const out: Array<[number, Buffer]> = [];
  let pos = 0;
  while (pos < b.length) {
    const id = readId(b, pos);
    if (!id || id.len === 0) throw malformed(`bad element ID in ${what}`);
    const size = readVint(b, pos + id.len, 8);
    if (!size || size.len === 0 || size.value === undefined) throw malformed(`bad element size in ${what}`);
    const start = pos + id.len + size.len;
    if (start + size.value > b.length) throw malformed(`an element overruns ${what}`);
    out.push([id.id, b.subarray(start, start + size.value)]);
    pos = start + size.value;
  }
  return out;
}

function hex(id: number): string {
  return `0x${id.toString(16).toUpperCase()}`;
}

export interface MkvReaderLimits {
  /** The largest element kept whole (a block: one encoded frame). */
  maxElementBytes: number;
}

export class MkvReader {
  /** Unread bytes: `head` concatenated, plus chunks not yet joined (`tail`, `tailBytes`). */
  private head: Buffer = Buffer.alloc(0);
  private tail: Buffer[] = [];
  private tailBytes = 0;
  /** Bytes the next step needs before it can run. */
  private wanted = 1;
  private skipping = 0;
  private seenHeader = false;
  private scale = 1_000_000;
  private clusterTs: number | undefined;
  private video: MkvTrackInfo | undefined;
  private audio: MkvTrackInfo | undefined;
  private tracksSeen = false;

  constructor(private readonly limits: MkvReaderLimits) {}

  /** Bytes given but not yet read (buffered): at most an element header plus `maxElementBytes`. */
  get buffered(): number {
    return this.head.length + this.tailBytes;
  }

  /** Reads what the new bytes complete. Throws a TiercastError (see above); the reader is then unusable. */
  push(chunk: Buffer): MkvEvent[] {
    const events: MkvEvent[] = [];
    if (this.skipping > 0) {
      const n = Math.min(this.skipping, chunk.length);
      this.skipping -= n;
      chunk = chunk.subarray(n);
    }
    if (chunk.length === 0) return events;
    // A copy: the caller's bytes may be reused after this call (uWS's message buffers are).
    this.tail.push(Buffer.from(chunk));
    this.tailBytes += chunk.length;
    if (this.head.length + this.tailBytes < this.wanted) return events;
    this.head = Buffer.concat([this.head, ...this.tail]);
    this.tail = [];
    this.tailBytes = 0;
    let pos = 0;
    for (;;) {
      const step = this.step(this.head, pos, events);
      if (step === null) break;
      pos = step;
      if (this.skipping > 0) {
        const n = Math.min(this.skipping, this.head.length - pos);
        this.skipping -= n;
        pos += n;
        if (this.skipping > 0) break;
      }
    }
    this.head = pos >= this.head.length ? Buffer.alloc(0) : Buffer.from(this.head.subarray(pos));
    return events;
  }

  /** Reads one element header (and its body when complete); the new position, or null to wait. */
  private step(b: Buffer, pos: number, events: MkvEvent[]): number | null {
    const id = readId(b, pos);
    if (!id) return this.waitFor(b.length - pos + 1);
    if (id.len === 0) throw malformed(`byte ${hex(id.id)} cannot begin an element`);
    if (!this.seenHeader && id.id !== ID.EBML)
      throw malformed('it does not begin with an EBML header (is the page sending WebM?)');
    const size = readVint(b, pos + id.len, 8);
    if (!size) return this.waitFor(b.length - pos + 1);
    if (size.len === 0) throw malformed(`bad size of element ${hex(id.id)}`);
    const bodyAt = pos + id.len + size.len;
    if (ENTER.has(id.id)) {
      if (!this.seenHeader) throw malformed('a Segment before the EBML header');
      if (id.id === ID.Cluster) this.clusterTs = undefined;
      this.wanted = 1;
      return bodyAt;
    }
    if (id.id === ID.EBML && this.seenHeader) throw malformed('a second EBML header on the same connection');
    if (size.value === undefined) throw malformed(`element ${hex(id.id)} of unknown size`);
    if (SKIP.has(id.id)) {
      if (size.value > MAX_SKIP_BYTES) throw malformed(`element ${hex(id.id)} of ${size.value} bytes`);
      this.skipping = size.value;
      this.wanted = 1;
      return bodyAt;
    }
    if (!READ.has(id.id)) throw malformed(`unexpected element ${hex(id.id)}`);
    const media = id.id === ID.SimpleBlock || id.id === ID.BlockGroup;
    const cap = media ? this.limits.maxElementBytes : MAX_HEADER_ELEMENT_BYTES;
    if (size.value > cap)
      throw new TiercastError(
        'PAYLOAD_TOO_LARGE',
        media
          ? `a WebM block is at most ${cap} bytes (this one is ${size.value})`
          : `WebM element ${hex(id.id)} of ${size.value} bytes is too large`,
      );
    if (bodyAt + size.value > b.length) return this.waitFor(bodyAt - pos + size.value);
    this.wanted = 1;
    this.element(id.id, b.subarray(bodyAt, bodyAt + size.value), events);
    return bodyAt + size.value;
  }

  /** Waits until `bytes` bytes from the current element's start are here. */
  private waitFor(bytes: number): null {
    this.wanted = bytes;
    return null;
  }

  private element(id: number, body: Buffer, events: MkvEvent[]): void {
    switch (id) {
      case ID.EBML: {
        const doc = children(body, 'the EBML header').find(([i]) => i === ID.DocType)?.[1];
        const type = doc?.toString('latin1');
        if (type !== 'webm' && type !== 'matroska') throw malformed(`DocType '${type ?? ''}'`);
        this.seenHeader = true;
        return;
      }
      case ID.Info: {
        const scale = children(body, 'Info').find(([i]) => i === ID.TimestampScale)?.[1];
        if (scale) this.scale = uintOf(scale) || 1_000_000;
        return;
      }
      case ID.Tracks:
        return this.tracks(body, events);
      case ID.Timestamp:
        this.clusterTs = uintOf(body);
        return;
      case ID.SimpleBlock:
        return this.block(body, (body[3] ?? 0) & 0x80 ? true : false, events);
      case ID.BlockGroup: {
        const parts = children(body, 'a BlockGroup');
        const block = parts.find(([i]) => i === ID.Block)?.[1];
        if (!block) throw malformed('a BlockGroup without a Block');
        return this.block(block, !parts.some(([i]) => i === ID.ReferenceBlock), events);
      }
    }
  }

  private tracks(body: Buffer, events: MkvEvent[]): void {
    if (this.tracksSeen) throw malformed('Tracks twice');
    this.tracksSeen = true;
    for (const [id, entry] of children(body, 'Tracks')) {
      if (id !== ID.TrackEntry) continue;
      const fields = new Map(children(entry, 'a TrackEntry'));
      if (fields.has(ID.ContentEncodings))
        throw malformed('compressed or encrypted tracks (ContentEncodings) are not taken');
      const codecId = fields.get(ID.CodecID)?.toString('latin1') ?? '';
      const number = uintOf(fields.get(ID.TrackNumber) ?? Buffer.alloc(0));
      const type = uintOf(fields.get(ID.TrackType) ?? Buffer.alloc(0));
      if (type !== 1 && type !== 2) continue; // subtitles, metadata
      const codec = CODECS[codecId];
      if (!codec || codec.type !== (type === 1 ? 'video' : 'audio'))
        throw new TiercastError(
          'UNSUPPORTED_CODEC',
          `Unsupported codec ${codecId.replace(/[^\x20-\x7e]/g, '?').slice(0, 40)} in the WebM stream: send ${WEBM_CODECS_TEXT}`,
        );
      const track: MkvTrackInfo = {
        number,
        type: codec.type,
        codec: codec.fourcc,
        codecId,
        codecPrivate: fields.get(ID.CodecPrivate) ? Buffer.from(fields.get(ID.CodecPrivate)!) : undefined,
      };
      const v = fields.get(ID.Video);
      if (v) {
        const m = new Map(children(v, 'Video'));
        track.width = uintOf(m.get(ID.PixelWidth) ?? Buffer.alloc(0)) || undefined;
        track.height = uintOf(m.get(ID.PixelHeight) ?? Buffer.alloc(0)) || undefined;
      }
      const a = fields.get(ID.Audio);
      if (a) {
        const m = new Map(children(a, 'Audio'));
        const rate = m.get(ID.SamplingFrequency);
        if (rate?.length === 8) track.sampleRate = rate.readDoubleBE(0);
        else if (rate?.length === 4) track.sampleRate = rate.readFloatBE(0);
        track.channels = uintOf(m.get(ID.Channels) ?? Buffer.alloc(0)) || undefined;
      }
      if (track.type === 'video') this.video ??= track;
      else this.audio ??= track;
    }
    if (!this.video && !this.audio) throw malformed('no audio or video track');
    events.push({ kind: 'tracks', video: this.video, audio: this.audio });
  }

  private block(b: Buffer, keyframe: boolean, events: MkvEvent[]): void {
    if (!this.tracksSeen) throw malformed('a block before the Tracks');
    if (this.clusterTs === undefined) throw malformed('a block before its Cluster timestamp');
    const n = readVint(b, 0, 8);
    if (!n || n.len === 0 || n.value === undefined || b.length < n.len + 3)
      throw malformed('a truncated block');
    const flags = b[n.len + 2]!;
    if (flags & 0x06) throw malformed('laced blocks are not taken');
    const track =
      n.value === this.video?.number ? this.video : n.value === this.audio?.number ? this.audio : undefined;
    if (!track) return; // a track not taken (a second video, subtitles)
    const ticks = this.clusterTs + b.readInt16BE(n.len);
    events.push({
      kind: 'block',
      track,
      timeMs: (ticks * this.scale) / 1e6,
      keyframe,
      data: b.subarray(n.len + 3),
    });
  }
}
