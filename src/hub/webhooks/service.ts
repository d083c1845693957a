/**
 * Webhooks at the leading hub (ADR 0021): the community events go to the hooks in the store, over HTTP, each
 * delivery written to the store as it is queued and at each attempt. A hub that is elected takes the hooks
 * (the operator's from its config first) and resumes what the previous leader left pending; a deposed one stops taking events (its pending rows stay
 * for the next leader). Delivery logs older than 7 days are pruned daily.
 */
import { callSafely } from '../../common/events/safe-emitter.js';
import type { Logger } from '../../common/logging/index.js';
import type { HubEvents } from '../hub-events.js';
import type { HubLeadership } from '../leadership.js';
import type { Store } from '../store/types.js';
import { WebhookDispatcher, type Webhook } from './dispatcher.js';
import type { HubEventType } from '../../common/protocol/hub-events.js';
import { resumePending, storedDeliveries } from './stored-deliveries.js';
import { checkTarget } from '../../common/net/target-url.js';
import { postPinned } from './pinned-post.js';
import { syncOperatorHooks, type OperatorHookConfig } from './operator-hooks.js';

const KEEP_LOG_MS = 7 * 24 * 3600_000;
const PRUNE_EVERY_MS = 24 * 3600_000;

export interface WebhookServiceOptions {
  store: Store;
  events: HubEvents;
  leadership: HubLeadership;
  logger: Logger;
  /** The site's base URL, for channel links (`${publicUrl}/watch/NAME`). */
  publicUrl: string;
  allowPrivateTargets: boolean;
  /** The operator's hooks from the config: the store is made to match them when this hub leads. */
  operatorHooks?: readonly OperatorHookConfig[];
}

export interface WebhookService {
  /** Takes the hooks from the store again (after one was added or removed). */
  reload(): void;
  /** Whether a hook is marked failing (20 deliveries failed in a row). */
  failing(hookId: string): boolean;
  close(): void;
}

/**
 * POSTs a delivery to its target, after checking where the target's name points (not loopback or private),
 * connected to the addresses checked (no second lookup a rebinding DNS could answer differently).
 */
async function post(
  url: string,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
  allowPrivate: boolean,
): Promise<number> {
  const target = await checkTarget(url, { allowPrivate });
  if (!target.ok) throw new Error(`target refused: ${target.reason}`);
  return postPinned(target.url, target.addresses, headers, body, timeoutMs);
}

export function startWebhooks(opts: WebhookServiceOptions): WebhookService {
  const { store, events, leadership, logger } = opts;
  const timers = new Set<NodeJS.Timeout>();
  const stored = storedDeliveries(store.webhooks);
  const dispatcher = new WebhookDispatcher({
    post: (url, headers, body, timeoutMs) => post(url, headers, body, timeoutMs, opts.allowPrivateTargets),
    now: Date.now,
    later: (fn, ms) => {
      const t = setTimeout(() => {
        timers.delete(t);
        fn();
      }, ms);
      t.unref();
      timers.add(t);
    },
    // The log is the store's: a store that is away loses that line, not the delivery.
    onQueued: (hook, delivery, event) =>
      callSafely(logger, 'webhook delivery not stored', { hook, delivery }, () =>
        stored.onQueued?.(hook, delivery, event),
      ),
    onAttempt: (r) => {
      if (r.status === null || r.status >= 300)
        logger.warn(
          {
            hook: r.hook,
            delivery: r.delivery,
            event: r.event,
            attempt: r.attempt,
            status: r.status,
            error: r.error,
            retryAt: r.retryAt,
          },
          'webhook delivery failed',
        );
      callSafely(logger, 'webhook attempt not stored', { hook: r.hook, delivery: r.delivery }, () =>
        stored.onAttempt(r),
      );
    },
    channelUrl: (c) => `${opts.publicUrl.replace(/\/+$/, '')}/watch/${encodeURIComponent(c)}`,
  });

  const hooks = (): Webhook[] =>
    store.webhooks.all().map((h) => ({ ...h, events: h.events as HubEventType[] }));
  const take = () =>
    callSafely(logger, 'webhooks not loaded', {}, () => {
      syncOperatorHooks(store.webhooks, opts.operatorHooks ?? [], logger);
      dispatcher.setHooks(hooks());
      const n = resumePending(store.webhooks, dispatcher);
      if (n > 0) logger.info({ deliveries: n }, 'webhook deliveries resumed');
    });
  if (leadership.isLeader) take();
  const offElected = leadership.on('elected', take);
  const offDeposed = leadership.on('deposed', () => dispatcher.setHooks([]));
  const base = opts.publicUrl.replace(/\/+$/, '');
  const offEvents = events.on((e) => {
    if (!leadership.isLeader) return;
    // A clip's page is named by its path at the hub; a receiver gets the whole address.
    dispatcher.emit(
      e.type === 'clip.created' && e.url.startsWith('/') ? { ...e, url: `${base}${e.url}` } : e,
    );
  });
  const prune = setInterval(
    () =>
      callSafely(logger, 'webhook log not pruned', {}, () => {
        if (leadership.isLeader) store.webhooks.prune(Date.now() - KEEP_LOG_MS);
      }),
    PRUNE_EVERY_MS,
  );
  prune.unref();

  return {
    reload: () => {
      if (leadership.isLeader)
        callSafely(logger, 'webhooks not loaded', {}, () => dispatcher.setHooks(hooks()));
    },
    failing: (id) => dispatcher.failing(id),
    close: () => {
      offElected();
      offDeposed();
      offEvents();
      clearInterval(prune);
      for (const t of timers) clearTimeout(t);
      timers.clear();
      dispatcher.setHooks([]);
    },
  };
}
