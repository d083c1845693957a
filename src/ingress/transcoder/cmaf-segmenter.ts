/**
 * Pure per-rendition state machine: top-level boxes of one ffmpeg output in, init segment and numbered
 * MediaChunks out.
 *
 * Timeline: every tfdt is shifted by `timeOffset` (rewritten in the moof bytes), so a restarted ffmpeg,
 * which starts again from 0, continues the stream's timeline. Segment n covers
 * [n * segmentDuration, (n + 1) * segmentDuration) of that continuous timeline.
 *
 * Segments and flags:
 * - video: a segment starts with a fragment that begins with a keyframe at or after the next boundary
 *   (ffmpeg forces keyframes exactly there); audio: with the first fragment starting in a new segment.
 * - SEGMENT_END is set on a chunk that reaches the next boundary (within half a frame), so the edge can
 *   close the segment without waiting for the next one. The chunk after a SEGMENT_END always starts a new
 *   segment, so the flag can be trusted; should a video fragment there lack a keyframe (not expected
 *   with forced keyframes), a warning is returned.
 * - Segment numbers only increase (never below `minSegment`), chunk indices restart at 0 per segment.
 * - `sourceKeyframes` (passthrough: the segment duration is the source's GOP): the video keyframes sit at
 *   the boundaries plus a constant phase (where ffmpeg put the source's first keyframe); boundaries are
 *   taken from that phase, so no chunk before the next keyframe closes a segment early.
 * - DISCONTINUITY marks the first chunk when `discontinuity` is set (first run after a restart).
 */
import { TiercastError } from '../../common/errors/index.js';
import { ChunkFlags, type MediaChunk } from '../../common/media.js';
import { readMoof, rewriteDecodeTime, type MoofInfo, type Mp4Box } from './fmp4-boxes.js';
import { readInitInfo, type InitInfo } from './init-info.js';

export interface SegmenterOptions {
  stream: string;
  rendition: string;
  segmentDurationMs: number;
  /** Seconds added to every decode time: where this ffmpeg run's time 0 sits on the stream timeline. */
  timeOffset: number;
  /** Lowest segment number this run may use: one past the previous run's last. */
  minSegment?: number;
  /** Set DISCONTINUITY on the first chunk. */
  discontinuity?: boolean;
  /** Video segments follow the source's keyframes (passthrough): boundaries shifted by their phase. */
  sourceKeyframes?: boolean;
  /**
   * Wall-clock ms at which ingress received the frame at this media time. The argument is in seconds on
   * this run's own timeline (ffmpeg's tfdt, before `timeOffset`).
   */
  ingressTimeOf: (runMediaTimeSeconds: number) => number;
  /** Clock for sentTime; Date.now by default. */
  now?: () => number;
}

export type SegmenterOutput =
  | { type: 'init'; data: Buffer; info: InitInfo }
  | { type: 'chunk'; chunk: MediaChunk; moof: MoofInfo }
  | { type: 'warning'; message: string };

/** Boxes that may precede a moof and belong to the chunk (segment type, producer time, events). */
const PREFIX_BOXES = new Set(['styp', 'prft', 'emsg', 'sidx', 'ssix', 'free', 'skip']);
const MAX_PREFIX_BYTES = 64 * 1024;

export class CmafSegmenter {
  private readonly opts: SegmenterOptions;
  private readonly now: () => number;
  private ftyp: Buffer | undefined;
  private initInfo: InitInfo | undefined;
  private offsetTicks = 0;
  private segTicks = 0;
  private prefix: Buffer[] = [];
  private prefixBytes = 0;
  private pendingMoof: { data: Buffer; info: MoofInfo; runDecodeTime: number } | undefined;
  private segment: number | undefined;
  /** floor(time / segmentDuration) of the current segment; `segment` = timeIndex + numberShift. */
  private timeIndex: number | undefined;
  private numberShift = 0;
  private chunkIndex = 0;
  private previousEnded = false;
  private chunks = 0;
  private lastEnd: number | undefined;
  /** Ticks after each boundary at which the source's keyframes sit (`sourceKeyframes` video only). */
  private phase = 0;

  constructor(opts: SegmenterOptions) {
    if (!(opts.segmentDurationMs > 0)) throw new RangeError('segmentDurationMs must be positive');
    if (!Number.isFinite(opts.timeOffset) || opts.timeOffset < 0)
      throw new RangeError('timeOffset must be >= 0');
    this.opts = opts;
    this.now = opts.now ?? Date.now;
  }

  get info(): InitInfo | undefined {
    return this.initInfo;
  }

  /** Last segment number used, if any chunk was emitted. */
  get lastSegment(): number | undefined {
    return this.segment;
  }

  /** End of the last emitted chunk in seconds on the stream timeline (0 if none). */
  get endTime(): number {
    return this.lastEnd === undefined || !this.initInfo ? 0 : this.lastEnd / this.initInfo.timescale;
  }

  get chunkCount(): number {
    return this.chunks;
  }

  /** Throws MP4_PARSE_ERROR on boxes out of order or unreadable. */
  push(box: Mp4Box): SegmenterOutput[] {
    switch (box.type) {
      case 'ftyp':
        this.ftyp = box.data;
        return [];
      case 'moov':
        return [this.onMoov(box.data)];
      case 'moof':
        this.onMoof(box.data);
        return [];
      case 'mdat':
        return this.onMdat(box.data);
      default:
        if (PREFIX_BOXES.has(box.type) && this.initInfo) {
          this.prefix.push(box.data);
          this.prefixBytes += box.data.length;
          if (this.prefixBytes > MAX_PREFIX_BYTES)
            throw this.error(`more than ${MAX_PREFIX_BYTES} bytes of boxes before a moof`);
        }
        // Anything else at top level (e.g. a trailing mfra) is not part of a live chunk.
        return [];
    }
  }

  private onMoov(moov: Buffer): SegmenterOutput {
    if (this.initInfo) throw this.error('second moov in one ffmpeg output');
    const data = this.ftyp ? Buffer.concat([this.ftyp, moov]) : moov;
    const info = readInitInfo(data, { stream: this.opts.stream, rendition: this.opts.rendition });
    this.initInfo = info;
    this.offsetTicks = Math.round(this.opts.timeOffset * info.timescale);
    this.segTicks = (this.opts.segmentDurationMs * info.timescale) / 1000;
    return { type: 'init', data, info };
  }

  private onMoof(data: Buffer): void {
    if (!this.initInfo) throw this.error('moof before the init segment');
    if (this.pendingMoof) throw this.error('two moofs without an mdat');
    const info = readMoof(data, this.initInfo);
    const rewritten = rewriteDecodeTime(data, this.offsetTicks);
    this.pendingMoof = {
      data: rewritten,
      info: { ...info, baseMediaDecodeTime: info.baseMediaDecodeTime + this.offsetTicks },
      runDecodeTime: info.baseMediaDecodeTime,
    };
  }

  private onMdat(mdat: Buffer): SegmenterOutput[] {
    const pending = this.pendingMoof;
    if (!pending || !this.initInfo) throw this.error('mdat without a moof');
    this.pendingMoof = undefined;
    const prefix = this.prefix;
    this.prefix = [];
    this.prefixBytes = 0;
    const { info } = pending;
    const out: SegmenterOutput[] = [];
    const isVideo = this.initInfo.kind === 'video';
    const start = info.baseMediaDecodeTime;
    const end = start + info.duration;
    const halfFrame = info.sampleCount > 0 ? info.duration / info.sampleCount / 2 : 0;
    if (this.timeIndex === undefined && isVideo && this.opts.sourceKeyframes && info.firstSampleIsSync)
      this.phase = start % this.segTicks;
    const candidate = Math.floor((start - this.phase + halfFrame) / this.segTicks);

    let newSegment: boolean;
    if (this.timeIndex === undefined) {
      if (isVideo && !info.firstSampleIsSync) {
        // Undecodable without the keyframe before it; ffmpeg always starts with one, so this is defensive.
        return [
          {
            type: 'warning',
            message: `dropped a video fragment before the first keyframe (seq ${info.sequenceNumber})`,
          },
        ];
      }
      newSegment = true;
    } else if (this.previousEnded) {
      newSegment = true;
      if (isVideo && !info.firstSampleIsSync) {
        const next = Math.max(candidate, this.timeIndex + 1) + this.numberShift;
        out.push({
          type: 'warning',
          message: `segment ${next} does not start with a keyframe (seq ${info.sequenceNumber})`,
        });
      }
    } else {
      newSegment = candidate > this.timeIndex && (!isVideo || info.firstSampleIsSync);
    }

    let timeIndex: number;
    if (this.timeIndex === undefined) {
      // Numbers follow time; only if the caller demands higher ones (minSegment) are they shifted.
      this.numberShift = Math.max(0, (this.opts.minSegment ?? 0) - candidate);
      timeIndex = candidate;
    } else {
      timeIndex = newSegment ? Math.max(candidate, this.timeIndex + 1) : this.timeIndex;
    }
    this.timeIndex = timeIndex;
    this.chunkIndex = newSegment ? 0 : this.chunkIndex + 1;
    const segment = timeIndex + this.numberShift;
    this.segment = segment;
    const nextBoundary = (timeIndex + 1) * this.segTicks + this.phase;
    const ends = end + halfFrame >= nextBoundary;
    this.previousEnded = ends;

    let flags = 0;
    if (info.firstSampleIsSync) flags |= ChunkFlags.KEYFRAME;
    if (newSegment) flags |= ChunkFlags.SEGMENT_START;
    if (ends) flags |= ChunkFlags.SEGMENT_END;
    if (this.chunks === 0 && this.opts.discontinuity) flags |= ChunkFlags.DISCONTINUITY;

    const chunk: MediaChunk = {
      stream: this.opts.stream,
      rendition: this.opts.rendition,
      segment,
      chunk: this.chunkIndex,
      flags,
      decodeTime: start,
      duration: info.duration,
      ingressTime: this.opts.ingressTimeOf(pending.runDecodeTime / this.initInfo.timescale),
      sentTime: this.now(),
      payload: Buffer.concat([...prefix, pending.data, mdat]),
    };
    this.chunks++;
    this.lastEnd = end;
    out.push({ type: 'chunk', chunk, moof: info });
    return out;
  }

  private error(message: string): TiercastError {
    return new TiercastError('MP4_PARSE_ERROR', message, {
      stream: this.opts.stream,
      rendition: this.opts.rendition,
    });
  }
}
