/**
 * The hub's community events (ADR 0021), raised once, by the leader, from its own state changes: the
 * directory's live changes today; the title, follows, chat and clips next. Webhooks, notifications, analytics
 * and the moderation log listen here; none reads another's tables to learn what happened. A listener that
 * throws is logged and the others still hear the event.
 */
import { callSafely } from '../common/events/safe-emitter.js';
import type { Logger } from '../common/logging/index.js';
import type { Directory } from './directory.js';
import type { StreamerRecord } from './store/types.js';
import type { HubEvent } from '../common/protocol/hub-events.js';

export type HubEventListener = (e: HubEvent) => void;

export class HubEvents {
  private readonly listeners = new Set<HubEventListener>();

  constructor(private readonly logger?: Logger) {}

  on(listener: HubEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(e: HubEvent): void {
    for (const l of [...this.listeners])
      callSafely(this.logger, 'hub event listener failed', { event: e.type, channel: e.channel }, () => l(e));
  }
}

/**
 * `stream.started` and `stream.ended` from the directory's live changes, with the channel's title and
 * category as the store has them when it happens (the channel's name when it has no title).
 */
export function raiseLiveEvents(
  directory: Directory,
  streamer: (name: string) => StreamerRecord | undefined,
  events: HubEvents,
): void {
  directory.onLiveChange((c) => {
    if (c.live) {
      const s = streamer(c.stream);
      events.emit({
        type: 'stream.started',
        channel: c.stream,
        at: c.at,
        title: s?.title || c.stream,
        category: s?.category ?? '',
      });
    } else
      events.emit({
        type: 'stream.ended',
        channel: c.stream,
        at: c.at,
        durationS: Math.max(0, Math.round((c.at - c.startedAt) / 1000)),
      });
  });
}

/** `stream.title_changed` when an update changed the channel's title or category (not for a no-op save). */
export function raiseTitleChange(
  events: HubEvents | undefined,
  before: StreamerRecord | undefined,
  after: StreamerRecord,
  at = Date.now(),
): void {
  if (!events || !before || (before.title === after.title && before.category === after.category)) return;
  events.emit({
    type: 'stream.title_changed',
    channel: after.name,
    at,
    title: after.title || after.name,
    category: after.category,
  });
}
