/**
 * Chat events: what a viewer's browser receives (JSON text frames on the edge's /chat/NAME socket) and
 * what it may send. The edge forwards hub events to browsers verbatim; it never builds them itself.
 */
import type { ChatNoticeCode } from '../../common/errors/index.js';
import type { ChatBadge, ChatKind } from '../store/types.js';
import type { LineParams } from '../../common/chat/lines.js';

export interface ChatMessageView {
  seq: number;
  kind: ChatKind;
  author: string;
  color: string;
  badge: ChatBadge;
  text: string;
  image?: string;
  at: number;
  /** A system line's catalogue key and params (lines.ts): the page shows it in its language, else `text`. */
  key?: string;
  params?: LineParams;
}

export interface MemberView {
  name: string;
  color: string;
  badge: ChatBadge;
}

/** hub → browser */
export type ChatEvent =
  | { type: 'message'; channel: string; msg: ChatMessageView }
  /** Sent in pages (each fits one link message): the first replaces what the viewer shows, `append` ones add to it. */
  | { type: 'history'; channel: string; messages: ChatMessageView[]; append?: true }
  /** `members` lists at most a couple of thousand; `total` counts them all. */
  | { type: 'members'; channel: string; members: MemberView[]; total: number }
  | { type: 'you'; name: string; color: string; badge: ChatBadge; canModerate: boolean }
  /** `key` and `params` as a system message's; `text` is the English for pages without the key. */
  | {
      type: 'notice';
      level: 'info' | 'error';
      code?: ChatNoticeCode;
      text: string;
      key?: string;
      params?: LineParams;
    }
  | { type: 'delete'; channel: string; seqs: number[] }
  | { type: 'clear'; channel: string }
  | { type: 'emoji'; list: Array<{ name: string; url: string }> }
  /** To the channel's staff only: a first-time chatter's message with a link, waiting for /approve or /reject. */
  | { type: 'held'; channel: string; id: number; author: string; color: string; text: string; at: number }
  /** To the channel's staff: a held message was approved or rejected (by anyone of them). */
  | { type: 'held-done'; channel: string; id: number; approved: boolean }
  /** The channel's host sends its viewers to another live channel (`/raid NAME`). */
  | { type: 'raid'; channel: string; target: string; by: string }
  /** edge-generated (the only ones): the hub link's state, and the size limits the hub enforces. */
  | { type: 'status'; state: 'connected' | 'reconnecting' }
  | { type: 'limits'; maxMessageChars: number; maxDrawingBytes: number };

/** browser → edge → hub */
export type ChatAction =
  { type: 'send'; text: string; id?: string } | { type: 'draw'; image: string; id?: string };

/** Who a chat connection is, established by the edge (cookie session) and checked by the hub. */
export interface ChatIdentity {
  /** Signed session token from the viewer's cookie, verified by the hub (account or streamer login). */
  session?: string;
  /** Name a guest asked for (?name=…); the hub assigns one if absent or taken. */
  guestName?: string;
  ip: string;
}

/** One chat connection: the edge it is on and the edge's id for it. */
export interface ConnRef {
  edge: string;
  conn: string;
}
