/**
 * Go-live notifications at the leading hub (issue 16, ADR 0021): when a channel goes live, each follower gets
 * a notification for the bell on every page (and, through it, the browser's Notification API while a page is
 * open), and each browser a follower subscribed gets a Web Push (push/web-push.ts). A channel that goes live again within 10 minutes (a dropped encoder, a restart) does not notify
 * again. Notifications older than 30 days are pruned daily.
 */
import { callSafely } from '../common/events/safe-emitter.js';
import type { Logger } from '../common/logging/index.js';
import type { HubEvents } from './hub-events.js';
import type { HubLeadership } from './leadership.js';
import type { Store } from './store/types.js';
import type { WebPush } from './push/web-push.js';
import { errorMessage } from '../common/errors/index.js';

const RENOTIFY_AFTER_MS = 10 * 60_000;
const KEEP_MS = 30 * 24 * 3600_000;

export function startNotifications(opts: {
  store: Store;
  events: HubEvents;
  leadership: HubLeadership;
  logger: Logger;
  /** Also pushes each go-live to the followers' subscribed browsers. */
  push?: WebPush;
  now?: () => number;
}): { close(): void } {
  const { store, leadership, logger } = opts;
  const now = opts.now ?? Date.now;
  const lastNotified = new Map<string, number>();
  const off = opts.events.on((e) => {
    if (e.type !== 'stream.started' || !leadership.isLeader) return;
    const last = lastNotified.get(e.channel);
    if (last !== undefined && now() - last < RENOTIFY_AFTER_MS) {
      logger.info({ channel: e.channel }, 'live again soon after: followers not notified again');
      return;
    }
    lastNotified.set(e.channel, now());
    callSafely(logger, 'go-live notifications not stored', { channel: e.channel }, () => {
      const n = store.notifications.fanOutGoLive(e.channel, e.title);
      logger.info({ channel: e.channel, followers: n }, 'followers notified of going live');
    });
    opts.push
      ?.goLive(e.channel, e.title)
      .catch((err: unknown) =>
        logger.warn({ channel: e.channel, err: errorMessage(err) }, 'go-live not pushed'),
      );
  });
  const prune = setInterval(
    () =>
      callSafely(logger, 'notifications not pruned', {}, () => {
        if (leadership.isLeader) store.notifications.prune(now() - KEEP_MS);
      }),
    24 * 3600_000,
  );
  prune.unref();
  return {
    close: () => {
      off();
      clearInterval(prune);
    },
  };
}
