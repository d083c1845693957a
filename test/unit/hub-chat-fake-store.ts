/**
 * Fakes for the chat hub tests: an in-memory Store (plain maps; secrets hashed with sha256, nothing clever),
 * a fake network implementing ChatOutput with one inbox per connection, and a harness that wires a ChatHub.
 */
import { createHash } from 'node:crypto';
import { pino } from 'pino';
import { namesCollide } from '../../src/common/names.js';
import { ChatHub } from '../../src/hub/chat/chat-hub.js';
import type { ChatEvent, ChatIdentity, ChatMessageView, ConnRef } from '../../src/hub/chat/events.js';
import {
  DEFAULT_CHAT_LIMITS,
  type ChatLimits,
  type ChatOutput,
  type SessionInfo,
} from '../../src/hub/chat/types.js';
import { HubError } from '../../src/hub/store/errors.js';
import type {
  BroadcastRecord,
  ClipRecord,
  EmojiRecord,
  SanctionRecord,
  SanctionTarget,
  StoredChatMessage,
  Store,
  StreamerRecord,
  UserRecord,
  UserRole,
  WebhookDeliveryRecord,
  WebhookRecord,
  ChatRules,
  ModerationLogEntry,
} from '../../src/hub/store/types.js';
import { DEFAULT_CHAT_RULES } from '../../src/hub/store/types.js';

const hash = (s: string) => createHash('sha256').update(s).digest('hex');
const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

export class FakeStore implements Store {
  readonly calls: string[] = [];
  clock: () => number = () => Date.now();
  private readonly streamerRows = new Map<
    string,
    StreamerRecord & { keyHash: string; passwordHash?: string }
  >();
  private readonly userRows: Array<UserRecord & { passwordHash: string }> = [];
  private readonly mods = new Set<string>();
  private readonly sanctionRows: SanctionRecord[] = [];
  private readonly emojiRows = new Map<string, EmojiRecord>();
  private readonly followRows = new Set<string>();
  private readonly chatRows = new Map<string, StoredChatMessage[]>();
  private readonly origins = new Map<string, { channel: string; seq: number }>();
  private nextUserId = 1;
  private readonly owners = new Map<string, number>();

  constructor(private readonly historySize = 500) {}

  streamers: Store['streamers'] = {
    add: (input) => {
      const rec: StreamerRecord = {
        name: input.name,
        title: input.title ?? '',
        description: input.description ?? '',
        category: input.category ?? '',
        hasPassword: input.password !== undefined,
        transcode: null,
        recording: null,
        createdAt: this.clock(),
        lastLiveAt: null,
      };
      this.streamerRows.set(input.name, {
        ...rec,
        keyHash: hash(input.key),
        passwordHash: input.password && hash(input.password),
      });
      return rec;
    },
    remove: (name) => void this.streamerRows.delete(name),
    list: () => [...this.streamerRows.values()].map(publicStreamer),
    get: (name) => {
      const row = this.streamerRows.get(name);
      return row && publicStreamer(row);
    },
    update: (name, patch) => {
      const row = this.streamerRows.get(name);
      if (!row) throw new Error(`unknown streamer ${name}`);
      Object.assign(row, { ...patch, password: undefined });
      if (patch.password !== undefined)
        row.passwordHash = patch.password === null ? undefined : hash(patch.password);
      row.hasPassword = row.passwordHash !== undefined;
      return publicStreamer(row);
    },
    rotateKey: (name, newKey) => {
      const row = this.streamerRows.get(name);
      if (row) row.keyHash = hash(newKey);
    },
    verifyKey: (key) => {
      const row = [...this.streamerRows.values()].find((r) => r.keyHash === hash(key));
      return row && publicStreamer(row);
    },
    verifyPassword: (name, password) => this.streamerRows.get(name)?.passwordHash === hash(password),
    markLive: (name, at) => {
      const row = this.streamerRows.get(name);
      if (row) row.lastLiveAt = at;
    },
    ownerOf: (name) => {
      const id = this.owners.get(name);
      return this.userRows.find((u) => u.id === id)?.name;
    },
    ownedBy: (userId) => [...this.owners].find(([, id]) => id === userId)?.[0],
  };

  /** Same rules as the SQLite registry, over the maps above. */
  names: Store['names'] = {
    holders: (name) => [
      ...[...this.streamerRows.keys()]
        .filter((n) => namesCollide(n, name))
        .map((n) => ({ kind: 'streamer' as const, name: n })),
      ...this.userRows
        .filter((u) => namesCollide(u.name, name))
        .map((u) => ({ kind: 'user' as const, name: u.name })),
    ],
    refuseTaken: (kind, name, claim) => {
      const h = this.names
        .holders(name)
        .find((x) => !(kind === 'user' && x.kind === 'streamer' && x.name === claim));
      if (h)
        throw Object.assign(new Error(`name ${name} collides with ${h.kind} ${h.name}`), {
          code: 'DUPLICATE_NAME',
        });
    },
    refuseEmojiTaken: () => undefined,
    setKey: () => undefined,
  };

  users: Store['users'] = {
    create: (name, password, role: UserRole = 'user', claim?: string) => {
      if (this.userRows.some((u) => same(u.name, name))) throw new Error(`duplicate user ${name}`);
      if (claim !== undefined) this.owners.set(claim, this.nextUserId);
      const row = {
        id: this.nextUserId++,
        name,
        role,
        createdAt: this.clock(),
        passwordHash: hash(password),
      };
      this.userRows.push(row);
      return publicUser(row);
    },
    verify: (name, password) => {
      const row = this.userRows.find((u) => same(u.name, name) && u.passwordHash === hash(password));
      return row && publicUser(row);
    },
    get: (id) => {
      const row = this.userRows.find((u) => u.id === id);
      return row && publicUser(row);
    },
    getByName: (name) => {
      const row = this.userRows.find((u) => same(u.name, name));
      return row && publicUser(row);
    },
    list: () => this.userRows.map(publicUser),
    remove: (name) => {
      const i = this.userRows.findIndex((u) => same(u.name, name));
      if (i >= 0) this.userRows.splice(i, 1);
    },
    setRole: (name, role) => {
      const row = this.userRows.find((u) => same(u.name, name));
      if (!row) throw new Error(`unknown user ${name}`);
      row.role = role;
      return publicUser(row);
    },
    setPassword: (name, password) => {
      const row = this.userRows.find((u) => same(u.name, name));
      if (row) row.passwordHash = hash(password);
    },
  };

  moderators: Store['moderators'] = {
    add: (channel, userName) => void this.mods.add(`${channel}\0${userName.toLowerCase()}`),
    remove: (channel, userName) => void this.mods.delete(`${channel}\0${userName.toLowerCase()}`),
    list: (channel) =>
      [...this.mods].filter((k) => k.startsWith(`${channel}\0`)).map((k) => k.slice(channel.length + 1)),
    is: (channel, userName) => this.mods.has(`${channel}\0${userName.toLowerCase()}`),
  };

  sanctions: Store['sanctions'] = {
    add: (s) => {
      this.calls.push(`sanction.add ${s.kind} ${s.target.type}:${s.target.value}`);
      this.sanctionRows.push({ ...s, target: { ...s.target }, at: this.clock() });
    },
    remove: (channel, kind, target) => {
      const before = this.sanctionRows.length;
      for (let i = this.sanctionRows.length - 1; i >= 0; i--) {
        const s = this.sanctionRows[i]!;
        if (s.channel === channel && s.kind === kind && sameTarget(s.target, target))
          this.sanctionRows.splice(i, 1);
      }
      return this.sanctionRows.length < before;
    },
    active: (channel, kind, target, now = this.clock()) =>
      this.sanctionRows.some(
        (s) =>
          s.channel === channel &&
          s.kind === kind &&
          sameTarget(s.target, target) &&
          (s.until === null || s.until > now),
      ),
    list: (channel, now = this.clock()) =>
      this.sanctionRows
        .filter((s) => s.channel === channel && (s.until === null || s.until > now))
        .map((s) => ({ ...s })),
  };

  emoji: Store['emoji'] = {
    add: (e) => void this.emojiRows.set(e.name, e),
    remove: (name) => void this.emojiRows.delete(name),
    list: () => [...this.emojiRows.values()].map((e) => ({ name: e.name, mime: e.mime })),
    get: (name) => this.emojiRows.get(name),
  };

  private readonly broadcastRows = new Map<string, BroadcastRecord>();
  broadcasts: Store['broadcasts'] = {
    start: (b) => {
      const rec = this.broadcastRows.get(b.id) ?? {
        ...b,
        endedAt: null,
        durationMs: 0,
        bytes: 0,
        peakViewers: 0,
        hidden: false,
      };
      this.broadcastRows.set(b.id, rec);
      return { ...rec };
    },
    end: (id, e) => {
      const rec = this.broadcastRows.get(id);
      if (!rec) throw new HubError('NOT_FOUND', 'no such broadcast');
      Object.assign(rec, e);
      return { ...rec };
    },
    notePeak: (id, viewers) => {
      const rec = this.broadcastRows.get(id);
      if (rec && rec.peakViewers < viewers) rec.peakViewers = viewers;
    },
    get: (id) => {
      const rec = this.broadcastRows.get(id);
      return rec ? { ...rec } : undefined;
    },
    list: (stream) =>
      [...this.broadcastRows.values()]
        .filter((b) => b.stream === stream)
        .sort((a, b) => b.startedAt - a.startedAt),
    all: () => [...this.broadcastRows.values()].sort((a, b) => a.startedAt - b.startedAt),
    unended: () =>
      [...this.broadcastRows.values()]
        .filter((b) => b.endedAt === null)
        .sort((a, b) => a.startedAt - b.startedAt),
    update: (id, patch) => {
      const rec = this.broadcastRows.get(id);
      if (!rec) throw new HubError('NOT_FOUND', 'no such broadcast');
      if (patch.title !== undefined) rec.title = patch.title;
      if (patch.hidden !== undefined) rec.hidden = patch.hidden;
      return { ...rec };
    },
    remove: (id) => this.broadcastRows.delete(id),
  };

  private readonly clipRows = new Map<string, ClipRecord>();
  clips: Store['clips'] = {
    add: (c) => {
      const b = this.broadcastRows.get(c.broadcastId);
      if (!b) throw new HubError('NOT_FOUND', 'no such broadcast');
      const rec = { ...c, stream: b.stream };
      this.clipRows.set(c.id, rec);
      return { ...rec };
    },
    get: (id) => {
      const c = this.clipRows.get(id);
      return c ? { ...c } : undefined;
    },
    list: (stream) =>
      [...this.clipRows.values()]
        .filter((c) => c.stream === stream)
        .sort((a, b) => b.createdAt - a.createdAt),
    countBy: (who, since) =>
      [...this.clipRows.values()].filter((c) => c.createdBy === who && c.createdAt >= since).length,
    remove: (id) => this.clipRows.delete(id),
  };

  private readonly hookRows = new Map<string, WebhookRecord>();
  private readonly deliveryRows = new Map<string, WebhookDeliveryRecord>();
  webhooks: Store['webhooks'] = {
    add: (h) => {
      const rec = { ...h, events: [...h.events], createdAt: this.clock() };
      this.hookRows.set(h.id, rec);
      return { ...rec };
    },
    get: (id) => {
      const h = this.hookRows.get(id);
      return h ? { ...h } : undefined;
    },
    all: () => [...this.hookRows.values()].map((h) => ({ ...h })),
    list: (channel) =>
      [...this.hookRows.values()].filter((h) => h.channel === channel).map((h) => ({ ...h })),
    remove: (id) => {
      for (const [k, d] of this.deliveryRows) if (d.hookId === id) this.deliveryRows.delete(k);
      return this.hookRows.delete(id);
    },
    enqueue: (d) => {
      this.deliveryRows.set(d.id, {
        ...d,
        createdAt: this.clock(),
        attempts: 0,
        lastStatus: null,
        lastError: null,
        retryAt: null,
        state: 'pending',
      });
    },
    recordAttempt: (id, a) => {
      const d = this.deliveryRows.get(id);
      if (d)
        Object.assign(d, {
          attempts: a.attempts,
          lastStatus: a.status,
          lastError: a.error,
          retryAt: a.retryAt,
          state: a.state,
        });
    },
    pending: () =>
      [...this.deliveryRows.values()].filter((d) => d.state === 'pending').map((d) => ({ ...d })),
    deliveries: (hookId, limit) =>
      [...this.deliveryRows.values()]
        .filter((d) => d.hookId === hookId)
        .reverse()
        .slice(0, limit)
        .map((d) => ({ ...d })),
    prune: (before) => {
      let n = 0;
      for (const [k, d] of this.deliveryRows)
        if (d.state !== 'pending' && d.createdAt < before) n += Number(this.deliveryRows.delete(k));
      return n;
    },
  };

  follows: Store['follows'] = {
    follow: (userId, streamer) => void this.followRows.add(`${userId}\0${streamer}`),
    unfollow: (userId, streamer) => void this.followRows.delete(`${userId}\0${streamer}`),
    list: (userId) =>
      [...this.followRows].filter((k) => k.startsWith(`${userId}\0`)).map((k) => k.split('\0')[1]!),
    count: (streamer) => [...this.followRows].filter((k) => k.endsWith(`\0${streamer}`)).length,
    isFollowing: (user, streamer) => {
      const u = this.userRows.find((r) => same(r.name, user));
      return u !== undefined && this.followRows.has(`${u.id}\0${streamer}`);
    },
  };

  private readonly rulesRows = new Map<string, ChatRules>();
  private readonly regulars = new Set<string>();
  readonly modLog: ModerationLogEntry[] = [];

  /** The chat does not use notifications: nothing is kept. */
  notifications: Store['notifications'] = {
    fanOutGoLive: () => 0,
    list: () => [],
    unreadCount: () => 0,
    markRead: () => undefined,
    prune: () => 0,
  };

  /** Nor Web Push. */
  push: Store['push'] = {
    add: () => undefined,
    remove: () => false,
    endpoints: () => [],
    followersOf: () => [],
    delete: () => undefined,
    recordFailure: () => 0,
    recordSuccess: () => undefined,
  };

  settings: Store['settings'] = { getOrCreate: (_name, make) => make() };

  /** Nor restream outputs. */
  restream: Store['restream'] = {
    list: () => [],
    add: () => {
      throw new Error('not in the chat tests');
    },
    remove: () => false,
  };

  /** Nor analytics. */
  analytics: Store['analytics'] = {
    startLive: () => undefined,
    endLive: () => undefined,
    openLives: () => [],
    record: () => false,
    lives: () => [],
    live: () => undefined,
    samples: () => [],
    series: () => [],
    activity: () => [],
    uniques: () => [],
    fold: () => 0,
    deleteBefore: () => 0,
  };

  moderation: Store['moderation'] = {
    rules: (channel) =>
      structuredClone(
        this.rulesRows.get(channel) ?? { ...DEFAULT_CHAT_RULES, linkAllow: [], blockedWords: [] },
      ),
    setRules: (channel, rules) => {
      if (!this.streamerRows.has(channel)) throw new HubError('NOT_FOUND', 'no such channel', { channel });
      this.rulesRows.set(channel, structuredClone(rules));
      return structuredClone(rules);
    },
    isRegular: (channel, who) => this.regulars.has(`${channel}\0${who.toLowerCase()}`),
    markRegular: (channel, who) => void this.regulars.add(`${channel}\0${who.toLowerCase()}`),
    log: (e) => void this.modLog.push({ ...e, id: this.modLog.length + 1, at: this.clock() }),
    logList: (channel, limit) =>
      this.modLog
        .filter((e) => e.channel === channel)
        .reverse()
        .slice(0, limit),
  };

  chat: Store['chat'] = {
    append: (msg, origin) => {
      this.calls.push(`chat.append ${msg.channel}#${msg.seq}`);
      if (origin !== undefined) this.origins.set(origin, { channel: msg.channel, seq: msg.seq });
      const rows = this.chatRows.get(msg.channel) ?? [];
      rows.push(structuredClone(msg));
      if (rows.length > this.historySize) rows.splice(0, rows.length - this.historySize);
      this.chatRows.set(msg.channel, rows);
    },
    hasOrigin: (origin) => this.origins.has(origin),
    byOrigin: (origin) => {
      const o = this.origins.get(origin);
      const m = o && this.chatRows.get(o.channel)?.find((r) => r.seq === o.seq);
      return m ? structuredClone(m) : undefined;
    },
    recent: (channel, limit) =>
      (this.chatRows.get(channel) ?? []).slice(-limit).map((m) => structuredClone(m)),
    lastSeq: (channel) => Math.max(0, ...(this.chatRows.get(channel) ?? []).map((m) => m.seq)),
    remove: (channel, seqs) => {
      this.calls.push(`chat.remove ${channel} ${seqs.join(',')}`);
      this.chatRows.set(
        channel,
        (this.chatRows.get(channel) ?? []).filter((m) => !seqs.includes(m.seq)),
      );
    },
    clear: (channel) => {
      this.calls.push(`chat.clear ${channel}`);
      this.chatRows.delete(channel);
    },
  };

  close(): void {}

  /** Everything stored for a channel, in order (test inspection). */
  stored(channel: string): StoredChatMessage[] {
    return (this.chatRows.get(channel) ?? []).map((m) => structuredClone(m));
  }
}

function sameTarget(a: SanctionTarget, b: SanctionTarget): boolean {
  return a.type === b.type && a.value === b.value;
}

function publicStreamer(row: StreamerRecord): StreamerRecord {
  const { name, title, description, category, hasPassword, transcode, recording, createdAt, lastLiveAt } =
    row;
  return { name, title, description, category, hasPassword, transcode, recording, createdAt, lastLiveAt };
}

function publicUser(row: UserRecord): UserRecord {
  return { id: row.id, name: row.name, role: row.role, createdAt: row.createdAt };
}

// ---- a fake network: the edges' fan-out, one inbox per connection

export type Delivery = { event: ChatEvent; via: 'broadcast' | 'direct' };

export class FakeNetwork implements ChatOutput {
  readonly inbox = new Map<string, Delivery[]>();
  readonly kicked = new Map<string, string>();
  readonly broadcasts: Array<{ channel: string; event: ChatEvent }> = [];
  private readonly channelOf = new Map<string, string>();
  throwing = false;

  open(ref: ConnRef, channel: string): void {
    this.channelOf.set(key(ref), channel);
    this.inbox.set(key(ref), []);
  }

  close(ref: ConnRef): void {
    this.channelOf.delete(key(ref));
  }

  broadcast(channel: string, event: ChatEvent): void {
    if (this.throwing) throw new Error('output exploded');
    this.broadcasts.push({ channel, event: structuredClone(event) });
    for (const [k, ch] of this.channelOf)
      if (ch === channel) this.inbox.get(k)?.push({ event: structuredClone(event), via: 'broadcast' });
  }

  direct(ref: ConnRef, event: ChatEvent): void {
    if (this.throwing) throw new Error('output exploded');
    this.inbox.get(key(ref))?.push({ event: structuredClone(event), via: 'direct' });
  }

  kick(ref: ConnRef, reason: string): void {
    if (this.throwing) throw new Error('output exploded');
    this.kicked.set(key(ref), reason);
    this.close(ref);
  }

  events(ref: ConnRef): ChatEvent[] {
    return (this.inbox.get(key(ref)) ?? []).map((d) => d.event);
  }

  of<T extends ChatEvent['type']>(ref: ConnRef, type: T): Array<Extract<ChatEvent, { type: T }>> {
    return this.events(ref).filter((e): e is Extract<ChatEvent, { type: T }> => e.type === type);
  }

  last<T extends ChatEvent['type']>(ref: ConnRef, type: T): Extract<ChatEvent, { type: T }> | undefined {
    return this.of(ref, type).at(-1);
  }

  /** Chat messages a connection received, in arrival order. */
  messages(ref: ConnRef): ChatMessageView[] {
    return this.of(ref, 'message').map((e) => e.msg);
  }

  notices(ref: ConnRef): Array<Extract<ChatEvent, { type: 'notice' }>> {
    return this.of(ref, 'notice');
  }

  lastNoticeCode(ref: ConnRef): string | undefined {
    return this.last(ref, 'notice')?.code;
  }

  isKicked(ref: ConnRef): boolean {
    return this.kicked.has(key(ref));
  }

  clearInbox(ref: ConnRef): void {
    this.inbox.set(key(ref), []);
  }
}

const key = (ref: ConnRef) => `${ref.edge}/${ref.conn}`;

// ---- harness

export const quietLogger = pino({ level: 'silent' });

export interface Harness {
  hub: ChatHub;
  store: FakeStore;
  net: FakeNetwork;
  sessions: Map<string, SessionInfo>;
  clock: { now: number };
  channels: Set<string>;
  /** Channels the directory would call live (a raid's target must be). */
  live: Set<string>;
  /** Opens a connection on the fake network and joins it. */
  join(edge: string, conn: string, channel: string, identity: Partial<ChatIdentity>): ConnRef;
  say(ref: ConnRef, text: string): void;
  newHub(): ChatHub;
}

export function makeHarness(
  opts: {
    limits?: Partial<ChatLimits>;
    store?: FakeStore;
    channels?: string[];
    logger?: typeof quietLogger;
  } = {},
): Harness {
  const store = opts.store ?? new FakeStore();
  const net = new FakeNetwork();
  const sessions = new Map<string, SessionInfo>();
  const clock = { now: 1_700_000_000_000 };
  store.clock = () => clock.now;
  const channels = new Set(opts.channels ?? ['alice', 'bob']);
  const live = new Set<string>();
  const limits: ChatLimits = { ...DEFAULT_CHAT_LIMITS, ...opts.limits };
  const newHub = () =>
    new ChatHub({
      store,
      output: net,
      limits,
      logger: opts.logger ?? quietLogger,
      verifySession: (token) => sessions.get(token),
      channelExists: (name) => channels.has(name),
      emojiUrl: (name) => `/emoji/${name}`,
      now: () => clock.now,
      isLive: (name) => live.has(name),
    });
  const h: Harness = {
    hub: newHub(),
    store,
    net,
    sessions,
    clock,
    channels,
    live,
    join(edge, conn, channel, identity) {
      const ref = { edge, conn };
      net.open(ref, channel);
      h.hub.join(ref, channel, { ip: '10.0.0.1', ...identity });
      return ref;
    },
    say(ref, text) {
      h.hub.act(ref, { type: 'send', text });
    },
    newHub,
  };
  return h;
}

/** Registers an account and a session token for it. */
export function addUser(h: Harness, name: string, role: UserRole = 'user', claim?: string): string {
  const user = h.store.users.create(name, `pw-${name}`, role, claim);
  const token = `session-${name}`;
  h.sessions.set(token, { kind: 'user', userId: user.id, name: user.name, role });
  return token;
}

export function addStreamerSession(h: Harness, name: string): string {
  const token = `streamer-${name}`;
  h.sessions.set(token, { kind: 'streamer', name });
  return token;
}

/** A tiny valid PNG as a data URL, padded with base64 filler up to roughly `bytes`. */
export function pngDataUrl(bytes = 200): string {
  const magic = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0]);
  const prefix = 'data:image/png;base64,';
  const body = magic.toString('base64');
  const fill = Math.max(0, Math.floor((bytes - prefix.length - body.length) / 4) * 4);
  return prefix + body + 'A'.repeat(fill);
}
