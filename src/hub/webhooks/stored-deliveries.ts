/**
 * The dispatcher's queue kept in the hub store (ADR 0021): every delivery is a `webhook_deliveries` row from
 * the moment it is queued, updated at each attempt, so the dashboard shows the log and a hub that becomes
 * leader resumes what the previous one left pending (in order, with the attempts already made).
 */
import type { WebhookRepo } from '../store/types.js';
import type { AttemptRecord, DispatcherDeps, WebhookDispatcher } from './dispatcher.js';
import { HUB_EVENT_TYPES, type HubEvent } from '../../common/protocol/hub-events.js';
import { delivered } from './schedule.js';

/** The dispatcher's callbacks that write the log. */
export function storedDeliveries(repo: WebhookRepo): Pick<DispatcherDeps, 'onQueued' | 'onAttempt'> {
  return {
    onQueued(hook, delivery, event) {
      repo.enqueue({
        id: delivery,
        hookId: hook,
        event: event.type,
        channel: event.channel,
        payload: JSON.stringify(event),
      });
    },
    onAttempt(r: AttemptRecord) {
      const state =
        r.retryAt !== null ? 'pending' : r.status !== null && delivered(r.status) ? 'delivered' : 'given_up';
      repo.recordAttempt(r.delivery, {
        attempts: r.attempt,
        status: r.status,
        error: r.error,
        retryAt: r.retryAt,
        state,
      });
    },
  };
}

/** The stored event, or null for a row this code cannot read (it is left pending, never sent half-understood). */
function eventOf(payload: string): HubEvent | null {
  try {
    const e = JSON.parse(payload) as Partial<HubEvent> | null;
    if (
      !e ||
      typeof e.type !== 'string' ||
      !HUB_EVENT_TYPES.includes(e.type) ||
      typeof e.channel !== 'string'
    )
      return null;
    return e as HubEvent;
  } catch {
    return null;
  }
}

/** Hands the dispatcher what is pending, per hook, in the order it was queued; how many deliveries resumed. */
export function resumePending(repo: WebhookRepo, dispatcher: WebhookDispatcher): number {
  const byHook = new Map<string, Array<{ id: string; event: HubEvent; attempts: number; firstAt: number }>>();
  for (const d of repo.pending()) {
    const event = eventOf(d.payload);
    if (!event) continue;
    const list = byHook.get(d.hookId) ?? [];
    list.push({ id: d.id, event, attempts: d.attempts, firstAt: d.createdAt });
    byHook.set(d.hookId, list);
  }
  let n = 0;
  for (const [hook, list] of byHook) {
    dispatcher.resume(hook, list);
    n += list.length;
  }
  return n;
}
