/**
 * One stream at one node: its StreamInfo, a RenditionCache per rendition, and the subscribers it fans out
 * to (child relays, WebSocket viewers, HTTP requests waiting for a segment). Transport-free: subscribers
 * are an interface, implemented by the cluster server, the viewer sockets and the segment server.
 */
import { callSafely } from '../events/safe-emitter.js';
import type { Logger } from '../logging/index.js';
import { encodeInitSegment, encodeStreamEnd, encodeStreamStart } from '../protocol/index.js';
import type { MediaChunk, ResumePosition, StreamInfo } from '../media.js';
import { RenditionCache, type AddResult, type CachedChunk, type CachedInit } from './rendition-cache.js';

export interface StreamSubscriber {
  onInfo(info: StreamInfo, frame: Buffer): void;
  onInit(rendition: string, init: CachedInit): void;
  /**
   * `replay`: a cached chunk sent to bring a new subscriber up to date, not one arriving now. Its frame
   * still carries the time this node received it, so a relay restamps its own copy before sending it on.
   */
  onChunk(c: CachedChunk, replay?: boolean): void;
  onEnd(reason: string, code: string | undefined, frame: Buffer): void;
}

export type StreamState = 'pending' | 'live' | 'offline';

export class StreamRelay {
  info: StreamInfo | undefined;
  private infoFrame: Buffer | undefined;
  state: StreamState = 'pending';
  endReason: { reason: string; code: string | undefined } | undefined;
  readonly renditions = new Map<string, RenditionCache>();
  readonly subscribers = new Set<StreamSubscriber>();
  lastUsed = Date.now();
  /** Owned by a local publisher: never swept while pinned. */
  pinned = false;
  private waiters: Array<(info: StreamInfo | undefined) => void> = [];

  constructor(
    readonly name: string,
    private readonly maxSegments: number,
    private readonly logger: Logger,
  ) {}

  /**
   * The stream is (again) live with this description; a new epoch after a transcoder restart. The same
   * description again while live is a relay resubscribing to its parent (a reconnect, a failover) and goes no
   * further: a subscriber told "info" starts its renditions over at the next segment start, and every viewer
   * below would lose the rest of the segment in flight.
   */
  start(info: StreamInfo): void {
    const frame = encodeStreamStart(info);
    if (this.state === 'live' && this.infoFrame?.equals(frame)) return;
    if (this.info && this.info.availabilityStartTime !== info.availabilityStartTime) {
      // A new timeline (a new publish session): old positions mean nothing any more.
      for (const c of this.renditions.values()) c.clear();
    }
    const ids = new Set(info.renditions.map((r) => r.id));
    for (const id of [...this.renditions.keys()]) if (!ids.has(id)) this.renditions.delete(id);
    for (const id of ids)
      if (!this.renditions.has(id)) this.renditions.set(id, new RenditionCache(id, this.maxSegments));
    this.info = info;
    this.infoFrame = frame;
    this.state = 'live';
    this.endReason = undefined;
    for (const s of this.subscribers) this.safe(() => s.onInfo(info, this.infoFrame!));
    this.resolveWaiters(info);
  }

  setInit(rendition: string, data: Buffer, frame?: Buffer): void {
    const cache = this.renditions.get(rendition);
    if (!cache) {
      this.logger.warn({ stream: this.name, rendition }, 'init segment for an unknown rendition ignored');
      return;
    }
    const init: CachedInit = {
      data,
      frame: frame ?? encodeInitSegment({ stream: this.name, rendition, data }),
    };
    cache.init = init;
    for (const s of this.subscribers) this.safe(() => s.onInit(rendition, init));
  }

  /** Stores and fans out a chunk; a duplicate is neither stored nor forwarded. */
  push(meta: MediaChunk, frame: Buffer): AddResult | 'unknown-rendition' {
    const cache = this.renditions.get(meta.rendition);
    if (!cache) return 'unknown-rendition';
    const c: CachedChunk = { meta, frame };
    const r = cache.add(c);
    if (r === 'duplicate') return r;
    for (const s of this.subscribers) this.safe(() => s.onChunk(c));
    return r;
  }

  end(reason: string, code?: string): void {
    if (this.state === 'offline' && this.endReason?.reason === reason) return;
    this.state = 'offline';
    this.endReason = { reason, code };
    const frame = encodeStreamEnd(this.name, reason, code);
    for (const s of this.subscribers) this.safe(() => s.onEnd(reason, code, frame));
    this.resolveWaiters(undefined);
  }

  /**
   * Adds a subscriber and brings it up to date: info, init segments, then cached chunks from its resume
   * position (per rendition) or, without one, from the latest segment start common to all renditions.
   */
  attach(sub: StreamSubscriber, resume: ResumePosition[] = []): void {
    this.subscribers.add(sub);
    this.lastUsed = Date.now();
    if (this.state === 'offline' && this.endReason) {
      sub.onEnd(
        this.endReason.reason,
        this.endReason.code,
        encodeStreamEnd(this.name, this.endReason.reason, this.endReason.code),
      );
    }
    if (!this.info || !this.infoFrame || this.state !== 'live') return;
    sub.onInfo(this.info, this.infoFrame);
    for (const [id, cache] of this.renditions) if (cache.init) sub.onInit(id, cache.init);
    const start = this.commonStartSegment();
    for (const [id, cache] of this.renditions) {
      const pos = resume.find((p) => p.rendition === id);
      let backlog = pos ? cache.chunksAfter(pos) : undefined;
      if (!backlog) backlog = start === undefined ? [] : cache.chunksFromSegment(start);
      for (const c of backlog) sub.onChunk(c, true);
    }
  }

  /** Adds a subscriber without bringing it up to date (an HTTP request waiting for the next chunks). */
  listen(sub: StreamSubscriber): void {
    this.subscribers.add(sub);
    this.lastUsed = Date.now();
  }

  detach(sub: StreamSubscriber): void {
    this.subscribers.delete(sub);
    this.lastUsed = Date.now();
  }

  /** Marks the stream in use now (a request served from the cache, not subscribed): holds off the idle sweep. */
  touch(): void {
    this.lastUsed = Date.now();
  }

  /** The newest segment number that every rendition has from its start (video starts there on a keyframe). */
  commonStartSegment(): number | undefined {
    let start: number | undefined;
    for (const cache of this.renditions.values()) {
      const s = cache.latestStartSegment();
      if (s === undefined) continue;
      start = start === undefined ? s : Math.min(start, s);
    }
    return start;
  }

  /**
   * How far the newest media held here is behind the wall clock its timeline promises (ms): about the
   * encoding delay plus one chunk while the stream keeps up, growing when the transcoder runs slower than
   * real time. Undefined before the first chunk.
   */
  mediaLagMs(now = Date.now()): number | undefined {
    if (!this.info) return undefined;
    let end: number | undefined;
    for (const r of this.info.renditions) {
      const l = this.renditions.get(r.id)?.last;
      if (l) end = Math.max(end ?? 0, ((l.decodeTime + l.duration) / r.timescale) * 1000);
    }
    return end === undefined ? undefined : now - (this.info.availabilityStartTime + end);
  }

  /** Position of the last chunk held per rendition: what a reconnecting relay resumes from. */
  resumePositions(): ResumePosition[] {
    const out: ResumePosition[] = [];
    for (const [id, cache] of this.renditions) {
      const l = cache.last;
      if (l) out.push({ rendition: id, segment: l.segment, chunk: l.chunk });
    }
    return out;
  }

  /** Resolves with the info once live, or undefined once known offline / not found / after timeoutMs. */
  whenKnown(timeoutMs: number): Promise<StreamInfo | undefined> {
    if (this.state === 'live') return Promise.resolve(this.info);
    if (this.state === 'offline') return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== done);
        resolve(undefined);
      }, timeoutMs);
      const done = (info: StreamInfo | undefined) => {
        clearTimeout(timer);
        resolve(info);
      };
      this.waiters.push(done);
    });
  }

  private resolveWaiters(info: StreamInfo | undefined): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f(info);
  }

  /** A subscriber that throws is logged and kept from disturbing the others. */
  private safe(fn: () => void): void {
    callSafely(this.logger, 'subscriber threw while receiving; ignored', { stream: this.name }, fn);
  }

  close(): void {
    this.resolveWaiters(undefined);
    this.subscribers.clear();
    for (const c of this.renditions.values()) c.clear();
  }
}
