/**
 * The hub's store, as the rest of the hub sees it (over SQLite in ./sqlite-store.ts or PostgreSQL in
 * ./pg-store.ts; ./open-hub-store.ts picks one). Every method is synchronous (ADR 0016). Errors are HubError
 * with a stable code.
 * Secrets (stream keys, passwords) go in and are hashed; they never come back out.
 */
import type { ApiErrorCode } from '../../common/errors/index.js';
import type { NameRegistry } from './name-registry.js';

/** The store's and the hub APIs' codes: the API group of the one list in src/common/errors. */
export type HubErrorCode = ApiErrorCode;

export interface StreamerRecord {
  name: string;
  title: string;
  description: string;
  category: string;
  /** A viewing password is set (the password itself is never returned). */
  hasPassword: boolean;
  /** How the ingress treats this streamer's video; null: the ingress's own `transcode.mode`. */
  transcode: StreamerTranscode | null;
  /** Whether and what ingresses record of this streamer; null: each ingress's own `recording`. */
  recording: StreamerRecordingChoice | null;
  createdAt: number;
  lastLiveAt: number | null;
}

export type StreamerTranscode = 'ladder' | 'passthrough' | 'off';
export type StreamerRecordingChoice = 'off' | 'all' | 'source' | 'top-and-lowest';
export const RECORDING_CHOICES: readonly StreamerRecordingChoice[] = [
  'off',
  'all',
  'source',
  'top-and-lowest',
];

export type UserRole = 'user' | 'admin';

export interface UserRecord {
  id: number;
  name: string;
  role: UserRole;
  createdAt: number;
}

export interface EmojiRecord {
  name: string;
  mime: 'image/png' | 'image/gif' | 'image/webp';
  data: Buffer;
}

export type ChatKind = 'text' | 'me' | 'system' | 'drawing';
export type ChatBadge = 'host' | 'moderator' | 'user' | 'guest' | 'system';

export interface StoredChatMessage {
  channel: string;
  /** Per-channel sequence number, strictly increasing: the order every viewer sees. */
  seq: number;
  kind: ChatKind;
  author: string;
  color: string;
  badge: ChatBadge;
  /** Plain text as typed (after filtering); clients render it as text, never as markup. */
  text: string;
  /** data:image/png;base64,… for drawings only. */
  image?: string;
  at: number;
  /** A system line's catalogue key (`chat.system.…`) and its params: pages show it in their language. */
  key?: string;
  params?: Record<string, string | number>;
}

export type SanctionKind = 'mute' | 'ban';
export interface SanctionTarget {
  type: 'user' | 'name' | 'ip';
  value: string;
}
export interface SanctionRecord {
  channel: string;
  kind: SanctionKind;
  target: SanctionTarget;
  until: number | null;
  by: string;
  at: number;
}

export interface StreamerRepo {
  add(input: {
    name: string;
    key: string;
    title?: string;
    description?: string;
    category?: string;
    password?: string;
  }): StreamerRecord;
  remove(name: string): void;
  list(): StreamerRecord[];
  get(name: string): StreamerRecord | undefined;
  update(
    name: string,
    patch: {
      title?: string;
      description?: string;
      category?: string;
      password?: string | null;
      transcode?: StreamerTranscode | null;
      recording?: StreamerRecordingChoice | null;
    },
  ): StreamerRecord;
  /** Replaces the key; the old one stops working at once. */
  rotateKey(name: string, newKey: string): void;
  /** The streamer whose key this is, or undefined. Constant work whether or not it matches. */
  verifyKey(key: string): StreamerRecord | undefined;
  verifyPassword(name: string, password: string): boolean;
  markLive(name: string, at: number): void;
  /** The streamer's own account (linked when it was registered with the stream key), by account name. */
  ownerOf(name: string): string | undefined;
  /** The channel an account owns, if any. */
  ownedBy(userId: number): string | undefined;
}

export interface UserRepo {
  /** `claim`: the streamer whose own account this is (the caller proved the stream key); links it as the owner. */
  create(name: string, password: string, role?: UserRole, claim?: string): UserRecord;
  verify(name: string, password: string): UserRecord | undefined;
  get(id: number): UserRecord | undefined;
  getByName(name: string): UserRecord | undefined;
  list(): UserRecord[];
  remove(name: string): void;
  setRole(name: string, role: UserRole): UserRecord;
  setPassword(name: string, password: string): void;
}

export interface ModeratorRepo {
  add(channel: string, userName: string): void;
  remove(channel: string, userName: string): void;
  list(channel: string): string[];
  is(channel: string, userName: string): boolean;
}

export interface SanctionRepo {
  add(s: Omit<SanctionRecord, 'at'>): void;
  remove(channel: string, kind: SanctionKind, target: SanctionTarget): boolean;
  /** True while an unexpired sanction of this kind matches the target. */
  active(channel: string, kind: SanctionKind, target: SanctionTarget, now?: number): boolean;
  list(channel: string, now?: number): SanctionRecord[];
}

export interface EmojiRepo {
  add(e: EmojiRecord): void;
  remove(name: string): void;
  list(): Array<{ name: string; mime: EmojiRecord['mime'] }>;
  get(name: string): EmojiRecord | undefined;
}

export interface FollowRepo {
  follow(userId: number, streamer: string): void;
  unfollow(userId: number, streamer: string): void;
  list(userId: number): string[];
  count(streamer: string): number;
  /** Whether the account named `user` (any case) follows `streamer`. */
  isFollowing(user: string, streamer: string): boolean;
}

export interface ChatHistoryRepo {
  /**
   * Stores a message and trims the channel to the configured history size. `origin` (an edge's id for the
   * viewer action behind it) is stored in the same transaction, for `hasOrigin` (ADR 0018).
   */
  append(msg: StoredChatMessage, origin?: string): void;
  /** Whether a message with this origin was stored (in the last hour): a resent action is not posted twice. */
  hasOrigin(origin: string): boolean;
  /** The message posted for this origin, while history keeps it. */
  byOrigin(origin: string): StoredChatMessage | undefined;
  recent(channel: string, limit: number): StoredChatMessage[];
  /** The highest seq stored for a channel (0 if none): the hub continues numbering after a restart. */
  lastSeq(channel: string): number;
  remove(channel: string, seqs: number[]): void;
  clear(channel: string): void;
}

export interface BroadcastRecord {
  /** Public id, also the recording's folder: `<stream>/<id>/` in the recording storage. */
  id: string;
  /** The channel's name when it was recorded (the storage folder). */
  stream: string;
  title: string;
  category: string;
  startedAt: number;
  /** null while the broadcast is live (or its ingress never reported the end). */
  endedAt: number | null;
  /** Media length recorded (the longest rendition), ms. */
  durationMs: number;
  bytes: number;
  peakViewers: number;
  /** Hidden from the channel's list and from viewers; the streamer can show it again. */
  hidden: boolean;
}

export interface BroadcastRepo {
  /** Opens a broadcast of a streamer (idempotent: a repeated report is the same row). */
  start(b: {
    id: string;
    stream: string;
    title: string;
    category: string;
    startedAt: number;
  }): BroadcastRecord;
  end(id: string, e: { endedAt: number; durationMs: number; bytes: number }): BroadcastRecord;
  /** Raises the peak viewer count if `viewers` is higher. */
  notePeak(id: string, viewers: number): void;
  get(id: string): BroadcastRecord | undefined;
  /** A channel's broadcasts, newest first (hidden ones included: callers filter). */
  list(stream: string): BroadcastRecord[];
  /** Every broadcast, oldest first (retention). */
  all(): BroadcastRecord[];
  /** Broadcasts not ended yet (live, or cut short by an ingress that never reported the end). */
  unended(): BroadcastRecord[];
  update(id: string, patch: { title?: string; hidden?: boolean }): BroadcastRecord;
  remove(id: string): boolean;
}

export interface ClipRecord {
  /** 12 hex digits: the clip's page is /clips/ID. */
  id: string;
  broadcastId: string;
  /** The broadcast's channel (its storage folder). */
  stream: string;
  title: string;
  /** The account that made it. */
  createdBy: string;
  createdAt: number;
  /** Where it starts in the broadcast's recording (epochs end to end), ms. */
  startMs: number;
  durationMs: number;
  bytes: number;
}

export interface ClipRepo {
  add(c: Omit<ClipRecord, 'stream'>): ClipRecord;
  get(id: string): ClipRecord | undefined;
  /** A channel's clips, newest first. */
  list(stream: string): ClipRecord[];
  /** How many clips an account made since `since` (the rate limit). */
  countBy(createdBy: string, since: number): number;
  remove(id: string): boolean;
}

/** A webhook as stored (ADR 0021): a streamer's (`channel`) or the operator's (null: every channel). */
export interface WebhookRecord {
  id: string;
  channel: string | null;
  url: string;
  secret: string;
  format: 'json' | 'discord';
  events: string[];
  createdAt: number;
}

/** One event for one hook: the delivery log's line and, while pending, the queue's entry. */
export interface WebhookDeliveryRecord {
  id: string;
  hookId: string;
  event: string;
  channel: string;
  /** The event as JSON (the body is rendered from it at each attempt, with that attempt's signature). */
  payload: string;
  createdAt: number;
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  retryAt: number | null;
  state: 'pending' | 'delivered' | 'given_up';
}

export interface WebhookRepo {
  /** A new hook; `channel` must be a streamer's name (NOT_FOUND otherwise), null for the operator's. */
  add(h: Omit<WebhookRecord, 'createdAt'>): WebhookRecord;
  get(id: string): WebhookRecord | undefined;
  /** Every hook, oldest first (what the dispatcher runs). */
  all(): WebhookRecord[];
  /** A channel's own hooks (not the operator's), oldest first. */
  list(channel: string): WebhookRecord[];
  remove(id: string): boolean;
  /** A delivery queued for a hook (its first attempt still to come). */
  enqueue(d: Pick<WebhookDeliveryRecord, 'id' | 'hookId' | 'event' | 'channel' | 'payload'>): void;
  /** An attempt's outcome: delivered, given up, or pending with the time of the next attempt. */
  recordAttempt(
    id: string,
    a: {
      attempts: number;
      status: number | null;
      error: string | null;
      retryAt: number | null;
      state: WebhookDeliveryRecord['state'];
    },
  ): void;
  /** Deliveries still pending, per hook in the order they were queued (what a new leader resumes). */
  pending(): WebhookDeliveryRecord[];
  /** A hook's delivery log, newest first. */
  deliveries(hookId: string, limit: number): WebhookDeliveryRecord[];
  /** Removes deliveries that ended (delivered or given up) before `before`; how many went. */
  prune(before: number): number;
}

/** Who may chat in a channel besides its staff (the host, moderators and admins always may). */
export type ChatWho = 'everyone' | 'accounts' | 'followers';
/** Links in chat: allowed, held for a moderator when a first-time chatter sends one, or blocked. */
export type ChatLinks = 'allow' | 'review' | 'block';

/** A channel's own chat rules (issue 16); the defaults when it never set any. */
export interface ChatRules {
  /** Seconds between two messages of one chatter; 0 is off. */
  slowModeS: number;
  who: ChatWho;
  links: ChatLinks;
  /** Domains whose links always pass (a domain covers its subdomains). */
  linkAllow: string[];
  /** Words masked in this channel, besides the operator's list. */
  blockedWords: string[];
}

export const DEFAULT_CHAT_RULES: Readonly<ChatRules> = Object.freeze({
  slowModeS: 0,
  who: 'everyone',
  links: 'allow',
  linkAllow: [],
  blockedWords: [],
});

/** One line of a channel's moderation log. */
export interface ModerationLogEntry {
  id: number;
  channel: string;
  at: number;
  /** Who did it: a chat name, or the channel's name for a change from the dashboard or the remote API. */
  actor: string;
  action: string;
  target: string | null;
  details: Record<string, unknown> | null;
}

export interface ModerationRepo {
  rules(channel: string): ChatRules;
  /** Stores the channel's rules (NOT_FOUND for an unknown channel). */
  setRules(channel: string, rules: ChatRules): ChatRules;
  /** Whether `who` (an account or a name, lower-cased) has had a message accepted in the channel. */
  isRegular(channel: string, who: string): boolean;
  markRegular(channel: string, who: string): void;
  log(e: Omit<ModerationLogEntry, 'id' | 'at'>): void;
  /** The newest first. */
  logList(channel: string, limit: number): ModerationLogEntry[];
}

/** A go-live notification for one follower. */
export interface NotificationRecord {
  id: number;
  channel: string;
  kind: 'golive';
  title: string;
  at: number;
  read: boolean;
}

export interface NotificationRepo {
  /** One go-live notification for each follower of `channel`; how many were written. */
  fanOutGoLive(channel: string, title: string): number;
  /** A user's newest notifications first, at most `limit`. */
  list(userId: number, limit: number): NotificationRecord[];
  unreadCount(userId: number): number;
  /** Marks the user's notifications read, up to and including `upToId` (all when absent). */
  markRead(userId: number, upToId?: number): void;
  /** Deletes notifications from before `before`; how many went. */
  prune(before: number): number;
}

/** A browser's push subscription (the PushSubscription's endpoint and keys, base64url). */
export interface PushSubscriptionInput {
  endpoint: string;
  p256dh: string;
  auth: string;
}

export interface PushTarget extends PushSubscriptionInput {
  id: number;
}

export interface PushRepo {
  /** Stores (or moves to this account) a browser's subscription; PUSH_LIMIT past 10 per account. */
  add(userId: number, sub: PushSubscriptionInput): void;
  /** Removes one of the account's subscriptions; whether it was there. */
  remove(userId: number, endpoint: string): boolean;
  endpoints(userId: number): string[];
  /** The subscriptions of every follower of `channel`. */
  followersOf(channel: string): PushTarget[];
  /** A subscription the push service said is gone (404/410). */
  delete(id: number): void;
  /** Counts a failed push; the failures in a row so far. */
  recordFailure(id: number): number;
  recordSuccess(id: number): void;
}

/** A channel's restream output; `keySealed` is the third party's key, sealed (never in the clear here). */
export interface RestreamOutputRecord {
  id: string;
  name: string;
  url: string;
  keySealed: string;
  rendition: string;
  createdAt: number;
}

export interface RestreamRepo {
  list(channel: string): RestreamOutputRecord[];
  /** UNKNOWN_NAME for a channel that does not exist. */
  add(channel: string, o: Omit<RestreamOutputRecord, 'createdAt'>): RestreamOutputRecord;
  remove(channel: string, id: string): boolean;
}

/** One time a channel was live (analytics, issue 16); `endedAt` unset while it still is. */
export interface AnalyticsLive {
  id: string;
  channel: string;
  startedAt: number;
  endedAt?: number;
}

/** Viewers seen at one edge over one transport, standing for `spanS` seconds from `at`. */
export interface AnalyticsSample {
  at: number;
  spanS: number;
  edge: string;
  region: string;
  transport: string;
  viewers: number;
}

export interface AnalyticsActivity {
  at: number;
  spanS: number;
  messages: number;
  follows: number;
}

export type AnalyticsUniqueKind = 'viewer' | 'chatter';

/** What one sampling period adds for one channel, written in one transaction. */
export interface AnalyticsPeriod {
  channel: string;
  at: number;
  spanS: number;
  samples: Omit<AnalyticsSample, 'at' | 'spanS'>[];
  activity?: { messages: number; follows: number };
  /** The period's viewers and chatters of the channel's current live, as sketches (hyperloglog.ts, merged in). */
  uniques?: { liveId: string; kind: AnalyticsUniqueKind; sketch: Uint8Array }[];
}

/** Reads take a channel, or null for every channel (the operator's view of the network). */
export interface AnalyticsRepo {
  /** Starts a live (an id already there is left as it is). UNKNOWN_NAME for a channel that does not exist. */
  startLive(live: { id: string; channel: string; startedAt: number }): void;
  endLive(id: string, endedAt: number): void;
  /** Lives not ended, every channel's. */
  openLives(): AnalyticsLive[];
  /** A channel that no longer exists is skipped (false). */
  record(period: AnalyticsPeriod): boolean;
  /** Lives overlapping [from, to), newest first, at most `limit`. */
  lives(channel: string | null, from: number, to: number, limit: number): AnalyticsLive[];
  live(id: string): AnalyticsLive | undefined;
  samples(channel: string | null, from: number, to: number): AnalyticsSample[];
  /**
   * Viewer-seconds per `stepS` bucket (aligned to the epoch) and group, summed in the database: a month of
   * rows comes back as one row per bucket and group.
   */
  series(
    channel: string | null,
    from: number,
    to: number,
    by: 'transport' | 'region' | 'edge',
    stepS: number,
  ): { bucket: number; name: string; viewerSeconds: number }[];
  activity(channel: string | null, from: number, to: number): AnalyticsActivity[];
  /** The sketch of each live overlapping [from, to) (merge them for the range's distinct count). */
  uniques(channel: string | null, from: number, to: number, kind: AnalyticsUniqueKind): Uint8Array[];
  /** Folds rows older than `before` into `spanS`-second rows; the rows folded. */
  fold(before: number, spanS: number): number;
  /** Deletes rows (and lives ended) before `cutoff`; the rows deleted. */
  deleteBefore(cutoff: number): number;
}

/** Values every hub on this store shares, written once. */
export interface SettingsRepo {
  /** The stored value, or `make()`'s, stored now (the first hub to store one wins). */
  getOrCreate(name: string, make: () => string): string;
}

export interface Store {
  names: NameRegistry;
  streamers: StreamerRepo;
  users: UserRepo;
  moderators: ModeratorRepo;
  sanctions: SanctionRepo;
  emoji: EmojiRepo;
  follows: FollowRepo;
  chat: ChatHistoryRepo;
  broadcasts: BroadcastRepo;
  clips: ClipRepo;
  webhooks: WebhookRepo;
  moderation: ModerationRepo;
  notifications: NotificationRepo;
  push: PushRepo;
  settings: SettingsRepo;
  restream: RestreamRepo;
  analytics: AnalyticsRepo;
  close(): void;
}
