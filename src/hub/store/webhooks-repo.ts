/**
 * Webhooks and their deliveries (issue 16, ADR 0021). The dispatcher (src/hub/webhooks/dispatcher.ts) runs the
 * hooks listed here; each event it queues for a hook is a row of `webhook_deliveries`, updated at every
 * attempt, so the dashboard shows the delivery log and a hub that becomes leader resumes what is pending.
 */
import { HubError } from './errors.js';
import type { Lookups, RepoContext } from './repo-context.js';
import type { WebhookDeliveryRecord, WebhookRecord, WebhookRepo } from './types.js';

interface HookRow {
  id: string;
  channel: string | null;
  url: string;
  secret: string;
  format: string;
  events: string;
  created_at: number;
}

interface DeliveryRow {
  id: string;
  hook_id: string;
  event: string;
  channel: string;
  payload: string;
  created_at: number;
  attempts: number;
  last_status: number | null;
  last_error: string | null;
  retry_at: number | null;
  state: string;
}

const HOOK_COLUMNS =
  'w.id, s.name AS channel, w.url, w.secret, w.format, w.events, w.created_at FROM webhooks w LEFT JOIN streamers s ON s.id = w.streamer_id';
const DELIVERY_COLUMNS =
  'id, hook_id, event, channel, payload, created_at, attempts, last_status, last_error, retry_at, state FROM webhook_deliveries';

/** The stored event list; a row written by hand that does not parse means "no events" rather than a crash. */
function eventsOf(text: string): string[] {
  try {
    const v: unknown = JSON.parse(text);
    return Array.isArray(v) ? v.filter((e): e is string => typeof e === 'string') : [];
  } catch {
    return [];
  }
}

const hook = (r: HookRow): WebhookRecord => ({
  id: r.id,
  channel: r.channel,
  url: r.url,
  secret: r.secret,
  format: r.format === 'discord' ? 'discord' : 'json',
  events: eventsOf(r.events),
  createdAt: r.created_at,
});

const STATES = new Set<string>(['pending', 'delivered', 'given_up']);
const delivery = (r: DeliveryRow): WebhookDeliveryRecord => ({
  id: r.id,
  hookId: r.hook_id,
  event: r.event,
  channel: r.channel,
  payload: r.payload,
  createdAt: r.created_at,
  attempts: r.attempts,
  lastStatus: r.last_status,
  lastError: r.last_error,
  retryAt: r.retry_at,
  state: (STATES.has(r.state) ? r.state : 'pending') as WebhookDeliveryRecord['state'],
});

export function createWebhookRepo(ctx: RepoContext, lookups: Lookups): WebhookRepo {
  const { db, now } = ctx;
  const insert = db.prepare<[string, number | null, string, string, string, string, number]>(
    'INSERT INTO webhooks (id, streamer_id, url, secret, format, events, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const get = db.prepare<[string], HookRow>(`SELECT ${HOOK_COLUMNS} WHERE w.id = ?`);
  const all = db.prepare<[], HookRow>(`SELECT ${HOOK_COLUMNS} ORDER BY w.created_at, w.id`);
  const list = db.prepare<[string], HookRow>(
    `SELECT ${HOOK_COLUMNS} WHERE s.name = ? ORDER BY w.created_at, w.id`,
  );
  const del = db.prepare<[string]>('DELETE FROM webhooks WHERE id = ?');
  const enqueue = db.prepare<[string, string, string, string, string, number]>(
    `INSERT INTO webhook_deliveries (id, hook_id, event, channel, payload, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
  );
  const attempt = db.prepare<[number, number | null, string | null, number | null, string, string]>(
    `UPDATE webhook_deliveries SET attempts = ?, last_status = ?, last_error = ?, retry_at = ?, state = ? WHERE id = ?`,
  );
  const pending = db.prepare<[], DeliveryRow>(
    `SELECT ${DELIVERY_COLUMNS} WHERE state = 'pending' ORDER BY hook_id, seq`,
  );
  const log = db.prepare<[string, number], DeliveryRow>(
    `SELECT ${DELIVERY_COLUMNS} WHERE hook_id = ? ORDER BY seq DESC LIMIT ?`,
  );
  const prune = db.prepare<[number]>(
    `DELETE FROM webhook_deliveries WHERE state <> 'pending' AND created_at < ?`,
  );

  return {
    add(h) {
      const streamerId = h.channel === null ? null : lookups.streamerId(h.channel);
      if (streamerId === undefined)
        throw new HubError('NOT_FOUND', 'no such channel', { channel: String(h.channel).slice(0, 80) });
      const createdAt = now();
      insert.run(h.id, streamerId, h.url, h.secret, h.format, JSON.stringify(h.events), createdAt);
      return { ...h, events: [...h.events], createdAt };
    },
    get(id) {
      const r = get.get(id);
      return r ? hook(r) : undefined;
    },
    all() {
      return all.all().map(hook);
    },
    list(channel) {
      return list.all(channel).map(hook);
    },
    remove(id) {
      return del.run(id).changes > 0;
    },
    enqueue(d) {
      enqueue.run(d.id, d.hookId, d.event, d.channel, d.payload, now());
    },
    recordAttempt(id, a) {
      attempt.run(
        a.attempts,
        a.status,
        a.error === null ? null : a.error.slice(0, 500),
        a.retryAt,
        a.state,
        id,
      );
    },
    pending() {
      return pending.all().map(delivery);
    },
    deliveries(hookId, limit) {
      return log.all(hookId, Math.max(0, Math.min(1000, Math.trunc(limit)))).map(delivery);
    },
    prune(before) {
      return prune.run(before).changes;
    },
  };
}
