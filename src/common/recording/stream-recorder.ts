/**
 * Records one broadcast of a stream (issue 15, ADR 0019) as a subscriber of its StreamRelay: it sees what
 * every viewer sees — the description, init segments, chunks in order, transcoder restarts as new epochs —
 * and hands whole objects to a WriteQueue, so the live path never waits for storage.
 *
 * Layout under `<stream>/<broadcast id>/` (the id sorts by start time: `20261201T173000Z-1a2b`):
 *   broadcast.json                 what was recorded: start, end, segment duration, and per epoch the
 *                                  renditions (RenditionInfo) and when it began
 *   <rendition>/init-<epoch>.mp4   the init segment of each epoch
 *   <rendition>/<segment>.m4s      a whole CMAF segment (its chunks' fragments, in order), 8-digit number
 *   <rendition>/index-<block>.json the timeline of segments block*64 … block*64+63: number, epoch, decode
 *                                  time, duration, wall-clock anchor (ingress time), and `partial` for a
 *                                  segment a restart or the end cut short
 *
 * Every object is written whole once it is complete (a segment at its last chunk), so a recorder killed
 * mid-broadcast leaves a recording that plays up to the last segment it finished.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '../logging/index.js';
import { ChunkFlags, SOURCE_RENDITION_ID, hasFlag, type RenditionInfo, type StreamInfo } from '../media.js';
import type { CachedChunk, CachedInit } from '../relay/rendition-cache.js';
import type { StreamSubscriber } from '../relay/stream-relay.js';
import type { WriteQueue } from '../storage/write-queue.js';

/** Which renditions are kept: every one, Source (or the top rung) only, or the top and the lowest rung. */
export type RecordedRenditions = 'all' | 'source' | 'top-and-lowest';

export const INDEX_BLOCK = 64;

export interface IndexEntry {
  segment: number;
  epoch: number;
  decodeTime: number;
  duration: number;
  /** Wall-clock ms at which the ingress received the segment's first frame. */
  ingressTime: number;
  partial?: true;
}

export interface BroadcastManifest {
  version: 1;
  stream: string;
  id: string;
  startedAt: number;
  endedAt?: number;
  endReason?: string;
  availabilityStartTime: number;
  segmentDurationMs: number;
  chunkDurationMs: number;
  epochs: Array<{ epoch: number; at: number; renditions: RenditionInfo[] }>;
}

interface OpenSegment {
  segment: number;
  epoch: number;
  decodeTime: number;
  duration: number;
  ingressTime: number;
  parts: Buffer[];
}

/** What a broadcast's start and end are reported as (to the hub, for its list of past broadcasts). */
export interface BroadcastStarted {
  id: string;
  stream: string;
  startedAt: number;
}
export interface BroadcastEnded extends BroadcastStarted {
  endedAt: number;
  /** Media recorded: the longest rendition's segments, end to end over the epochs. */
  durationMs: number;
  /** Bytes of media handed to storage. */
  bytes: number;
}

export interface StreamRecorderOptions {
  stream: string;
  queue: WriteQueue;
  renditions: RecordedRenditions;
  logger: Logger;
  now?: () => number;
  /** Called once the broadcast has a description (its first object is queued), and at its end. */
  events?: { started?(b: BroadcastStarted): void; ended?(b: BroadcastEnded): void };
}

/** A broadcast id as broadcastId makes it (older recordings have 4 hex digits at the end, newer 8). */
const BROADCAST_ID = /^\d{8}T\d{6}Z-[0-9a-f]{4,8}$/;

export function isBroadcastId(id: unknown): id is string {
  return typeof id === 'string' && BROADCAST_ID.test(id);
}

/** A clip's id: 12 hex digits. */
export function isClipId(id: unknown): id is string {
  return typeof id === 'string' && /^[0-9a-f]{12}$/.test(id);
}

export function clipId(): string {
  return randomBytes(6).toString('hex');
}

/** A sortable, unique broadcast id for a start time. */
export function broadcastId(startedAt: number): string {
  const t = new Date(startedAt)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${t}-${randomBytes(4).toString('hex')}`;
}

/** The renditions kept of a description (audio always). */
export function keptRenditions(renditions: readonly RenditionInfo[], which: RecordedRenditions): Set<string> {
  if (which === 'all') return new Set(renditions.map((r) => r.id));
  const video = renditions.filter((r) => r.kind === 'video').sort((a, b) => b.bandwidth - a.bandwidth);
  const keep = renditions.filter((r) => r.kind === 'audio').map((r) => r.id);
  const top = video.find((r) => r.id === SOURCE_RENDITION_ID) ?? video[0];
  if (top) keep.push(top.id);
  if (which === 'top-and-lowest' && video.length > 1) keep.push(video[video.length - 1]!.id);
  return new Set(keep);
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');

export class StreamRecorder implements StreamSubscriber {
  readonly id: string;
  private readonly base: string;
  private readonly now: () => number;
  private manifest: BroadcastManifest | undefined;
  private kept = new Set<string>();
  private readonly open = new Map<string, OpenSegment>();
  private readonly blocks = new Map<string, IndexEntry[]>();
  private ended = false;
  /** Segments handed to the queue (for the log line at the end). */
  segments = 0;
  /** Bytes of media handed to the queue. */
  bytes = 0;
  /** Seconds recorded per rendition (for the duration at the end). */
  private readonly seconds = new Map<string, number>();
  private timescales = new Map<string, number>();
  private lastThumbnailAt = -Infinity;

  constructor(private readonly opts: StreamRecorderOptions) {
    this.now = opts.now ?? Date.now;
    this.id = broadcastId(this.now());
    this.base = `${opts.stream}/${this.id}`;
  }

  onInfo(info: StreamInfo): void {
    if (this.ended) return;
    this.kept = keptRenditions(info.renditions, this.opts.renditions);
    const renditions = info.renditions.filter((r) => this.kept.has(r.id));
    this.timescales = new Map(renditions.map((r) => [r.id, r.timescale]));
    const starting = !this.manifest;
    if (!this.manifest) {
      this.manifest = {
        version: 1,
        stream: this.opts.stream,
        id: this.id,
        startedAt: this.now(),
        availabilityStartTime: info.availabilityStartTime,
        segmentDurationMs: info.segmentDurationMs,
        chunkDurationMs: info.chunkDurationMs,
        epochs: [],
      };
    }
    if (this.manifest.epochs.at(-1)?.epoch !== info.epoch)
      this.manifest.epochs.push({ epoch: info.epoch, at: this.now(), renditions });
    // A restart cuts what was open: each part is kept as a (partial) segment of the epoch it belonged to.
    for (const id of [...this.open.keys()]) this.finish(id, true);
    this.writeManifest();
    if (starting)
      this.opts.events?.started?.({
        id: this.id,
        stream: this.opts.stream,
        startedAt: this.manifest.startedAt,
      });
  }

  /** A still of the stream (from the thumbnailer): the broadcast's picture, refreshed at most once a minute. */
  onThumbnail(jpeg: Buffer): void {
    if (this.ended || !this.manifest || this.now() - this.lastThumbnailAt < 60_000) return;
    this.lastThumbnailAt = this.now();
    this.opts.queue.enqueue(`${this.base}/thumbnail.jpg`, jpeg, 'image/jpeg');
  }

  onInit(rendition: string, init: CachedInit): void {
    if (this.ended || !this.manifest || !this.kept.has(rendition)) return;
    const epoch = this.manifest.epochs.at(-1)!.epoch;
    this.opts.queue.enqueue(`${this.base}/${rendition}/init-${epoch}.mp4`, init.data, 'video/mp4');
  }

  onChunk(c: CachedChunk): void {
    const m = c.meta;
    if (this.ended || !this.manifest || !this.kept.has(m.rendition)) return;
    let seg = this.open.get(m.rendition);
    if (seg && seg.segment !== m.segment) {
      this.finish(m.rendition, true);
      seg = undefined;
    }
    if (!seg) {
      // A segment is recorded from its first chunk: one joined mid-way (the recorder came late) is skipped.
      if (m.chunk !== 0) return;
      seg = {
        segment: m.segment,
        epoch: this.manifest.epochs.at(-1)!.epoch,
        decodeTime: m.decodeTime,
        duration: 0,
        ingressTime: m.ingressTime,
        parts: [],
      };
      this.open.set(m.rendition, seg);
    }
    seg.parts.push(m.payload);
    seg.duration += m.duration;
    if (hasFlag(m, ChunkFlags.SEGMENT_END)) this.finish(m.rendition, false);
  }

  onEnd(reason: string): void {
    if (this.ended) return;
    for (const id of [...this.open.keys()]) this.finish(id, true);
    this.ended = true;
    if (!this.manifest) return;
    this.manifest.endedAt = this.now();
    this.manifest.endReason = reason.slice(0, 200);
    this.writeManifest();
    this.opts.events?.ended?.({
      id: this.id,
      stream: this.opts.stream,
      startedAt: this.manifest.startedAt,
      endedAt: this.manifest.endedAt,
      durationMs: Math.round(Math.max(0, ...this.seconds.values()) * 1000),
      bytes: this.bytes,
    });
    this.opts.logger.info(
      { stream: this.opts.stream, broadcast: this.id, segments: this.segments },
      'recording ended',
    );
  }

  private finish(rendition: string, partial: boolean): void {
    const seg = this.open.get(rendition);
    if (!seg) return;
    this.open.delete(rendition);
    if (seg.parts.length === 0) return;
    const q = this.opts.queue;
    const data = Buffer.concat(seg.parts);
    q.enqueue(`${this.base}/${rendition}/${pad(seg.segment, 8)}.m4s`, data, 'video/iso.segment');
    this.segments++;
    this.bytes += data.length;
    const ts = this.timescales.get(rendition);
    if (ts) this.seconds.set(rendition, (this.seconds.get(rendition) ?? 0) + seg.duration / ts);
    const block = Math.floor(seg.segment / INDEX_BLOCK);
    const key = `${rendition}/index-${pad(block, 6)}`;
    let entries = this.blocks.get(key);
    if (!entries) {
      entries = [];
      this.blocks.set(key, entries);
      // Only the block being written is kept in memory.
      for (const k of this.blocks.keys())
        if (k !== key && k.startsWith(`${rendition}/`)) this.blocks.delete(k);
    }
    const entry: IndexEntry = {
      segment: seg.segment,
      epoch: seg.epoch,
      decodeTime: seg.decodeTime,
      duration: seg.duration,
      ingressTime: seg.ingressTime,
    };
    if (partial) entry.partial = true;
    entries.push(entry);
    q.enqueue(`${this.base}/${key}.json`, Buffer.from(JSON.stringify(entries)), 'application/json');
  }

  private writeManifest(): void {
    this.opts.queue.enqueue(
      `${this.base}/broadcast.json`,
      Buffer.from(JSON.stringify(this.manifest)),
      'application/json',
    );
  }
}
