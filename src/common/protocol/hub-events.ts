/**
 * The community events the hub raises (ADR 0021): once, by the leader, from its own state changes. Webhooks,
 * go-live notifications, analytics and the moderation log consume them; none reads another's tables. They
 * live in src/common because the hub's configuration names them too (the operator's hooks).
 */
export type HubEvent =
  | { type: 'stream.started'; channel: string; at: number; title: string; category: string }
  | { type: 'stream.ended'; channel: string; at: number; durationS: number }
  | { type: 'stream.title_changed'; channel: string; at: number; title: string; category: string }
  | { type: 'channel.followed'; channel: string; at: number; follower: string }
  | { type: 'chat.message'; channel: string; at: number; author: string; text: string }
  | { type: 'clip.created'; channel: string; at: number; clip: string; url: string };

export type HubEventType = HubEvent['type'];

export const HUB_EVENT_TYPES: readonly HubEventType[] = [
  'stream.started',
  'stream.ended',
  'stream.title_changed',
  'channel.followed',
  'chat.message',
  'clip.created',
];

/** Events a hook receives only when it asked for them by name (a busy chat is many requests). */
export const OPT_IN_EVENTS: ReadonlySet<HubEventType> = new Set(['chat.message']);

/** The events a hook gets when it names none: every event but the opt-in ones. */
export const DEFAULT_HOOK_EVENTS: readonly HubEventType[] = HUB_EVENT_TYPES.filter(
  (e) => !OPT_IN_EVENTS.has(e),
);
