/**
 * The network's directory, kept by the hub: every streamer with live state (reported by ingress),
 * viewers (summed over the edges' reports) and a thumbnail (a still from the transcoder).
 */
import type { StreamerRecord } from './store/types.js';

export interface DirectoryEntryView {
  name: string;
  title: string;
  category: string;
  description: string;
  live: boolean;
  viewers: number;
  startedAt: number | null;
  protected: boolean;
  /** Path of the latest thumbnail on any edge, with a version so browsers refetch it. */
  thumbnail: string | null;
}

/** A stream went live or ended (`at`: when the hub noticed; `startedAt`: the broadcast's start). */
export type LiveChangeListener = (c: {
  stream: string;
  live: boolean;
  startedAt: number;
  at: number;
}) => void;

/** An ingress re-reports its live streams every 5 s: one not heard of for this long is gone (a crashed ingress). */
export const LIVE_TTL_MS = 30_000;

export class Directory {
  private readonly live = new Map<string, { startedAt: number; ingress: string; seenAt: number }>();
  /** viewers per edge per stream */
  private readonly viewers = new Map<string, Map<string, number>>();
  private readonly thumbs = new Map<string, { data: Buffer; at: number }>();
  /** Per stream, the broadcast being recorded (told by Broadcasts). */
  private readonly recorded = new Map<string, string>();

  /** Called once per change of a stream's live state (ADR 0021: the hub's `stream.started`/`stream.ended`). */
  private liveChange: LiveChangeListener | undefined;

  constructor(
    private readonly now: () => number = Date.now,
    private readonly liveTtlMs = LIVE_TTL_MS,
  ) {}

  onLiveChange(listener: LiveChangeListener): void {
    this.liveChange = listener;
  }

  /**
   * A live report (the first, or a refresh: the stream's start stays the first report's). A stream taken over
   * by another ingress takes that ingress's start, without a second change: it never went offline.
   */
  setLive(stream: string, ingress: string, startedAt: number): void {
    const cur = this.liveEntry(stream);
    const since = cur ? (cur.ingress === ingress ? cur.startedAt : startedAt) : startedAt;
    this.live.set(stream, { startedAt: since, ingress, seenAt: this.now() });
    if (!cur) this.liveChange?.({ stream, live: true, startedAt: since, at: this.now() });
  }

  /** The stream's live entry, unless its ingress stopped reporting it (then it is forgotten). */
  private liveEntry(stream: string) {
    const l = this.live.get(stream);
    if (l && this.now() - l.seenAt > this.liveTtlMs) {
      this.end(stream, l.startedAt);
      return undefined;
    }
    return l;
  }

  private end(stream: string, startedAt: number): void {
    this.live.delete(stream);
    this.liveChange?.({ stream, live: false, startedAt, at: this.now() });
  }

  setOffline(stream: string): void {
    const l = this.live.get(stream);
    if (l) this.end(stream, l.startedAt);
  }

  /** An ingress went away: its streams are offline. */
  dropIngress(ingress: string): void {
    for (const [s, l] of [...this.live]) if (l.ingress === ingress) this.end(s, l.startedAt);
  }

  /** Forgets the streams whose ingress stopped reporting them (run every few seconds: they end on time). */
  sweep(): void {
    for (const s of [...this.live.keys()]) this.liveEntry(s);
  }

  isLive(stream: string): boolean {
    return this.liveEntry(stream) !== undefined;
  }

  /** The streams live now, with when each began. */
  liveStreams(): { stream: string; startedAt: number }[] {
    const out: { stream: string; startedAt: number }[] = [];
    for (const s of [...this.live.keys()]) {
      const l = this.liveEntry(s);
      if (l) out.push({ stream: s, startedAt: l.startedAt });
    }
    return out;
  }

  reportViewers(edge: string, counts: Record<string, number>): void {
    const m = new Map<string, number>();
    for (const [s, n] of Object.entries(counts))
      if (Number.isInteger(n) && n > 0) m.set(s, Math.min(n, 10_000_000));
    this.viewers.set(edge, m);
  }

  dropEdge(edge: string): void {
    this.viewers.delete(edge);
  }

  viewerCount(stream: string): number {
    let n = 0;
    for (const m of this.viewers.values()) n += m.get(stream) ?? 0;
    return n;
  }

  /** The stream's broadcast being recorded, or none (`undefined`). */
  setRecording(stream: string, id: string | undefined): void {
    if (id) this.recorded.set(stream, id);
    else this.recorded.delete(stream);
  }

  /** Per live stream being recorded, its broadcast: viewers can rewind it (/videos/ID). */
  recordings(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [stream, id] of this.recorded) if (this.isLive(stream)) out[stream] = id;
    return out;
  }

  setThumbnail(stream: string, data: Buffer, at = Date.now()): void {
    this.thumbs.set(stream, { data, at });
  }

  thumbnail(stream: string): { data: Buffer; at: number } | undefined {
    return this.thumbs.get(stream);
  }

  entries(streamers: StreamerRecord[]): DirectoryEntryView[] {
    return streamers
      .map((s) => {
        const l = this.liveEntry(s.name);
        const t = this.thumbs.get(s.name);
        return {
          name: s.name,
          title: s.title || s.name,
          category: s.category,
          description: s.description,
          live: !!l,
          viewers: l ? this.viewerCount(s.name) : 0,
          startedAt: l?.startedAt ?? null,
          protected: s.hasPassword,
          thumbnail: l && t && !s.hasPassword ? `/thumbs/${s.name}.jpg?v=${t.at}` : null,
        };
      })
      .sort(
        (a, b) => Number(b.live) - Number(a.live) || b.viewers - a.viewers || a.name.localeCompare(b.name),
      );
  }
}
