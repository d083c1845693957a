/**
 * Sends each community event to the webhooks that want it (ADR 0021, proposed). Per hook: one delivery in
 * flight, in the order the events happened; a failed attempt is retried on the schedule of schedule.ts; a
 * hook that failed FAILING_AFTER deliveries in a row is marked failing and tried at most hourly until a 2xx.
 * Everything it does is reported through `onAttempt` (the delivery log). Not wired into the hub yet: the
 * store-backed queue (a new leader resumes what is pending) comes with the `webhook_deliveries` table.
 */
import { randomUUID } from 'node:crypto';
import type { HubEvent, HubEventType } from '../../common/protocol/hub-events.js';
import { renderBody, type WebhookFormat } from './formats.js';
import { SIGNATURE_HEADER, signBody } from './signature.js';
import {
  ATTEMPT_TIMEOUT_MS,
  FAILING_AFTER,
  MAX_QUEUED,
  MAX_RETRY_MS,
  delivered,
  givesUp,
  retryDelayMs,
} from './schedule.js';

export interface Webhook {
  id: string;
  url: string;
  secret: string;
  format: WebhookFormat;
  /** The events it asked for, by name (a new hook's default is every event but OPT_IN_EVENTS). */
  events: readonly HubEventType[];
  /** A streamer's hook: only its channel's events. The operator's (null): every channel's. */
  channel: string | null;
}

/** One attempt's outcome, for the delivery log. */
export interface AttemptRecord {
  hook: string;
  delivery: string;
  event: HubEventType;
  attempt: number;
  status: number | null;
  error: string | null;
  /** When it is tried again (ms since the epoch), or null: delivered or given up. */
  retryAt: number | null;
}

export interface DispatcherDeps {
  /** POSTs the body; the answer's status, or throws (refused, timed out, TLS). */
  post(url: string, headers: Record<string, string>, body: string, timeoutMs: number): Promise<number>;
  now(): number;
  /** Runs fn after ms (a timer in use; a fake clock in tests). */
  later(fn: () => void, ms: number): void;
  onAttempt(r: AttemptRecord): void;
  /** A delivery was queued (before its first attempt): the store keeps it for a leader that takes over. */
  onQueued?(hook: string, delivery: string, event: HubEvent): void;
  /** The page of a channel, for bodies that link to it. */
  channelUrl(channel: string): string;
  random?: () => number;
}

interface Pending {
  id: string;
  event: HubEvent;
  attempts: number;
  firstAt: number;
}

interface HookState {
  hook: Webhook;
  queue: Pending[];
  busy: boolean;
  /** Deliveries failed in a row (given up or still retrying); 0 after any 2xx. */
  failuresInRow: number;
}

/** Whether a hook wants an event. */
export function wants(hook: Webhook, e: HubEvent): boolean {
  if (hook.channel !== null && hook.channel !== e.channel) return false;
  return hook.events.includes(e.type);
}

export class WebhookDispatcher {
  private readonly hooks = new Map<string, HookState>();

  constructor(private readonly deps: DispatcherDeps) {}

  /** The hooks in force (after a change in the dashboard or the config). Pending deliveries of kept hooks stay. */
  setHooks(hooks: readonly Webhook[]): void {
    const keep = new Set(hooks.map((h) => h.id));
    for (const id of this.hooks.keys()) if (!keep.has(id)) this.hooks.delete(id);
    for (const hook of hooks) {
      const s = this.hooks.get(hook.id);
      if (s) s.hook = hook;
      else this.hooks.set(hook.id, { hook, queue: [], busy: false, failuresInRow: 0 });
    }
  }

  /** Whether a hook is marked failing. */
  failing(hookId: string): boolean {
    return (this.hooks.get(hookId)?.failuresInRow ?? 0) >= FAILING_AFTER;
  }

  emit(e: HubEvent): void {
    for (const s of this.hooks.values()) {
      if (!wants(s.hook, e)) continue;
      const id = randomUUID();
      this.deps.onQueued?.(s.hook.id, id, e);
      if (s.queue.length >= MAX_QUEUED) {
        // Given up at once, in the log like any other: the receiver is too far behind to catch up.
        const error = `${MAX_QUEUED} deliveries already waiting for this hook`;
        this.deps.onAttempt({
          hook: s.hook.id,
          delivery: id,
          event: e.type,
          attempt: 0,
          status: null,
          error,
          retryAt: null,
        });
        continue;
      }
      s.queue.push({ id, event: e, attempts: 0, firstAt: this.deps.now() });
      this.pump(s);
    }
  }

  /**
   * Deliveries a previous leader left pending, in the order they were queued: they go before anything new,
   * with the attempts already made (the retry schedule and the give-up time carry on from them).
   */
  resume(
    hookId: string,
    pending: ReadonlyArray<{ id: string; event: HubEvent; attempts: number; firstAt: number }>,
  ): void {
    const s = this.hooks.get(hookId);
    if (!s || pending.length === 0) return;
    s.queue.unshift(...pending.map((p) => ({ ...p })));
    this.pump(s);
  }

  private pump(s: HookState): void {
    if (s.busy || s.queue.length === 0 || !this.hooks.has(s.hook.id)) return;
    s.busy = true;
    void this.attempt(s, s.queue[0]!);
  }

  private async attempt(s: HookState, p: Pending): Promise<void> {
    const { hook } = s;
    p.attempts++;
    const body = renderBody(hook.format, p.id, p.event, this.deps.channelUrl(p.event.channel));
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'tiercast-webhooks',
      [SIGNATURE_HEADER]: signBody(hook.secret, body, this.deps.now()),
    };
    let status: number | null = null;
    let error: string | null = null;
    try {
      status = await this.deps.post(hook.url, headers, body, ATTEMPT_TIMEOUT_MS);
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
    }
    const record = { hook: hook.id, delivery: p.id, event: p.event.type, attempt: p.attempts, status, error };
    if (status !== null && delivered(status)) {
      s.failuresInRow = 0;
      this.deps.onAttempt({ ...record, retryAt: null });
      this.next(s);
      return;
    }
    const now = this.deps.now();
    // A delivery counts once towards the failures in a row: at its first failed attempt (which may also be
    // its last: an event that waited a day behind a failing delivery is given up at once).
    if (p.attempts === 1) s.failuresInRow++;
    if (givesUp(p.firstAt, now)) {
      this.deps.onAttempt({ ...record, retryAt: null });
      this.next(s);
      return;
    }
    const delay = this.failing(hook.id) ? MAX_RETRY_MS : retryDelayMs(p.attempts, this.deps.random);
    this.deps.onAttempt({ ...record, retryAt: now + delay });
    this.deps.later(() => {
      if (this.hooks.get(hook.id) === s) void this.attempt(s, p);
    }, delay);
  }

  private next(s: HookState): void {
    s.queue.shift();
    s.busy = false;
    this.pump(s);
  }
}
