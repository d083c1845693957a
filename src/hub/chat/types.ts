/**
 * The chat hub's ports: what it needs from the rest of the hub (store, session check, channel list) and what it
 * drives (ChatOutput, implemented by the hub's edge-link transport). Nothing here knows about sockets.
 */
import { TiercastError, type ChatNoticeCode, type ErrorContext } from '../../common/errors/index.js';
import type { Logger } from '../../common/logging/index.js';
import type { HubErrorCode, Store } from '../store/types.js';
import type { ChatEvent, ChatMessageView, ConnRef } from './events.js';

export interface ChatOutput {
  /** To every connection of the channel, on every edge. */
  broadcast(channel: string, event: ChatEvent): void;
  /** To one connection. */
  direct(ref: ConnRef, event: ChatEvent): void;
  /** Close one connection (banned, unknown channel, guests not allowed). */
  kick(ref: ConnRef, reason: string): void;
}

export type SessionInfo =
  | { kind: 'user'; userId: number; name: string; role: 'user' | 'admin' }
  /** Logged in with the stream key: host of channel `name`. */
  | { kind: 'streamer'; name: string };

export interface ChatLimits {
  /** Longest message, in code points (500). */
  maxMessageChars: number;
  /** Longest drawing, in bytes of data URL (100_000). */
  maxDrawingBytes: number;
  /** Per member (an account, or one guest connection): sliding window (5 per 5000 ms). */
  userRate: { messages: number; perMs: number };
  /** Per client IP, whoever is behind it (20 per 5000 ms). */
  ipRate: { messages: number; perMs: number };
  /** Messages sent to a connection when it joins (50). */
  historyOnJoin: number;
  /** Case-insensitive whole words replaced by ****. */
  wordFilter: string[];
  guestsAllowed: boolean;
}

export const DEFAULT_CHAT_LIMITS: ChatLimits = {
  maxMessageChars: 500,
  maxDrawingBytes: 100_000,
  userRate: { messages: 5, perMs: 5000 },
  ipRate: { messages: 20, perMs: 5000 },
  historyOnJoin: 50,
  wordFilter: [],
  guestsAllowed: true,
};

export interface ChatHubOptions {
  store: Store;
  output: ChatOutput;
  limits: ChatLimits;
  logger: Logger;
  /** Checks a signed session token (account or streamer login); undefined if invalid or expired. */
  verifySession(token: string): SessionInfo | undefined;
  /** A configured streamer. */
  channelExists(name: string): boolean;
  /** Public URL of a custom emoji image, e.g. `/emoji/${name}`. */
  emojiUrl(name: string): string;
  now?: () => number;
  /** Every message as posted (stored and sent): the hub's `chat.message` community event (ADR 0021). */
  onMessage?(channel: string, msg: ChatMessageView): void;
  /** Whether a channel is live now (a raid's target must be). */
  isLive?(name: string): boolean;
}

/** Codes of `notice` events (listed in docs/errors.md, chat section): the chat group of src/common/errors. */
export type { ChatNoticeCode };

/** Thrown by the hub's REST-facing methods (postAsStreamer); transport maps the code like a HubError's. */
export class ChatError extends TiercastError {
  declare readonly code: HubErrorCode;

  constructor(code: HubErrorCode, message: string, context: ErrorContext = {}) {
    super(code, message, context);
    this.name = 'ChatError';
  }
}
