/**
 * What a streamer does with their channel's webhooks, from the remote API and the dashboard alike: list them,
 * add one (its secret is shown in that answer only), remove one, read its delivery log. The views never carry
 * a secret. A target is checked when the hook is made, as at every attempt (target-url.ts).
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { ApiError } from '../../common/http/json-routes.js';
import type { Logger } from '../../common/logging/index.js';
import { parseBody } from '../internal-api.js';
import type { Store, WebhookDeliveryRecord, WebhookRecord } from '../store/types.js';
import { DEFAULT_HOOK_EVENTS, HUB_EVENT_TYPES, type HubEventType } from '../../common/protocol/hub-events.js';
import { checkTarget } from '../../common/net/target-url.js';

/** A channel's hooks at most (each is a request per event). */
export const MAX_HOOKS_PER_CHANNEL = 10;

export const newHookSchema = z.strictObject({
  url: z.string().min(1).max(2000),
  format: z.enum(['json', 'discord']).default('json'),
  /** Default: every event but the opt-in ones (chat messages). */
  events: z
    .array(z.enum(HUB_EVENT_TYPES as [HubEventType, ...HubEventType[]]))
    .min(1)
    .max(HUB_EVENT_TYPES.length)
    .optional(),
});

export function hookView(h: WebhookRecord, failing: boolean) {
  return { id: h.id, url: h.url, format: h.format, events: h.events, createdAt: h.createdAt, failing };
}

export function deliveryView(d: WebhookDeliveryRecord) {
  return {
    id: d.id,
    event: d.event,
    createdAt: d.createdAt,
    attempts: d.attempts,
    state: d.state,
    lastStatus: d.lastStatus,
    lastError: d.lastError,
    retryAt: d.retryAt,
  };
}

/** Adds a hook to `channel`; the answer holds its secret, which is not shown again. */
export async function addHook(
  store: Store,
  channel: string,
  body: z.infer<typeof newHookSchema>,
  opts: { allowPrivate: boolean; resolve?: (host: string) => Promise<string[]> },
): Promise<{ webhook: ReturnType<typeof hookView>; secret: string }> {
  if (store.webhooks.list(channel).length >= MAX_HOOKS_PER_CHANNEL)
    throw new ApiError('WEBHOOK_LIMIT', `a channel has at most ${MAX_HOOKS_PER_CHANNEL} webhooks`);
  const target = await checkTarget(body.url, { allowPrivate: opts.allowPrivate, resolve: opts.resolve });
  if (!target.ok)
    throw new ApiError('WEBHOOK_TARGET_REFUSED', `this webhook URL is refused: ${target.reason}`);
  const secret = `whsec_${randomBytes(32).toString('base64url')}`;
  const h = store.webhooks.add({
    id: `wh_${randomBytes(9).toString('base64url')}`,
    channel,
    url: target.url.href,
    secret,
    format: body.format,
    events: [...new Set(body.events ?? DEFAULT_HOOK_EVENTS)],
  });
  return { webhook: hookView(h, false), secret };
}

/** The channel's own hook `id`, or NOT_FOUND (another channel's hook is not revealed either). */
export function ownHook(store: Store, channel: string, id: string): WebhookRecord {
  const h = store.webhooks.get(id);
  if (!h || h.channel !== channel) throw new ApiError('NOT_FOUND', 'no such webhook on this channel');
  return h;
}

/** What the APIs need of the running webhook service. */
export interface WebhookControl {
  reload(): void;
  failing(id: string): boolean;
  allowPrivateTargets: boolean;
}

/**
 * The four things a channel's owner does with its hooks, whichever API they came through (`via` is logged):
 * the channel is the one the caller's credentials manage, checked by that API.
 */
export function channelWebhooks(store: Store, control: WebhookControl, logger: Logger, via: string) {
  return {
    list: (channel: string) => ({
      webhooks: store.webhooks.list(channel).map((h) => hookView(h, control.failing(h.id))),
    }),
    async add(channel: string, body: unknown) {
      const made = await addHook(store, channel, parseBody(newHookSchema, body), {
        allowPrivate: control.allowPrivateTargets,
      });
      control.reload();
      logger.info(
        { stream: channel, webhook: made.webhook.id, events: made.webhook.events, via },
        'webhook added',
      );
      return made;
    },
    remove(channel: string, id: string) {
      const h = ownHook(store, channel, id);
      store.webhooks.remove(h.id);
      control.reload();
      logger.info({ stream: channel, webhook: h.id, via }, 'webhook removed');
    },
    deliveries: (channel: string, id: string) => ({
      deliveries: store.webhooks.deliveries(ownHook(store, channel, id).id, 50).map(deliveryView),
    }),
  };
}
