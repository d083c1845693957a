/**
 * Writes analytics (issue 16, ADR 0021). The leader samples every `sampleEveryMs`: each live channel's
 * viewers per edge, region and transport (from the edges' audience reports), the viewer keys and chatters
 * new to its current live, and every channel's chat messages and follows of the period (from HubEvents). A
 * live is a row of its own, started and ended by `stream.started`/`stream.ended` and reconciled with the
 * directory at each sample, so a live whose end was missed (a hub restart, a leader change) still ends.
 * Hourly, rows older than `fullResolutionHours` are folded into 10-minute rows and rows older than
 * `retentionDays` deleted. A period the store refuses (PostgreSQL away) is kept and written with the next.
 */
import { randomBytes } from 'node:crypto';
import type { AnalyticsConfig } from '../../common/config/index.js';
import { errorMessage } from '../../common/errors/index.js';
import type { Logger } from '../../common/logging/index.js';
import type { Directory } from '../directory.js';
import type { HubEvents } from '../hub-events.js';
import type { Store } from '../store/types.js';
import type { AudienceBook } from './audience-book.js';
import { HyperLogLog } from './hyperloglog.js';

/** Rows older than a day (by default) stand for ten minutes each. */
export const FOLDED_SPAN_S = 600;
const HOUSEKEEPING_EVERY_MS = 3_600_000;

interface Activity {
  messages: number;
  follows: number;
  chatters: HyperLogLog;
}

export class AnalyticsRecorder {
  private readonly activity = new Map<string, Activity>();
  /** Viewer keys taken from the book but not yet stored (the store refused a period). */
  private readonly unsaved = new Map<string, HyperLogLog>();
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly offEvents: () => void;
  private lastHousekeeping = 0;
  private closed = false;

  constructor(
    private readonly deps: {
      store: Store;
      directory: Directory;
      book: AudienceBook;
      events: HubEvents;
      config: AnalyticsConfig;
      leads: () => boolean;
      logger: Logger;
      now?: () => number;
      /** Tests drive tick() themselves. */
      manual?: boolean;
    },
  ) {
    this.offEvents = deps.events.on((e) => {
      switch (e.type) {
        case 'stream.started':
          this.startLive(e.channel, e.at);
          return;
        case 'stream.ended':
          this.endLive(e.channel, e.at);
          return;
        case 'chat.message': {
          const a = this.activityOf(e.channel);
          a.messages++;
          a.chatters.add(e.author);
          return;
        }
        case 'channel.followed':
          this.activityOf(e.channel).follows++;
          return;
        default:
          return;
      }
    });
    if (!deps.manual) {
      this.timer = setInterval(() => this.tick(), deps.config.sampleEveryMs);
      this.timer.unref();
    }
  }

  private get now(): number {
    return (this.deps.now ?? Date.now)();
  }

  private activityOf(channel: string): Activity {
    let a = this.activity.get(channel);
    if (!a) {
      a = { messages: 0, follows: 0, chatters: new HyperLogLog() };
      this.activity.set(channel, a);
    }
    return a;
  }

  private startLive(channel: string, at: number): void {
    try {
      if (this.deps.store.analytics.openLives().some((l) => l.channel === channel)) return;
      this.deps.store.analytics.startLive({ id: newLiveId(), channel, startedAt: at });
    } catch (err) {
      // A channel the store does not know (a stream key from config only) has no analytics.
      this.deps.logger.debug({ stream: channel, err: errorMessage(err) }, 'analytics live not started');
    }
  }

  private endLive(channel: string, at: number): void {
    try {
      for (const l of this.deps.store.analytics.openLives())
        if (l.channel === channel) this.deps.store.analytics.endLive(l.id, at);
    } catch (err) {
      this.deps.logger.warn({ stream: channel, err: errorMessage(err) }, 'analytics live not ended');
    }
  }

  /** One sampling period (on the leader only): every live channel's audience, every channel's activity. */
  tick(): void {
    if (this.closed || !this.deps.leads()) return;
    const { store, directory, book, config, logger } = this.deps;
    const now = this.now;
    const at = now - (now % config.sampleEveryMs);
    const spanS = config.sampleEveryMs / 1000;
    let open;
    try {
      open = new Map(store.analytics.openLives().map((l) => [l.channel, l]));
    } catch (err) {
      logger.warn({ err: errorMessage(err) }, 'analytics sample skipped: store unavailable');
      return;
    }
    const live = new Map(directory.liveStreams().map((l) => [l.stream, l.startedAt]));
    for (const channel of [...open.keys()]) {
      if (live.has(channel)) continue;
      this.endLive(channel, now);
      open.delete(channel);
    }
    for (const [channel, startedAt] of live) {
      if (open.has(channel)) continue;
      this.startLive(channel, startedAt);
      const started = store.analytics.openLives().find((l) => l.channel === channel);
      if (started) open.set(channel, started);
    }
    book.keepKeysOf(new Set(live.keys()));
    for (const channel of new Set([...open.keys(), ...this.activity.keys()])) {
      const liveRow = open.get(channel);
      const a = this.activity.get(channel);
      this.activity.delete(channel);
      const keys = this.unsaved.get(channel) ?? new HyperLogLog();
      this.unsaved.delete(channel);
      const joined = liveRow ? book.takeKeys(channel) : undefined;
      if (joined) keys.merge(joined);
      try {
        store.analytics.record({
          channel,
          at,
          spanS,
          samples: liveRow ? book.rows(channel) : [],
          ...(a ? { activity: { messages: a.messages, follows: a.follows } } : {}),
          ...(liveRow
            ? {
                uniques: [
                  ...(keys.empty
                    ? []
                    : [{ liveId: liveRow.id, kind: 'viewer' as const, sketch: keys.toBytes() }]),
                  ...(a && !a.chatters.empty
                    ? [{ liveId: liveRow.id, kind: 'chatter' as const, sketch: a.chatters.toBytes() }]
                    : []),
                ],
              }
            : {}),
        });
      } catch (err) {
        logger.warn(
          { stream: channel, err: errorMessage(err) },
          'analytics period not stored; kept for the next',
        );
        if (a) this.merge(channel, a);
        if (!keys.empty) this.unsaved.set(channel, keys);
      }
    }
    if (now - this.lastHousekeeping >= HOUSEKEEPING_EVERY_MS) this.housekeeping(now);
  }

  /** Folds old rows and deletes expired ones (the leader, hourly). */
  housekeeping(now = this.now): void {
    const { store, config, logger } = this.deps;
    this.lastHousekeeping = now;
    try {
      const folded = store.analytics.fold(now - config.fullResolutionHours * 3_600_000, FOLDED_SPAN_S);
      const deleted = store.analytics.deleteBefore(now - config.retentionDays * 86_400_000);
      if (folded + deleted > 0) logger.info({ folded, deleted }, 'analytics rows folded and expired');
    } catch (err) {
      logger.warn({ err: errorMessage(err) }, 'analytics housekeeping failed; tried again next hour');
    }
  }

  private merge(channel: string, a: Activity): void {
    const cur = this.activityOf(channel);
    cur.messages += a.messages;
    cur.follows += a.follows;
    cur.chatters.merge(a.chatters);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.offEvents();
  }
}

export function newLiveId(): string {
  return `lv_${randomBytes(9).toString('base64url')}`;
}
