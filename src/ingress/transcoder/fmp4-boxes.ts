/**
 * Pure ISO-BMFF helpers for the fragmented MP4 that ffmpeg writes to its output pipes:
 * a streaming top-level box splitter, a minimal `moof` reader and an in-place tfdt rewrite.
 * Only the fields the CMAF segmenter needs are read; anything else is passed through untouched.
 */
import { TiercastError } from '../../common/errors/index.js';

export interface Mp4Box {
  /** Four-character code, e.g. "moof". */
  type: string;
  /** The whole box, header included. */
  data: Buffer;
}

export interface BoxSplitterOptions {
  /**
   * Largest top-level box accepted. A 200 ms fragment of a 4.5 Mbit/s rendition is ~115 KB and a key
   * frame rarely exceeds 1 MB, so anything bigger means the byte stream is out of sync or corrupt and
   * buffering it would only grow memory.
   */
  maxBoxSize?: number;
  /** Added to MP4_PARSE_ERROR messages, e.g. the stream and rendition. */
  context?: Record<string, string | number | undefined>;
}

export const DEFAULT_MAX_BOX_SIZE = 16 * 1024 * 1024;

const FOURCC = /^[\x20-\x7e]{4}$/;

/** Streaming splitter: feed Buffers of any size, get back every top-level box completed so far. */
export class BoxSplitter {
  private readonly maxBoxSize: number;
  private readonly context: Record<string, string | number | undefined>;
  private parts: Buffer[] = [];
  private length = 0;
  private failed = false;

  constructor(opts: BoxSplitterOptions = {}) {
    this.maxBoxSize = opts.maxBoxSize ?? DEFAULT_MAX_BOX_SIZE;
    this.context = opts.context ?? {};
  }

  /** Bytes held while waiting for the rest of a box. */
  get buffered(): number {
    return this.length;
  }

  /** Throws MP4_PARSE_ERROR on a bad header; after that the splitter stays failed. */
  push(chunk: Buffer): Mp4Box[] {
    if (this.failed) throw this.error('box splitter used after a parse error');
    if (chunk.length > 0) {
      this.parts.push(chunk);
      this.length += chunk.length;
    }
    const out: Mp4Box[] = [];
    for (;;) {
      if (this.length < 8) break;
      const head = this.peek(16);
      const size32 = head.readUInt32BE(0);
      const type = head.toString('latin1', 4, 8);
      if (!FOURCC.test(type)) this.fail(`invalid box type ${JSON.stringify(type)}`);
      // "Extends to end of file" (size 0) cannot be delimited on a live pipe.
      if (size32 === 0) this.fail(`box ${type} has size 0 (to end of file), not supported on a stream`);
      if (size32 === 1 && this.length < 16) break;
      const size = size32 === 1 ? Number(head.readBigUInt64BE(8)) : size32;
      if (size < (size32 === 1 ? 16 : 8)) this.fail(`box ${type} has size ${size}, smaller than its header`);
      if (size > this.maxBoxSize)
        this.fail(`box ${type} of ${size} bytes exceeds the ${this.maxBoxSize}-byte limit`);
      if (this.length < size) break;
      out.push({ type, data: this.take(size) });
    }
    return out;
  }

  /** Drops buffered bytes (e.g. when the producer restarts). */
  reset(): void {
    this.parts = [];
    this.length = 0;
    this.failed = false;
  }

  private peek(n: number): Buffer {
    const first = this.parts[0]!;
    if (first.length >= n || this.parts.length === 1) return first;
    return Buffer.concat(this.parts, Math.min(n, this.length));
  }

  private take(n: number): Buffer {
    let out: Buffer;
    const first = this.parts[0]!;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.parts.shift();
      else this.parts[0] = first.subarray(n);
    } else {
      // Copy exactly once, when the whole box has arrived.
      out = Buffer.allocUnsafe(n);
      let filled = 0;
      while (filled < n) {
        const p = this.parts[0]!;
        const want = n - filled;
        if (p.length <= want) {
          p.copy(out, filled);
          filled += p.length;
          this.parts.shift();
        } else {
          p.copy(out, filled, 0, want);
          this.parts[0] = p.subarray(want);
          filled += want;
        }
      }
    }
    this.length -= n;
    return out;
  }

  private fail(message: string): never {
    this.failed = true;
    this.parts = [];
    this.length = 0;
    throw this.error(message);
  }

  private error(message: string): TiercastError {
    return new TiercastError('MP4_PARSE_ERROR', message, this.context);
  }
}

/** One complete box (or a run of sibling boxes) in a buffer, located by offset. */
interface BoxRef {
  type: string;
  start: number;
  /** Offset of the payload (after size/type/largesize). */
  body: number;
  end: number;
}

function* childBoxes(buf: Buffer, start: number, end: number): Generator<BoxRef> {
  let pos = start;
  while (pos + 8 <= end) {
    const size32 = buf.readUInt32BE(pos);
    const type = buf.toString('latin1', pos + 4, pos + 8);
    let size = size32;
    let header = 8;
    if (size32 === 1) {
      if (pos + 16 > end) break;
      size = Number(buf.readBigUInt64BE(pos + 8));
      header = 16;
    } else if (size32 === 0) {
      size = end - pos;
    }
    if (size < header || pos + size > end) {
      throw new TiercastError(
        'MP4_PARSE_ERROR',
        `child box ${JSON.stringify(type)} at ${pos} overruns its parent`,
      );
    }
    yield { type, start: pos, body: pos + header, end: pos + size };
    pos += size;
  }
}

function findChild(buf: Buffer, parent: BoxRef, type: string): BoxRef | undefined {
  for (const b of childBoxes(buf, parent.body, parent.end)) if (b.type === type) return b;
  return undefined;
}

function topBox(buf: Buffer, type: string): BoxRef {
  const [first] = childBoxes(buf, 0, buf.length);
  if (!first || first.type !== type) {
    throw new TiercastError(
      'MP4_PARSE_ERROR',
      `expected a ${type} box, got ${first ? first.type : 'nothing'}`,
    );
  }
  return first;
}

// ISO/IEC 14496-12 sample flags: bit 16 is sample_is_non_sync_sample.
const SAMPLE_IS_NON_SYNC = 0x00010000;

export function isSyncSampleFlags(flags: number): boolean {
  return (flags & SAMPLE_IS_NON_SYNC) === 0;
}

/** Per-track defaults from the init segment's trex, used when a moof carries none. */
export interface TrackDefaults {
  defaultSampleDuration?: number;
  defaultSampleFlags?: number;
}

export interface MoofInfo {
  sequenceNumber: number;
  trackId: number;
  /** tfdt baseMediaDecodeTime in the track timescale. */
  baseMediaDecodeTime: number;
  tfdtVersion: 0 | 1;
  sampleCount: number;
  /** Sum of sample durations in the track timescale. */
  duration: number;
  /** Whether the fragment's first sample is a sync sample (undefined if no flags anywhere say so). */
  firstSampleIsSync: boolean;
}

/** Reads the first traf of a moof (ffmpeg writes one track per output). */
export function readMoof(moof: Buffer, defaults: TrackDefaults = {}): MoofInfo {
  const root = topBox(moof, 'moof');
  const mfhd = findChild(moof, root, 'mfhd');
  const traf = findChild(moof, root, 'traf');
  if (!mfhd || !traf) throw new TiercastError('MP4_PARSE_ERROR', 'moof without mfhd or traf');
  const sequenceNumber = moof.readUInt32BE(mfhd.body + 4);

  const tfhd = findChild(moof, traf, 'tfhd');
  if (!tfhd) throw new TiercastError('MP4_PARSE_ERROR', 'traf without tfhd');
  const tfhdFlags = moof.readUInt32BE(tfhd.body) & 0xffffff;
  const trackId = moof.readUInt32BE(tfhd.body + 4);
  let p = tfhd.body + 8;
  if (tfhdFlags & 0x01) p += 8; // base_data_offset
  if (tfhdFlags & 0x02) p += 4; // sample_description_index
  let defaultDuration = defaults.defaultSampleDuration;
  let defaultFlags = defaults.defaultSampleFlags;
  if (tfhdFlags & 0x08) {
    defaultDuration = moof.readUInt32BE(p);
    p += 4;
  }
  if (tfhdFlags & 0x10) p += 4; // default_sample_size
  if (tfhdFlags & 0x20) defaultFlags = moof.readUInt32BE(p);

  const tfdt = findChild(moof, traf, 'tfdt');
  if (!tfdt) throw new TiercastError('MP4_PARSE_ERROR', 'traf without tfdt', { trackId });
  const tfdtVersion = moof.readUInt8(tfdt.body) === 1 ? 1 : 0;
  const baseMediaDecodeTime =
    tfdtVersion === 1 ? Number(moof.readBigUInt64BE(tfdt.body + 4)) : moof.readUInt32BE(tfdt.body + 4);

  let sampleCount = 0;
  let duration = 0;
  let firstFlags: number | undefined;
  for (const box of childBoxes(moof, traf.body, traf.end)) {
    if (box.type !== 'trun') continue;
    const trunFlags = moof.readUInt32BE(box.body) & 0xffffff;
    const count = moof.readUInt32BE(box.body + 4);
    let q = box.body + 8;
    if (trunFlags & 0x01) q += 4; // data_offset
    let firstSampleFlags: number | undefined;
    if (trunFlags & 0x04) {
      firstSampleFlags = moof.readUInt32BE(q);
      q += 4;
    }
    const perSample =
      ((trunFlags & 0x100) !== 0 ? 4 : 0) +
      ((trunFlags & 0x200) !== 0 ? 4 : 0) +
      ((trunFlags & 0x400) !== 0 ? 4 : 0) +
      ((trunFlags & 0x800) !== 0 ? 4 : 0);
    if (q + perSample * count > box.end)
      throw new TiercastError('MP4_PARSE_ERROR', 'trun sample table overruns its box', { trackId });
    for (let i = 0; i < count; i++) {
      let sampleDuration = defaultDuration;
      let sampleFlags = i === 0 && firstSampleFlags !== undefined ? firstSampleFlags : defaultFlags;
      if (trunFlags & 0x100) {
        sampleDuration = moof.readUInt32BE(q);
        q += 4;
      }
      if (trunFlags & 0x200) q += 4;
      if (trunFlags & 0x400) {
        const f = moof.readUInt32BE(q);
        q += 4;
        if (!(i === 0 && firstSampleFlags !== undefined)) sampleFlags = f;
      }
      if (trunFlags & 0x800) q += 4;
      if (sampleDuration === undefined) {
        throw new TiercastError(
          'MP4_PARSE_ERROR',
          'sample without a duration (no trun, tfhd or trex default)',
          { trackId },
        );
      }
      duration += sampleDuration;
      if (sampleCount === 0 && i === 0) firstFlags = sampleFlags;
    }
    sampleCount += count;
  }
  // No flags anywhere: every sample is a sync sample (ISO/IEC 14496-12 8.8.3.1 leaves it to trex; audio).
  const firstSampleIsSync = firstFlags === undefined ? true : isSyncSampleFlags(firstFlags);
  return {
    sequenceNumber,
    trackId,
    baseMediaDecodeTime,
    tfdtVersion,
    sampleCount,
    duration,
    firstSampleIsSync,
  };
}

/**
 * Adds `offset` ticks to the moof's tfdt. Version 1 (64-bit, what ffmpeg writes) is rewritten in place and
 * the same buffer is returned. A version 0 tfdt is rewritten in place if the sum still fits in 32 bits;
 * otherwise the box is upgraded to version 1 in a new buffer, growing moof/traf/tfdt by 4 bytes and moving
 * every trun data_offset by 4 (the mdat that follows moves by 4 too), so callers must use the return value.
 */
export function rewriteDecodeTime(moof: Buffer, offset: number): Buffer {
  if (!Number.isSafeInteger(offset))
    throw new TiercastError('MP4_PARSE_ERROR', `decode time offset ${offset} is not an integer`);
  if (offset === 0) return moof;
  const root = topBox(moof, 'moof');
  const traf = findChild(moof, root, 'traf');
  const tfdt = traf && findChild(moof, traf, 'tfdt');
  if (!traf || !tfdt) throw new TiercastError('MP4_PARSE_ERROR', 'moof without traf/tfdt');
  const version = moof.readUInt8(tfdt.body);
  const current =
    version === 1 ? Number(moof.readBigUInt64BE(tfdt.body + 4)) : moof.readUInt32BE(tfdt.body + 4);
  const next = current + offset;
  if (next < 0 || !Number.isSafeInteger(next))
    throw new TiercastError('MP4_PARSE_ERROR', `rewritten decode time ${next} out of range`);
  if (version === 1) {
    moof.writeBigUInt64BE(BigInt(next), tfdt.body + 4);
    return moof;
  }
  if (next <= 0xffffffff) {
    moof.writeUInt32BE(next, tfdt.body + 4);
    return moof;
  }
  if (root.body - root.start !== 8 || traf.body - traf.start !== 8 || tfdt.body - tfdt.start !== 8) {
    throw new TiercastError('MP4_PARSE_ERROR', 'cannot upgrade a tfdt inside largesize boxes');
  }
  const grown = Buffer.alloc(moof.length + 4);
  moof.copy(grown, 0, 0, tfdt.body + 4);
  grown.writeBigUInt64BE(BigInt(next), tfdt.body + 4);
  moof.copy(grown, tfdt.body + 12, tfdt.end);
  grown.writeUInt32BE(moof.readUInt32BE(root.start) + 4, root.start);
  grown.writeUInt32BE(moof.readUInt32BE(traf.start) + 4, traf.start);
  grown.writeUInt32BE(moof.readUInt32BE(tfdt.start) + 4, tfdt.start);
  grown.writeUInt8(1, tfdt.body);
  const grownTraf: BoxRef = { type: 'traf', start: traf.start, body: traf.body, end: traf.end + 4 };
  for (const box of childBoxes(grown, grownTraf.body, grownTraf.end)) {
    if (box.type !== 'trun') continue;
    const trunFlags = grown.readUInt32BE(box.body) & 0xffffff;
    if (trunFlags & 0x01) grown.writeInt32BE(grown.readInt32BE(box.body + 8) + 4, box.body + 8);
  }
  return grown;
}
