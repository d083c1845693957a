/**
 * The hub's chat: the single authority for who is in which channel, what they may say and in which order
 * messages happened. Edges forward joins and actions here and pass the resulting events on verbatim, so a mute,
 * a ban or a rename holds on every edge at once. Transport-free: it talks to the world through ChatOutput.
 *
 * Closing: close() forgets members, counters and rate windows and makes every later call a no-op. It does not
 * close the store or the output (the hub's main owns both) and does not kick anyone: the transport is shutting
 * its sockets down anyway.
 */
import { callSafely } from '../../common/events/safe-emitter.js';
import type { Logger } from '../../common/logging/index.js';
import type { ChatRules, StoredChatMessage, Store } from '../store/types.js';
import { defaultColor } from './colors.js';
import type { ChatAction, ChatEvent, ChatIdentity, ChatMessageView, ConnRef, MemberView } from './events.js';
import {
  generateGuestName,
  memberKeyForAccount,
  nameAvailable,
  resolveIdentity,
  type IdentityDeps,
} from './identity.js';
import { pageHistory } from './history-pages.js';
import { notice, system, type Line } from '../../common/chat/lines.js';
import { handleDraw, handleSend } from './member-actions.js';
import { MemberRegistry, refKey, type Conn, type Member } from './members.js';
import { checkAndRecord, SlidingWindowLimiter } from './rate-limit.js';
import type { ChatRoom, Draft } from './room.js';
import { SafeOutput } from './safe-output.js';
import { isSanctioned, type SanctionSubject } from './sanctions.js';
import { MAX_SLOW_MODE_S } from './commands.js';
import { checkText, compileWordFilter, isValidName, type WordFilter } from './text-rules.js';
import { ChatError, type ChatHubOptions, type ChatLimits, type ChatNoticeCode } from './types.js';

const SYSTEM_COLOR = '#90a4ae';
/** Held messages kept per channel (past this the oldest is dropped, and the staff's boxes told). */
const MAX_HELD = 50;
/** Slow-mode times remembered; past this, those older than the longest slow mode are forgotten. */
const MAX_LAST_POSTS = 20_000;

interface HeldMessage {
  id: number;
  draft: Draft;
  /** The author's member key (to tell them), and who they are for sanctions checked when it is approved. */
  memberKey: string;
  subject: SanctionSubject;
  at: number;
}
const MAX_RECENT = 1000;
/** A member view is at most ~200 bytes of JSON: 2000 of them stay well inside one link message (512 KiB). */
const MAX_MEMBERS_LISTED = 2000;

export class ChatHub {
  private readonly store: Store;
  private readonly out: SafeOutput;
  private readonly limits: ChatLimits;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly opts: ChatHubOptions;
  private readonly registry = new MemberRegistry();
  private readonly seqs = new Map<string, number>();
  private readonly userLimiter: SlidingWindowLimiter;
  private readonly ipLimiter: SlidingWindowLimiter;
  private readonly filter: WordFilter;
  private readonly identityDeps: IdentityDeps;
  private readonly room: ChatRoom;
  private closed = false;
  /** Each channel's rules and its compiled word filter, read from the store once until they change. */
  private readonly rulesCache = new Map<string, { rules: ChatRules; filter: WordFilter }>();
  private readonly held = new Map<string, HeldMessage[]>();
  /** Slow mode: when each account (a guest: each address) last had a message admitted, per channel. */
  private readonly lastPosts = new Map<string, number>();
  private nextHeldId = 1;
  /** The origin of the action being handled, until its first message is stored. */
  private origin: string | undefined;

  constructor(opts: ChatHubOptions) {
    this.opts = opts;
    this.store = opts.store;
    this.out = new SafeOutput(opts.output, opts.logger);
    this.limits = opts.limits;
    this.logger = opts.logger;
    this.now = opts.now ?? Date.now;
    this.userLimiter = new SlidingWindowLimiter(opts.limits.userRate);
    this.ipLimiter = new SlidingWindowLimiter(opts.limits.ipRate);
    this.filter = compileWordFilter(opts.limits.wordFilter);
    this.identityDeps = {
      store: opts.store,
      members: this.registry,
      wordFilter: this.filter,
      guestsAllowed: opts.limits.guestsAllowed,
      verifySession: (token) => opts.verifySession(token),
      channelExists: (name) => opts.channelExists(name),
    };
    this.room = {
      store: this.store,
      members: this.registry,
      logger: this.logger,
      limits: this.limits,
      filter: this.filter,
      now: () => this.now(),
      notice: (ref, level, code, line) => this.out.notice(ref, level, code, line),
      broadcast: (channel, event) => this.out.broadcast(channel, event),
      post: (channel, draft) => this.post(channel, draft),
      system: (channel, line) => this.system(channel, line),
      refresh: (member) => this.refresh(member),
      broadcastMembers: (channel) => this.broadcastMembers(channel),
      isMuted: (conn) => isSanctioned(this.store, conn.member.channel, 'mute', subjectOf(conn), this.now()),
      eject: (conn, code, line) => this.eject(conn, code, line),
      checkName: (member, newName) => this.checkName(member, newName),
      rename: (member, newName, by) => this.rename(member, newName, by),
      rules: (channel) => this.rulesOf(channel).rules,
      setRules: (channel, rules) => {
        this.store.moderation.setRules(channel, rules);
        this.rulesChanged(channel);
      },
      filterFor: (channel) => this.rulesOf(channel).filter,
      accepted: (conn) => {
        const m = conn.member;
        if (m.regular || m.account === undefined) return;
        m.regular = true;
        this.store.moderation.markRegular(m.channel, m.account);
      },
      lastPost: (conn) => this.lastPosts.get(postKey(conn)),
      posted: (conn, at) => {
        if (this.lastPosts.size >= MAX_LAST_POSTS) {
          for (const [k, t] of this.lastPosts) if (at - t > MAX_SLOW_MODE_S * 1000) this.lastPosts.delete(k);
          if (this.lastPosts.size >= MAX_LAST_POSTS) this.lastPosts.clear();
        }
        this.lastPosts.set(postKey(conn), at);
      },
      hold: (conn, draft) => this.hold(conn, draft),
      decideHeld: (channel, id, approve, by) => this.decideHeld(channel, id, approve, by),
      raidable: (name) => {
        const s = this.store.streamers.get(name);
        if (!s) return 'unknown';
        if (s.hasPassword) return 'protected';
        return this.opts.isLive?.(name) ? 'ok' : 'offline';
      },
      audit: (actor, action, target, details = {}) => {
        this.logger.info(
          { channel: actor.channel, action, by: actor.name, target, ...details },
          'chat moderation',
        );
        callSafely(this.logger, 'moderation log not stored', { channel: actor.channel }, () =>
          this.store.moderation.log({
            channel: actor.channel,
            actor: actor.name,
            action,
            target,
            details: Object.keys(details).length ? details : null,
          }),
        );
      },
    };
  }

  /** The channel's rules changed (the dashboard, a command): the next message is checked against the new ones. */
  rulesChanged(channel: string): void {
    this.rulesCache.delete(channel);
  }

  join(ref: ConnRef, channel: string, identity: ChatIdentity): void {
    if (this.closed) return;
    this.guard(ref, 'join', () => this.doJoin(ref, channel, identity));
  }

  leave(ref: ConnRef): void {
    if (this.closed) return;
    const gone = this.registry.detach(ref);
    if (gone?.memberGone) this.broadcastMembers(gone.conn.member.channel);
  }

  /**
   * A member's action. `origin` (the edge's id for it) makes it exactly-once across resends: an origin already
   * stored is not acted on again (its message is broadcast again), and the message an action posts is stored
   * with its origin in one transaction (ADR 0018).
   */
  act(ref: ConnRef, action: ChatAction, origin?: string): void {
    if (this.closed) return;
    if (origin !== undefined && this.store.chat.hasOrigin(origin)) {
      // Posted before the edge lost its link (perhaps by a hub that died before broadcasting it): sent to
      // the edges again, never posted again. Viewers who have it ignore a seq they already show.
      const msg = this.store.chat.byOrigin(origin);
      if (msg) this.out.broadcast(msg.channel, { type: 'message', channel: msg.channel, msg: toView(msg) });
      this.logger.info({ edge: ref.edge }, 'a resent chat action was already posted: not posted again');
      return;
    }
    this.origin = origin;
    try {
      this.guard(ref, 'act', () => this.doAct(ref, action));
    } finally {
      this.origin = undefined;
    }
  }

  /**
   * This hub stopped leading (ADR 0018): every member, counter and rate window is forgotten, so if it leads
   * again it starts from the store as a fresh hub would. Edges rejoin their viewers wherever they link.
   */
  forgetAll(): void {
    this.registry.clear();
    this.seqs.clear();
    this.rulesCache.clear();
    this.held.clear();
    this.lastPosts.clear();
    this.userLimiter.clear();
    this.ipLimiter.clear();
  }

  /** An edge's link closed: its connections are gone (there is nobody left to kick). */
  dropEdge(edge: string): void {
    if (this.closed) return;
    const changed = new Set<string>();
    for (const conn of this.registry.connsOnEdge(edge)) {
      if (this.registry.detach(conn.ref)?.memberGone) changed.add(conn.member.channel);
    }
    for (const channel of changed) this.broadcastMembers(channel);
    this.logger.info({ edge, channels: changed.size }, 'edge dropped from chat');
  }

  /** REST API: a message from the host. Throws ChatError NOT_FOUND, INVALID_VALUE or PAYLOAD_TOO_LARGE. */
  postAsStreamer(channel: string, text: string): ChatMessageView {
    if (this.closed) throw new ChatError('NOT_FOUND', 'chat is closed', { channel });
    if (!this.opts.channelExists(channel)) throw new ChatError('NOT_FOUND', 'no such channel', { channel });
    const check = checkText(text, this.limits.maxMessageChars);
    if (!check.ok && check.code === 'EMPTY_MESSAGE')
      throw new ChatError('INVALID_VALUE', 'empty message', { channel });
    if (!check.ok) {
      throw new ChatError(
        'PAYLOAD_TOO_LARGE',
        `message longer than ${this.limits.maxMessageChars} characters`,
        { channel },
      );
    }
    const host = this.registry.find(channel, memberKeyForAccount(channel));
    const author = host?.name ?? channel;
    return this.post(channel, {
      kind: 'text',
      author,
      color: host?.color ?? defaultColor(author),
      badge: 'host',
      text: this.rulesOf(channel).filter(check.text),
    });
  }

  recent(channel: string, limit: number): ChatMessageView[] {
    const n = Math.max(0, Math.min(MAX_RECENT, Math.floor(limit)));
    if (n === 0) return [];
    return this.store.chat
      .recent(channel, n)
      .sort((a, b) => a.seq - b.seq)
      .map(toView);
  }

  members(channel: string): MemberView[] {
    return this.registry.views(channel);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.forgetAll();
  }

  // ---- join and actions

  private doJoin(ref: ConnRef, channel: string, identity: ChatIdentity): void {
    if (!this.opts.channelExists(channel)) {
      this.out.notice(ref, 'error', 'STREAM_NOT_FOUND', notice.noChannel(channel));
      this.out.kick(ref, 'STREAM_NOT_FOUND');
      return;
    }
    if (this.registry.connection(ref)) this.leave(ref); // the same connection joining again: start over
    const now = this.now();
    const isNameBanned = (name: string) =>
      this.store.sanctions.active(channel, 'ban', { type: 'name', value: name.toLowerCase() }, now);
    const id = resolveIdentity(this.identityDeps, channel, identity, `guest:${refKey(ref)}`, isNameBanned);
    if (!id) {
      this.out.notice(ref, 'error', 'GUESTS_NOT_ALLOWED', notice.guestsNotAllowed());
      this.out.kick(ref, 'GUESTS_NOT_ALLOWED');
      return;
    }
    const existing = this.registry.find(channel, id.key);
    const subject: SanctionSubject = {
      name: existing?.name ?? id.name,
      account: id.account,
      rank: id.rank,
      ips: [identity.ip],
    };
    if (isSanctioned(this.store, channel, 'ban', subject, now)) {
      this.logger.info({ channel, name: subject.name }, 'banned member refused');
      this.out.notice(ref, 'error', 'BANNED', notice.banned());
      this.out.kick(ref, 'BANNED');
      return;
    }
    let member = existing;
    if (!member) {
      // An account's own name wins over whoever took it before the account existed.
      const squatter = this.registry.byName(channel, id.name);
      if (squatter) this.rename(squatter, generateGuestName(this.identityDeps, channel, isNameBanned));
      member = this.registry.create({ ...id, channel, color: defaultColor(id.name), colorChosen: false });
    }
    this.registry.attach(member, ref, identity.ip);
    this.out.direct(ref, this.youEvent(member));
    // In pages that each fit one link message, within a byte budget (history-pages.ts).
    const pages = pageHistory(this.recent(channel, this.limits.historyOnJoin));
    pages.forEach((messages, i) =>
      this.out.direct(ref, {
        type: 'history',
        channel,
        messages,
        ...(i > 0 ? { append: true as const } : {}),
      }),
    );
    this.out.direct(ref, { type: 'emoji', list: this.emojiList() });
    if (member.rank >= 1)
      for (const h of this.held.get(channel) ?? []) this.out.direct(ref, this.heldEvent(channel, h));
    if (!existing) this.broadcastMembers(channel);
    this.logger.debug({ channel, name: member.name, badge: member.badge, edge: ref.edge }, 'chat join');
  }

  private doAct(ref: ConnRef, action: ChatAction): void {
    const conn = this.registry.connection(ref);
    if (!conn) {
      this.out.notice(ref, 'error', 'NOT_JOINED', notice.notJoined());
      return;
    }
    // Actions come from browsers through the edge: check the shape here, the hub is the authority.
    const a = action as { type?: unknown; text?: unknown; image?: unknown };
    const isSend = a.type === 'send' && typeof a.text === 'string';
    const isDraw = a.type === 'draw' && typeof a.image === 'string';
    if (!isSend && !isDraw) {
      this.out.notice(ref, 'error', 'BAD_REQUEST', notice.unknownAction());
      return;
    }
    const member = conn.member;
    const now = this.now();
    if (
      !checkAndRecord(
        [
          { limiter: this.userLimiter, key: member.key },
          { limiter: this.ipLimiter, key: conn.ip },
        ],
        now,
      )
    ) {
      this.out.notice(ref, 'error', 'RATE_LIMITED', notice.rateLimited());
      return;
    }
    if (isSanctioned(this.store, member.channel, 'ban', subjectOf(conn), now)) {
      if (this.eject(conn, 'BANNED', notice.banned())) this.broadcastMembers(member.channel);
      return;
    }
    if (isDraw) handleDraw(this.room, conn, a.image as string);
    else handleSend(this.room, conn, a.text as string);
  }

  // ---- channel rules and held messages

  private rulesOf(channel: string): { rules: ChatRules; filter: WordFilter } {
    let r = this.rulesCache.get(channel);
    if (!r) {
      const rules = this.store.moderation.rules(channel);
      const own = compileWordFilter(rules.blockedWords);
      r = { rules, filter: (text) => own(this.filter(text)) };
      this.rulesCache.set(channel, r);
    }
    return r;
  }

  private staffConns(channel: string): Conn[] {
    return this.registry
      .list(channel)
      .filter((m) => m.rank >= 1)
      .flatMap((m) => [...m.conns.values()]);
  }

  private heldEvent(channel: string, h: HeldMessage): ChatEvent {
    const d = h.draft;
    return { type: 'held', channel, id: h.id, author: d.author, color: d.color, text: d.text, at: h.at };
  }

  private hold(conn: Conn, draft: Draft): void {
    const channel = conn.member.channel;
    const list = this.held.get(channel) ?? [];
    const h: HeldMessage = {
      id: this.nextHeldId++,
      draft,
      memberKey: conn.member.key,
      subject: subjectOf(conn),
      at: this.now(),
    };
    list.push(h);
    if (list.length > MAX_HELD) {
      const dropped = list.shift()!;
      for (const c of this.staffConns(channel))
        this.out.direct(c.ref, { type: 'held-done', channel, id: dropped.id, approved: false });
    }
    this.held.set(channel, list);
    this.out.notice(conn.ref, 'info', 'MESSAGE_HELD', notice.messageHeld());
    for (const c of this.staffConns(channel)) this.out.direct(c.ref, this.heldEvent(channel, h));
    this.logger.info({ channel, held: h.id, author: draft.author }, 'chat message held for review');
  }

  private decideHeld(channel: string, id: number, approve: boolean, by: Member): boolean {
    const list = this.held.get(channel) ?? [];
    const i = list.findIndex((h) => h.id === id);
    if (i < 0) return false;
    const [h] = list.splice(i, 1);
    const now = this.now();
    const sanctioned =
      isSanctioned(this.store, channel, 'ban', h!.subject, now) ||
      isSanctioned(this.store, channel, 'mute', h!.subject, now);
    if (approve && sanctioned) {
      // Muted or banned since it was held: approving it would let them speak.
      for (const c of this.staffConns(channel))
        this.out.direct(c.ref, { type: 'held-done', channel, id, approved: false });
      const staff = this.registry.find(channel, by.key);
      for (const c of staff?.conns.values() ?? [])
        this.out.notice(c.ref, 'error', 'FORBIDDEN', notice.heldSanctioned(h!.draft.author));
      this.room.audit(by, 'reject', h!.draft.author, { held: id, reason: 'sanctioned' });
      return true;
    }
    if (approve) {
      this.post(channel, h!.draft);
      if (h!.subject.account !== undefined) this.store.moderation.markRegular(channel, h!.subject.account);
      const author = this.registry.find(channel, h!.memberKey);
      if (author) author.regular = true;
    } else {
      const author = this.registry.find(channel, h!.memberKey);
      for (const c of author?.conns.values() ?? [])
        this.out.notice(c.ref, 'info', undefined, notice.heldRejected());
    }
    for (const c of this.staffConns(channel))
      this.out.direct(c.ref, { type: 'held-done', channel, id, approved: approve });
    this.room.audit(by, approve ? 'approve' : 'reject', h!.draft.author, { held: id });
    return true;
  }

  // ---- shared by commands and moderation

  private checkName(member: Member, newName: string): ChatNoticeCode | undefined {
    if (!isValidName(newName, this.filter)) return 'INVALID_NAME';
    const banned = this.store.sanctions.active(
      member.channel,
      'ban',
      { type: 'name', value: newName.toLowerCase() },
      this.now(),
    );
    if (banned || !nameAvailable(this.identityDeps, member.channel, newName, member.account, member.key))
      return 'NAME_TAKEN';
    return undefined;
  }

  private rename(member: Member, newName: string, by?: Member): void {
    const old = member.name;
    member.name = newName;
    if (!member.colorChosen) member.color = defaultColor(newName);
    this.refresh(member);
    this.broadcastMembers(member.channel);
    this.system(member.channel, system.renamed(old, newName, by && by !== member ? by.name : undefined));
  }

  /** Notice, kick and forget one connection; true when its member has no connection left. */
  private eject(conn: Conn, code: ChatNoticeCode, line: Line): boolean {
    this.out.notice(conn.ref, 'error', code, line);
    this.out.kick(conn.ref, code);
    return this.registry.detach(conn.ref)?.memberGone ?? false;
  }

  private system(channel: string, line: Line): void {
    this.post(channel, {
      kind: 'system',
      author: 'system',
      color: SYSTEM_COLOR,
      badge: 'system',
      text: line.text,
      ...(line.key === undefined ? {} : { key: line.key }),
      ...(line.params === undefined ? {} : { params: line.params }),
    });
  }

  /** Numbers, stores, then broadcasts: every edge sees messages in seq order, and history agrees with them. */
  private post(channel: string, draft: Draft): ChatMessageView {
    const seq = (this.seqs.get(channel) ?? this.store.chat.lastSeq(channel)) + 1;
    this.seqs.set(channel, seq);
    const msg: ChatMessageView = { seq, ...draft, at: this.now() };
    // The first message an action posts carries its origin (a command's notices carry none).
    const origin = this.origin;
    this.origin = undefined;
    this.store.chat.append({ channel, ...msg }, origin);
    this.out.broadcast(channel, { type: 'message', channel, msg });
    // Notices and drawings are not chat text for the outside world.
    if (this.opts.onMessage && (msg.kind === 'text' || msg.kind === 'me'))
      callSafely(this.logger, 'chat message listener failed', { channel }, () =>
        this.opts.onMessage?.(channel, msg),
      );
    return msg;
  }

  private youEvent(member: Member): ChatEvent {
    return {
      type: 'you',
      name: member.name,
      color: member.color,
      badge: member.badge,
      canModerate: member.rank >= 1,
    };
  }

  private refresh(member: Member): void {
    const event = this.youEvent(member);
    for (const conn of member.conns.values()) this.out.direct(conn.ref, event);
  }

  private broadcastMembers(channel: string): void {
    // Listed up to a bound so the event stays one link message however busy the channel; the count is exact.
    const all = this.registry.views(channel);
    this.out.broadcast(channel, {
      type: 'members',
      channel,
      members: all.slice(0, MAX_MEMBERS_LISTED),
      total: all.length,
    });
  }

  private emojiList(): Array<{ name: string; url: string }> {
    return this.store.emoji
      .list()
      .map((e) => ({ name: e.name, url: this.opts.emojiUrl(e.name) }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** A failing store must cost one action, not the hub: log it and tell the sender. */
  private guard(ref: ConnRef, op: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.logger.error({ err, op, edge: ref.edge }, 'chat action failed');
      this.out.notice(ref, 'error', 'INTERNAL', notice.internal());
    }
  }
}

/** Slow mode's key: the channel and the account, or a guest's address (a reload is a new guest member). */
function postKey(conn: Conn): string {
  const m = conn.member;
  return `${m.channel}\u0000${m.account !== undefined ? `acct:${m.account.toLowerCase()}` : `ip:${conn.ip}`}`;
}

function subjectOf(conn: Conn): SanctionSubject {
  const m = conn.member;
  return { name: m.name, account: m.account, rank: m.rank, ips: [conn.ip] };
}

function toView(m: StoredChatMessage): ChatMessageView {
  const view: ChatMessageView = {
    seq: m.seq,
    kind: m.kind,
    author: m.author,
    color: m.color,
    badge: m.badge,
    text: m.text,
    at: m.at,
  };
  if (m.image !== undefined) view.image = m.image;
  if (m.key !== undefined) view.key = m.key;
  if (m.params !== undefined) view.params = m.params;
  return view;
}
