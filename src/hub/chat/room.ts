/**
 * What the action handlers (member-actions.ts, moderation.ts) need from the hub: its state and a few
 * operations that number, store and send. ChatHub implements it; the handlers stay plain functions.
 */
import type { Logger } from '../../common/logging/index.js';
import type { ChatRules, Store } from '../store/types.js';
import type { ChatEvent, ChatMessageView, ConnRef } from './events.js';
import type { Line } from '../../common/chat/lines.js';
import type { Conn, Member, MemberRegistry } from './members.js';
import type { WordFilter } from './text-rules.js';
import type { ChatLimits, ChatNoticeCode } from './types.js';

export type Draft = Omit<ChatMessageView, 'seq' | 'at'>;

export interface ChatRoom {
  readonly store: Store;
  readonly members: MemberRegistry;
  readonly logger: Logger;
  readonly limits: ChatLimits;
  readonly filter: WordFilter;
  now(): number;
  notice(ref: ConnRef, level: 'info' | 'error', code: ChatNoticeCode | undefined, line: Line): void;
  broadcast(channel: string, event: ChatEvent): void;
  /** Numbers, stores and broadcasts a message. */
  post(channel: string, draft: Draft): ChatMessageView;
  /** A system message (kind and badge 'system'), with its key and params for the page to translate. */
  system(channel: string, line: Line): void;
  /** Sends `you` to each of the member's connections. */
  refresh(member: Member): void;
  broadcastMembers(channel: string): void;
  isMuted(conn: Conn): boolean;
  /** Notice, kick and forget one connection (without a members broadcast); true if its member is gone. */
  eject(conn: Conn, code: ChatNoticeCode, line: Line): boolean;
  /** Why `newName` cannot be the member's name, or undefined if it can. */
  checkName(member: Member, newName: string): ChatNoticeCode | undefined;
  /** Renames, updates everyone, announces "a is now b". */
  rename(member: Member, newName: string, by?: Member): void;
  /** The channel's own rules (cached; `rulesChanged` drops the cache). */
  rules(channel: string): ChatRules;
  /** Stores new rules for the channel and applies them at once. */
  setRules(channel: string, rules: ChatRules): void;
  /** The operator's word filter, then the channel's own. */
  filterFor(channel: string): WordFilter;
  /** A message the rules admitted was posted: its author (an account) is a regular of the channel from now on. */
  accepted(conn: Conn): void;
  /** When the rules last admitted a message from this account (a guest: this address) in its channel. */
  lastPost(conn: Conn): number | undefined;
  posted(conn: Conn, at: number): void;
  /** Holds a first-time chatter's message with a link until a moderator approves or rejects it. */
  hold(conn: Conn, draft: Draft): void;
  /** A held message approved (posted) or rejected by `by`; false when there is no such held message. */
  decideHeld(channel: string, id: number, approve: boolean, by: Member): boolean;
  /** Whether a channel exists, is live, and is open to everyone (a raid's target). */
  raidable(name: string): 'ok' | 'unknown' | 'offline' | 'protected';
  /** One line of the channel's moderation log (and the hub's log). */
  audit(actor: Member, action: string, target: string | null, details?: Record<string, unknown>): void;
}
