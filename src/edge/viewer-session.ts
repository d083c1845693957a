/**
 * One WebSocket viewer of one stream (domain; the socket is behind ViewerSink). It receives audio and one
 * video rendition. A viewer that reads too slowly is never allowed to grow memory or delay others: past
 * the backpressure ceiling it skips to the next segment start (a keyframe) and is told so; past the close
 * ceiling it is disconnected with a reason. Skipping keeps the buffer under the close ceiling, so a viewer
 * that reads nothing at all is caught separately: checkProgress() closes it once its buffer has not drained
 * by a single byte for stallTimeoutMs. Rendition switches take effect at the next segment start.
 */
import type { ResumePosition, StreamInfo } from '../common/media.js';
import type { CachedChunk, CachedInit } from '../common/relay/rendition-cache.js';
import type { StreamSubscriber } from '../common/relay/stream-relay.js';

export interface ViewerSink {
  sendBinary(frame: Buffer): void;
  sendText(text: string): void;
  bufferedAmount(): number;
  close(code: number, reason: string): void;
}

export interface ViewerLimits {
  maxBackpressureBytes: number;
  closeBackpressureBytes: number;
  /** A viewer whose send buffer has not drained at all for this long is closed (it reads nothing). */
  stallTimeoutMs: number;
}

export interface ViewerStats {
  onSent(bytes: number): void;
  onSkipped(): void;
}

/** Peer-assisted delivery (p2p/tracker.ts), when the edge uses it. */
export interface SessionP2p {
  /** The video rendition the viewer receives changed (it moves to that rendition's swarm). */
  videoChanged(video: string | undefined): void;
  /** If a peer carries this chunk to the viewer: the digest announcement the edge sends instead. */
  announcement(c: CachedChunk): string | undefined;
}

/** Default video: the highest rendition at most 720 lines tall (or the smallest one). */
export function defaultVideo(info: StreamInfo): string | undefined {
  const video = info.renditions
    .filter((r) => r.kind === 'video')
    .sort((a, b) => (b.height ?? 0) - (a.height ?? 0));
  return (video.find((r) => (r.height ?? 0) <= 720) ?? video[video.length - 1])?.id;
}

export class ViewerSession implements StreamSubscriber {
  private info: StreamInfo | undefined;
  private video: string | undefined;
  /** Requested by the viewer; becomes `video` at that rendition's next segment start. */
  private pendingVideo: string | undefined;
  /** A rendition id, or 'auto'. */
  private requested = 'auto';
  private readonly inits = new Map<string, CachedInit>();
  /** Renditions waiting for a segment start before sending again (after a skip or a join). */
  private readonly waitingForStart = new Set<string>();
  private closed = false;
  /** For checkProgress(): the buffer at the last check and what was written since. */
  private lastBuffered = 0;
  private writtenSinceCheck = 0;
  private lastProgressAt = Date.now();
  /** Where the player left off, per rendition: used by the first description only. */
  private resumeAt: Map<string, ResumePosition>;
  /** Renditions continuing mid-segment: their next chunk must follow the player's last, or start a segment. */
  private readonly continuing = new Map<string, ResumePosition>();

  constructor(
    private readonly sink: ViewerSink,
    private readonly limits: ViewerLimits,
    private readonly stats: ViewerStats,
    initialVideo?: string,
    resume: readonly ResumePosition[] = [],
    private readonly p2p?: SessionP2p,
  ) {
    if (initialVideo) this.requested = initialVideo;
    this.resumeAt = new Map(resume.map((p) => [p.rendition, p]));
  }

  get currentVideo(): string | undefined {
    return this.video;
  }

  /** `auto` lets the edge pick the default; the player drives adaptation by selecting renditions. */
  select(video: string): { ok: true } | { ok: false; reason: string } {
    if (
      video !== 'auto' &&
      this.info &&
      !this.info.renditions.some((r) => r.id === video && r.kind === 'video')
    ) {
      return { ok: false, reason: `unknown video rendition ${video}` };
    }
    this.requested = video;
    const target = video === 'auto' ? (this.info ? defaultVideo(this.info) : undefined) : video;
    if (target && target !== this.video) this.pendingVideo = target;
    return { ok: true };
  }

  onInfo(info: StreamInfo): void {
    this.info = info;
    this.inits.clear();
    const want =
      this.requested !== 'auto' && info.renditions.some((r) => r.id === this.requested)
        ? this.requested
        : defaultVideo(info);
    this.video = want;
    this.pendingVideo = undefined;
    this.p2p?.videoChanged(want);
    // A (re)start: every rendition begins again at a segment start after its new init, except, on the
    // first description only, those the player resumes (the relay sends them from the chunk after theirs).
    this.waitingForStart.clear();
    this.continuing.clear();
    for (const r of info.renditions) {
      const at = this.resumeAt.get(r.id);
      if (at) this.continuing.set(r.id, at);
      else this.waitingForStart.add(r.id);
    }
    this.resumeAt = new Map();
    this.sendText(JSON.stringify({ type: 'info', info }));
  }

  onInit(rendition: string, init: CachedInit): void {
    this.inits.set(rendition, init);
    if (this.wants(rendition)) this.send(init.frame);
  }

  onChunk(c: CachedChunk): void {
    if (this.closed) return;
    const m = c.meta;
    // Chunk 0 of a segment starts with a keyframe (video) or on a segment boundary (audio).
    const segmentStart = m.chunk === 0;
    if (this.pendingVideo === m.rendition && segmentStart) {
      const init = this.inits.get(m.rendition);
      if (init) {
        this.video = m.rendition;
        this.pendingVideo = undefined;
        this.waitingForStart.delete(m.rendition);
        this.send(init.frame);
        this.p2p?.videoChanged(m.rendition);
      }
    }
    if (!this.wants(m.rendition)) return;
    const at = this.continuing.get(m.rendition);
    if (at) {
      // Only the chunk right after the player's last one continues its media; anything else waits for a start.
      const next =
        (m.segment === at.segment && m.chunk === at.chunk + 1) ||
        (m.segment === at.segment + 1 && m.chunk === 0);
      if (!next && !segmentStart) return;
      this.continuing.delete(m.rendition);
    }
    if (this.waitingForStart.has(m.rendition)) {
      if (!segmentStart) return;
      this.waitingForStart.delete(m.rendition);
    }
    const buffered = this.sink.bufferedAmount();
    if (buffered > this.limits.closeBackpressureBytes) {
      this.close(4008, 'SLOW_CONSUMER: cannot keep up even at the lowest rate');
      return;
    }
    if (buffered > this.limits.maxBackpressureBytes) {
      // Drop the rest of this segment for every rendition; resume together at the next keyframe.
      if (this.info) for (const r of this.info.renditions) this.waitingForStart.add(r.id);
      this.stats.onSkipped();
      this.sendText(`{"type":"skipped","rendition":${JSON.stringify(m.rendition)}}`);
      return;
    }
    const announced = this.p2p?.announcement(c);
    if (announced !== undefined) this.sendText(announced);
    else this.send(c.frame);
  }

  /**
   * A cached chunk the viewer asks for again (a peer missed its deadline); its size. The edge announced it,
   * so it was wanted then, even if the viewer has switched rendition since.
   */
  resend(c: CachedChunk): number {
    if (this.closed) return 0;
    this.send(c.frame);
    return c.frame.length;
  }

  onEnd(reason: string): void {
    this.sendText(JSON.stringify({ type: 'end', reason }));
  }

  /** Every text to the viewer goes through here (also the transport's pongs), so progress is measured right. */
  sendText(text: string): void {
    if (this.closed) return;
    this.sink.sendText(text);
    this.writtenSinceCheck += Buffer.byteLength(text);
  }

  /**
   * Called periodically by the transport. Progress means the viewer read something: the buffer is empty, or it
   * holds less than it did plus what was written since. A socket that only sends pings makes none.
   */
  checkProgress(now = Date.now()): void {
    if (this.closed) return;
    const buffered = this.sink.bufferedAmount();
    const drained = this.lastBuffered + this.writtenSinceCheck - buffered;
    this.lastBuffered = buffered;
    this.writtenSinceCheck = 0;
    if (buffered === 0 || drained > 0) {
      this.lastProgressAt = now;
      return;
    }
    if (now - this.lastProgressAt >= this.limits.stallTimeoutMs) {
      this.close(4008, `SLOW_CONSUMER: read nothing for ${Math.round((now - this.lastProgressAt) / 1000)} s`);
    }
  }

  private wants(rendition: string): boolean {
    if (!this.info) return false;
    if (rendition === this.video) return true;
    return this.info.renditions.some((r) => r.id === rendition && r.kind === 'audio');
  }

  private send(frame: Buffer): void {
    this.sink.sendBinary(frame);
    this.writtenSinceCheck += frame.length;
    this.stats.onSent(frame.length);
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.sink.close(code, reason);
  }
}

/**
 * The edge-wide cap on memory held for slow viewers: which viewers to close, most-buffered first, so that the
 * total held in send buffers falls to `capBytes` or below. Pure, so the choice is tested without sockets.
 */
export function overCap<T>(viewers: Array<{ viewer: T; buffered: number }>, capBytes: number): T[] {
  let total = viewers.reduce((n, v) => n + v.buffered, 0);
  if (total <= capBytes) return [];
  const out: T[] = [];
  for (const v of [...viewers].sort((a, b) => b.buffered - a.buffered)) {
    if (total <= capBytes || v.buffered === 0) break;
    out.push(v.viewer);
    total -= v.buffered;
  }
  return out;
}
