/**
 * Chat size limits along the whole path, browser → edge → hub → edges → browsers, defined once and derived
 * from each other so no hop can accept what the next hop cannot carry. The hub's `chat.maxMessageChars` and
 * `chat.maxDrawingBytes` are operator settings bounded by the ceilings here (config schema); the hub announces
 * its values to each edge over the link, the edge checks them at the first hop and tells browsers.
 *
 *   link message    ≤ MAX_LINK_MESSAGE_BYTES           (one WebSocket message edge ↔ hub, either direction)
 *   drawing         ≤ MAX_DRAWING_BYTES                = half a link message: the rest is envelope to spare
 *   text            ≤ MAX_MESSAGE_CHARS code points    ≤ 6 bytes each in JSON (\uXXXX): far below a link message
 *   history on join ≤ MAX_HISTORY_BYTES                sent as several link messages (pages), each ≤ one message
 *   chat socket     send buffer > MAX_HISTORY_BYTES    so a join's history never trips the backpressure close
 */

/** Largest message either end of the edge ↔ hub link sends. Senders drop (and log) anything larger. */
export const MAX_LINK_MESSAGE_BYTES = 512 * 1024;

/**
 * What a link receiver's socket accepts. uWS and ws close the whole socket (1006/1009) when a frame is over
 * their maxPayload, so receivers allow 4× the sending limit: a peer that breaks the limit (a bug, an older
 * version) costs one dropped message with a log line, not the link and every viewer's chat on that edge.
 */
export const LINK_FRAME_CEILING_BYTES = 4 * MAX_LINK_MESSAGE_BYTES;

/** Room in a link message around one chat message's content: link and event wrappers, ids, author, colour. */
export const LINK_ENVELOPE_BYTES = 16 * 1024;

/** The largest chat event (a message, one history page) the hub sends: it fits one link message. */
export const MAX_CHAT_EVENT_BYTES = MAX_LINK_MESSAGE_BYTES - LINK_ENVELOPE_BYTES;

/** Ceiling of `chat.maxDrawingBytes` (a PNG data URL, ASCII): one drawing is at most half a link message. */
export const MAX_DRAWING_BYTES = MAX_LINK_MESSAGE_BYTES / 2;

/** Ceiling of `chat.maxMessageChars`, in code points. */
export const MAX_MESSAGE_CHARS = 10_000;

/**
 * Bytes of history (JSON of the messages) sent to a viewer on join: the newest messages that fit, at least
 * eight of the largest drawings. Older ones are left out rather than sent: every join costs this much on
 * the link and on the viewer's socket.
 */
export const MAX_HISTORY_BYTES = 8 * (MAX_DRAWING_BYTES + LINK_ENVELOPE_BYTES);

/**
 * Largest frame the edge reads from a browser's chat socket. Anything up to it gets an answer with a code
 * (`DRAWING_TOO_LARGE`, `MESSAGE_TOO_LONG`), so a page that ignores the announced limits (an old page, a
 * high-DPI canvas) learns why; above it the socket is closed with 1009 and a reason.
 */
export const CHAT_FRAME_CEILING_BYTES = 3 * 1024 * 1024;

/** Frames this far above the ceiling are still read, to close them with 1009 and a reason (see src/common/http/ws-oversize.ts). */
export const CHAT_FRAME_GRACE_BYTES = 1024 * 1024;

/** A chat socket's send-buffer ceiling (closed above it): a whole join history plus a few live events fit. */
export const CHAT_SOCKET_MAX_BACKPRESSURE = MAX_HISTORY_BYTES + 2 * MAX_LINK_MESSAGE_BYTES;

/** The limits a hub enforces and announces to edges (and edges to browsers). */
export interface ChatSizeLimits {
  maxMessageChars: number;
  maxDrawingBytes: number;
}

/** What an edge assumes until its hub has announced its own limits. */
export const CEILING_LIMITS: ChatSizeLimits = {
  maxMessageChars: MAX_MESSAGE_CHARS,
  maxDrawingBytes: MAX_DRAWING_BYTES,
};

/**
 * Raw text longer than this (UTF-16 units) is refused as too long before any per-character work. Sanitising
 * only ever shrinks text (invisible characters removed, whitespace runs folded); nobody legitimately sends
 * four times the limit in invisible characters, and the edge and the hub apply the same rule.
 */
export function maxRawTextUnits(maxChars: number): number {
  return maxChars * 4 + 64;
}
