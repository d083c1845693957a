/**
 * Past broadcasts at the hub (issue 15, ADR 0020). The ingress that records a broadcast reports its start and
 * end; the hub keeps the row (title and category as they were when it started, the peak viewer count seen
 * while it ran) and is the authority over it: the channel's list, hide/rename, delete with the media, and
 * retention (older than `days`, or a channel past `bytesPerChannel`). The media itself is in the recording
 * storage, which edges read to play it (src/edge/video-http.ts).
 */
import type { Logger } from '../common/logging/index.js';
import { errorMessage } from '../common/errors/index.js';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportMp4 } from '../common/recording/export.js';
import { readRecording, recordedSeconds } from '../common/recording/playback.js';
import { clipId } from '../common/recording/stream-recorder.js';
import type { ObjectStore } from '../common/storage/object-store.js';
import type { Directory } from './directory.js';
import { HubError } from './store/errors.js';
import type { BroadcastRecord, ClipRecord, Store } from './store/types.js';
import type { HubEvents } from './hub-events.js';

export interface RetentionConfig {
  days: number;
  bytesPerChannel: number;
  checkEveryMs: number;
}

/** What viewers (and the remote API) see of a broadcast: never the storage layout. */
export interface BroadcastView {
  id: string;
  channel: string;
  title: string;
  category: string;
  startedAt: number;
  endedAt: number | null;
  durationMs: number;
  peakViewers: number;
  hidden: boolean;
  /** Still recording: playable as a past broadcast once it ends. */
  live: boolean;
  /** Page, thumbnail and manifests, relative to an edge. */
  url: string;
  thumbnail: string;
}

export function broadcastView(b: BroadcastRecord): BroadcastView {
  return {
    id: b.id,
    channel: b.stream,
    title: b.title,
    category: b.category,
    startedAt: b.startedAt,
    endedAt: b.endedAt,
    durationMs: b.durationMs,
    peakViewers: b.peakViewers,
    hidden: b.hidden,
    live: b.endedAt === null,
    url: `/videos/${b.id}`,
    thumbnail: `/videos/${b.id}/thumbnail.jpg`,
  };
}

export interface ClipsConfig {
  enabled: boolean;
  who: 'accounts' | 'moderators';
  defaultSeconds: number;
  maxSeconds: number;
  perAccountPerMinute: number;
}

/** What viewers see of a clip. */
export interface ClipView {
  id: string;
  channel: string;
  broadcastId: string;
  title: string;
  createdBy: string;
  createdAt: number;
  durationMs: number;
  /** The clip's page, and its MP4 (served by an edge). */
  url: string;
  mp4: string;
}

export function clipView(c: ClipRecord): ClipView {
  return {
    id: c.id,
    channel: c.stream,
    broadcastId: c.broadcastId,
    title: c.title,
    createdBy: c.createdBy,
    createdAt: c.createdAt,
    durationMs: c.durationMs,
    url: `/clips/${c.id}`,
    mp4: `/clips/${c.id}/clip.mp4`,
  };
}

export class Broadcasts {
  /** Broadcasts reported started and not yet ended: stream → id (for the peak viewer count). */
  private readonly open = new Map<string, string>();
  /** Unended broadcasts whose stream is not live: since when this hub has seen it so (id → ms). */
  private readonly offlineSince = new Map<string, number>();
  private closingStale = false;
  private readonly peakTimer: NodeJS.Timeout;
  private readonly retentionTimer: NodeJS.Timeout;
  private retentionRunning: Promise<number> | undefined;

  constructor(
    private readonly deps: {
      store: Store;
      directory: Directory;
      /** The recording storage; without it a deletion only removes the row (and says so in the log). */
      storage: ObjectStore | undefined;
      retention: RetentionConfig;
      clips?: ClipsConfig;
      ffmpegPath?: string;
      /** An unended broadcast whose stream has not been live this long is closed from its recording. */
      staleAfterMs?: number;
      /** Whether this hub leads its group (retention runs on the leader only). */
      leads?: () => boolean;
      logger: Logger;
      now?: () => number;
      /** The community events (ADR 0021): `clip.created`. */
      events?: HubEvents;
    },
  ) {
    this.peakTimer = setInterval(() => {
      this.samplePeaks();
      void this.closeStale();
    }, 5000);
    this.peakTimer.unref();
    this.retentionTimer = setInterval(() => void this.applyRetention(), deps.retention.checkEveryMs);
    this.retentionTimer.unref();
  }

  private get now(): number {
    return (this.deps.now ?? Date.now)();
  }

  /** The ingress began recording a broadcast of a streamer the hub knows (else NOT_FOUND). */
  started(b: { id: string; stream: string; startedAt: number }): BroadcastRecord {
    const s = this.deps.store.streamers.get(b.stream);
    if (!s) throw new HubError('NOT_FOUND', 'no such streamer', { stream: b.stream });
    const rec = this.deps.store.broadcasts.start({
      id: b.id,
      stream: s.name,
      title: s.title,
      category: s.category,
      startedAt: b.startedAt,
    });
    this.follow(s.name, rec.id);
    this.deps.logger.info({ stream: s.name, broadcast: rec.id }, 'broadcast recording started');
    return rec;
  }

  ended(id: string, e: { endedAt: number; durationMs: number; bytes: number }): BroadcastRecord {
    const rec = this.deps.store.broadcasts.end(id, e);
    this.deps.store.broadcasts.notePeak(id, this.deps.directory.viewerCount(rec.stream));
    this.unfollow(rec.stream, id);
    this.deps.logger.info(
      { stream: rec.stream, broadcast: id, durationMs: rec.durationMs, bytes: rec.bytes },
      'broadcast recording ended',
    );
    return rec;
  }

  /** The stream's current broadcast: its peak viewers are sampled, and the directory offers its rewind. */
  private follow(stream: string, id: string): void {
    this.open.set(stream, id);
    this.deps.directory.setRecording(stream, id);
  }

  private unfollow(stream: string, id: string): void {
    if (this.open.get(stream) !== id) return;
    this.open.delete(stream);
    this.deps.directory.setRecording(stream, undefined);
  }

  samplePeaks(): void {
    for (const [stream, id] of this.open) {
      try {
        this.deps.store.broadcasts.notePeak(id, this.deps.directory.viewerCount(stream));
      } catch (err) {
        this.deps.logger.warn({ broadcast: id, err: errorMessage(err) }, 'peak viewer count not stored');
      }
    }
  }

  /**
   * Ends broadcasts whose ingress never reported the end (it crashed, or its reports were lost): once their
   * stream has not been live for `staleAfterMs` as this hub sees it, their length is read from the recording
   * (it plays up to its last whole segment) and they are listed as ended. A late report still corrects them.
   */
  async closeStale(): Promise<number> {
    if (this.closingStale || this.deps.leads?.() === false) return 0;
    this.closingStale = true;
    let n = 0;
    try {
      const now = this.now;
      const unended = this.deps.store.broadcasts.unended();
      const ids = new Set(unended.map((b) => b.id));
      for (const id of this.offlineSince.keys()) if (!ids.has(id)) this.offlineSince.delete(id);
      // The newest unended broadcast of a stream is its current one; any older one was cut short.
      const newest = new Map(unended.map((b) => [b.stream, b]));
      for (const b of unended) {
        const current = newest.get(b.stream) === b;
        if (current && this.deps.directory.isLive(b.stream)) {
          this.follow(b.stream, b.id); // a restarted hub learns the broadcasts it should follow
          this.offlineSince.delete(b.id);
          continue;
        }
        if (current) {
          const since = this.offlineSince.get(b.id) ?? now;
          this.offlineSince.set(b.id, since);
          if (now - since < (this.deps.staleAfterMs ?? 30_000)) continue;
        }
        const recorded = await this.recorded(b);
        this.deps.store.broadcasts.end(b.id, {
          endedAt: b.startedAt + recorded.durationMs,
          durationMs: recorded.durationMs,
          bytes: recorded.bytes,
        });
        this.unfollow(b.stream, b.id);
        this.offlineSince.delete(b.id);
        this.deps.logger.warn(
          { stream: b.stream, broadcast: b.id, durationMs: recorded.durationMs },
          'broadcast ended without word from its ingress: closed from what was recorded',
        );
        n++;
      }
    } catch (err) {
      this.deps.logger.warn(
        { err: errorMessage(err) },
        'could not close broadcasts cut short; will try again',
      );
    } finally {
      this.closingStale = false;
    }
    return n;
  }

  /** What storage holds of a broadcast (without storage: its wall time so far, and no bytes). */
  private async recorded(b: BroadcastRecord): Promise<{ durationMs: number; bytes: number }> {
    const storage = this.deps.storage;
    if (!storage) return { durationMs: Math.max(0, this.now - b.startedAt), bytes: 0 };
    const t = await readRecording(storage, b.stream, b.id);
    const bytes = (await storage.list(`${b.stream}/${b.id}/`)).reduce((sum, o) => sum + o.size, 0);
    return { durationMs: t ? Math.round(recordedSeconds(t) * 1000) : 0, bytes };
  }

  /** A channel's broadcasts, newest first; hidden ones only for its owner. */
  list(stream: string, includeHidden: boolean): BroadcastView[] {
    return this.deps.store.broadcasts
      .list(stream)
      .filter((b) => includeHidden || !b.hidden)
      .map(broadcastView);
  }

  /** Deletes the broadcast's media, then its row: a row is never left pointing at nothing it claims. */
  async remove(id: string, by: string): Promise<void> {
    const rec = this.deps.store.broadcasts.get(id);
    if (!rec) throw new HubError('NOT_FOUND', 'no such broadcast');
    if (this.deps.storage) {
      const n = await this.deps.storage.deletePrefix(`${rec.stream}/${rec.id}/`);
      this.deps.logger.info({ stream: rec.stream, broadcast: id, objects: n, by }, 'broadcast deleted');
    } else {
      this.deps.logger.warn(
        { stream: rec.stream, broadcast: id, by },
        'broadcast removed from the list; its media stays in storage (recordings.storage is not configured)',
      );
    }
    this.deps.store.broadcasts.remove(id);
    this.unfollow(rec.stream, id);
  }

  /**
   * Deletes ended broadcasts past retention: older than `days`, and per channel the oldest ones past
   * `bytesPerChannel` (the newest broadcast is kept even if it alone is larger). Returns how many went.
   */
  applyRetention(): Promise<number> {
    this.retentionRunning ??= this.retain().finally(() => {
      this.retentionRunning = undefined;
    });
    return this.retentionRunning;
  }

  private async retain(): Promise<number> {
    const { days, bytesPerChannel } = this.deps.retention;
    if ((days <= 0 && bytesPerChannel <= 0) || this.deps.leads?.() === false) return 0;
    const ended = this.deps.store.broadcasts.all().filter((b) => b.endedAt !== null);
    const doomed = new Set<BroadcastRecord>();
    if (days > 0) {
      const before = this.now - days * 86_400_000;
      for (const b of ended) if ((b.endedAt ?? 0) < before) doomed.add(b);
    }
    if (bytesPerChannel > 0) {
      const byChannel = new Map<string, BroadcastRecord[]>();
      for (const b of ended) byChannel.set(b.stream, [...(byChannel.get(b.stream) ?? []), b]);
      for (const list of byChannel.values()) {
        let total = 0;
        // Newest first: the newest ones stay, the oldest go once the total passes the limit.
        for (const [i, b] of [...list].reverse().entries()) {
          total += b.bytes;
          if (i > 0 && total > bytesPerChannel) doomed.add(b);
        }
      }
    }
    let n = 0;
    for (const b of doomed) {
      try {
        await this.remove(b.id, 'retention');
        n++;
      } catch (err) {
        this.deps.logger.warn(
          { code: 'STORAGE_UNAVAILABLE', broadcast: b.id, err: errorMessage(err) },
          'retention could not delete a broadcast; will try again',
        );
      }
    }
    return n;
  }

  /**
   * "Clip the last N seconds" of a live stream: cut from its recording at segment boundaries (keyframes),
   * copied into one MP4 (no re-encode), kept beside the broadcast in storage. `by` is the account's name.
   */
  async clip(
    stream: string,
    by: string,
    seconds: number | undefined,
    title: string | undefined,
  ): Promise<ClipView> {
    const cfg = this.deps.clips;
    const storage = this.deps.storage;
    if (!cfg?.enabled || !storage) throw new HubError('FORBIDDEN', 'clips are not enabled on this site');
    const length = seconds ?? cfg.defaultSeconds;
    if (!Number.isInteger(length) || length < 5 || length > cfg.maxSeconds)
      throw new HubError('INVALID_VALUE', `a clip is 5 to ${cfg.maxSeconds} seconds long`);
    if (this.deps.store.clips.countBy(by, this.now - 60_000) >= cfg.perAccountPerMinute)
      throw new HubError('RATE_LIMITED', 'too many clips; wait a minute');
    const b = this.deps.store.broadcasts
      .unended()
      .filter((x) => x.stream === stream)
      .at(-1);
    if (!b || !this.deps.directory.isLive(stream))
      throw new HubError('NOT_FOUND', 'this stream is not being recorded right now');
    const t = await readRecording(storage, b.stream, b.id);
    const total = t ? recordedSeconds(t) : 0;
    if (!t || total < 1) throw new HubError('NOT_FOUND', 'nothing is recorded yet: try again in a moment');
    const id = clipId();
    const dir = await mkdtemp(join(tmpdir(), 'tiercast-clip-'));
    try {
      const out = join(dir, 'clip.mp4');
      const r = await exportMp4({
        store: storage,
        base: `${b.stream}/${b.id}`,
        timeline: t,
        out,
        from: Math.max(0, total - length),
        ffmpegPath: this.deps.ffmpegPath,
        timeoutMs: 30_000,
      });
      const data = await readFile(out);
      await storage.put(`${b.stream}/${b.id}/clips/${id}.mp4`, data, 'video/mp4');
      const rec = this.deps.store.clips.add({
        id,
        broadcastId: b.id,
        title: (title ?? '').trim().slice(0, 140) || `${b.title || b.stream}: clip`,
        createdBy: by,
        createdAt: this.now,
        startMs: Math.round(r.startsAt * 1000),
        durationMs: Math.round(r.seconds * 1000),
        bytes: data.length,
      });
      this.deps.logger.info({ stream, clip: id, by, durationMs: rec.durationMs }, 'clip made');
      const view = clipView(rec);
      this.deps.events?.emit({
        type: 'clip.created',
        channel: b.stream,
        at: rec.createdAt,
        clip: id,
        url: view.url,
      });
      return view;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** Deletes a clip's MP4, then its row. */
  async removeClip(id: string, by: string): Promise<void> {
    const c = this.deps.store.clips.get(id);
    if (!c) throw new HubError('NOT_FOUND', 'no such clip');
    await this.deps.storage?.deletePrefix(`${c.stream}/${c.broadcastId}/clips/${c.id}.mp4`);
    this.deps.store.clips.remove(id);
    this.deps.logger.info({ stream: c.stream, clip: id, by }, 'clip deleted');
  }

  close(): void {
    clearInterval(this.peakTimer);
    clearInterval(this.retentionTimer);
  }
}
