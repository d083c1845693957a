// Pure helpers for the chat panel: what a message's text is made of (text, @mentions, :emoji:, links),
// validation of what the server sends, and the slash commands the moderator menu sends. No DOM here:
// chat-view.js turns the parts into nodes with textContent, so no chat text is ever parsed as HTML.

import { STANDARD_EMOJI } from './emoji.js';
import { asRecord } from './json.js';
import { formatDate, t } from './i18n.js';
import { parseParams } from './chat-lines.js';

/** Chat names as the hub accepts them (accounts, guests, streamers). */
export const CHAT_NAME_RE = /^[A-Za-z0-9_-]{1,32}$/;
export const EMOJI_NAME_RE = /^[A-Za-z0-9_+-]{1,32}$/;
const DRAWING_RE = /^data:image\/png;base64,[A-Za-z0-9+/]+={0,2}$/;
const COLOR_RE = /^#[0-9a-fA-F]{6}$/;
const KINDS = new Set(['text', 'me', 'system', 'drawing']);
const BADGES = new Set(['host', 'moderator', 'user', 'guest', 'system']);

// One scan for the three kinds of token; a mention needs a non-name character (or nothing) before the @,
// so "mail@example" is not a mention.
const TOKEN_RE =
  /(https?:\/\/[^\s<>"'`]+)|:([A-Za-z0-9_+-]{1,32}):|(?<![A-Za-z0-9_@])@([A-Za-z0-9_-]{1,32})/g;

/** @typedef {'host'|'moderator'|'user'|'guest'|'system'} Badge */
/** @typedef {'text'|'me'|'system'|'drawing'} MessageKind */

/**
 * A chat message as the page shows it: what parseMessage let through. A system line may carry the
 * catalogue key and params the hub wrote it from (`lineText`).
 * @typedef {{seq: number, kind: MessageKind, author: string, color: string, badge: Badge, text: string,
 *   at: number, image?: string, key?: string, params?: LineParams}} ChatMessage
 */

/** @import { LineParams } from './chat-lines.js' */

/** @typedef {{name: string, color: string, badge: Badge}} Member */

/** @typedef {{maxMessageChars: number, maxDrawingBytes: number}} ChatLimits */

/**
 * An entry of the moderator menu (`mention` is the page's own; the others become slash commands).
 * @typedef {{type: string, label: string, seq?: number, minutes?: number, danger?: boolean}} MenuAction
 */

/**
 * @typedef {{type:'text', text:string}
 *   | {type:'mention', name:string, self:boolean}
 *   | {type:'emoji', name:string, url?:string, char?:string}
 *   | {type:'link', href:string, text:string}} Part
 */

/**
 * Splits a message text into parts. `custom` maps custom emoji names to image URLs (they win over the
 * standard shortcodes); `self` is your chat name, so mentions of you are marked.
 * @param {string} text
 * @param {{custom?: Map<string,string>, self?: string|null}} [opts]
 * @returns {Part[]}
 */
export function tokenize(text, opts = {}) {
  /** @type {Map<string, string>} */
  const custom = opts.custom ?? new Map();
  const self = opts.self ? opts.self.toLowerCase() : null;
  /** @type {Part[]} */
  const parts = [];
  /** @param {string} s */
  const pushText = (s) => {
    if (!s) return;
    const last = parts[parts.length - 1];
    if (last && last.type === 'text') last.text += s;
    else parts.push({ type: 'text', text: s });
  };
  let pos = 0;
  TOKEN_RE.lastIndex = 0;
  for (let m = TOKEN_RE.exec(text); m; m = TOKEN_RE.exec(text)) {
    if (m[1] !== undefined) {
      const link = trimLink(m[1]);
      const href = safeHttpUrl(link);
      if (!href) continue;
      pushText(text.slice(pos, m.index));
      parts.push({ type: 'link', href, text: link });
      pos = m.index + link.length;
      TOKEN_RE.lastIndex = pos;
    } else if (m[2] !== undefined) {
      const name = m[2];
      const url = custom.get(name);
      const char = Object.hasOwn(STANDARD_EMOJI, name) ? STANDARD_EMOJI[name] : undefined;
      if (!url && !char) {
        // Not an emoji: let the closing colon start the next candidate (":nope:smile:").
        TOKEN_RE.lastIndex = m.index + 1 + name.length;
        continue;
      }
      pushText(text.slice(pos, m.index));
      parts.push(url ? { type: 'emoji', name, url } : { type: 'emoji', name, char });
      pos = m.index + m[0].length;
    } else {
      const name = m[3] ?? '';
      pushText(text.slice(pos, m.index));
      parts.push({ type: 'mention', name, self: self !== null && name.toLowerCase() === self });
      pos = m.index + m[0].length;
    }
  }
  pushText(text.slice(pos));
  return parts;
}

/**
 * True if any part of the text mentions `self`.
 * @param {string} text
 * @param {string | null} self
 */
export function mentionsName(text, self) {
  return !!self && tokenize(text, { self }).some((p) => p.type === 'mention' && p.self);
}

/**
 * Trailing punctuation ends a sentence, not a link; a ")" stays only if it closes one in the link.
 * @param {string} s
 */
function trimLink(s) {
  let out = s;
  for (;;) {
    const last = out[out.length - 1];
    if (last && '.,;:!?\'"'.includes(last)) out = out.slice(0, -1);
    else if (last === ')' && count(out, '(') < count(out, ')')) out = out.slice(0, -1);
    else if (last === ']' && count(out, '[') < count(out, ']')) out = out.slice(0, -1);
    else return out;
  }
}

/** @param {string} s @param {string} ch */
function count(s, ch) {
  let n = 0;
  for (const c of s) if (c === ch) n++;
  return n;
}

/**
 * An http(s) URL's normalised form, or null (no javascript:, data:, credentials in URLs).
 * @param {string} s
 */
export function safeHttpUrl(s) {
  let u;
  try {
    u = new URL(s);
  } catch {
    return null;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
  if (u.username || u.password) return null;
  return u.href;
}

/**
 * Drawings are shown only as PNG data URLs: never a remote image or another type.
 * @param {unknown} image
 * @returns {image is string}
 */
export function isSafeDrawing(image) {
  return typeof image === 'string' && image.length < 4_000_000 && DRAWING_RE.test(image);
}

/**
 * A #rrggbb colour, or the fallback.
 * @param {unknown} color
 */
export function safeColor(color, fallback = '#9aa1b2') {
  return typeof color === 'string' && COLOR_RE.test(color) ? color : fallback;
}

/**
 * Custom emoji images: a same-origin path or an image data URL; anything else is refused.
 * @param {unknown} url
 */
export function safeEmojiUrl(url) {
  if (typeof url !== 'string' || url.length > 200_000) return null;
  if (/^\/(?![/\\])[^\s\\]*$/.test(url)) return url;
  if (/^data:image\/(png|gif|webp|jpeg);base64,[A-Za-z0-9+/]+={0,2}$/.test(url)) return url;
  return null;
}

/**
 * The custom emoji list of an `emoji` event as a name → url map (invalid entries dropped).
 * @param {unknown} list
 */
export function emojiMap(list) {
  /** @type {Map<string, string>} */
  const map = new Map();
  if (!Array.isArray(list)) return map;
  for (const item of list) {
    const e = asRecord(item);
    if (!e || typeof e.name !== 'string' || !EMOJI_NAME_RE.test(e.name)) continue;
    const url = safeEmojiUrl(e.url);
    if (url) map.set(e.name, url);
  }
  return map;
}

/**
 * @param {unknown} v
 * @returns {v is MessageKind}
 */
function isKind(v) {
  return KINDS.has(/** @type {string} */ (v));
}

/**
 * @param {unknown} v
 * @returns {v is Badge}
 */
function isBadge(v) {
  return BADGES.has(/** @type {string} */ (v));
}

/**
 * Validates one message from the server; a clean copy or null.
 * @param {unknown} value
 * @returns {ChatMessage | null}
 */
export function parseMessage(value) {
  const raw = asRecord(value);
  if (!raw) return null;
  if (typeof raw.seq !== 'number' || !Number.isSafeInteger(raw.seq) || raw.seq < 0) return null;
  if (!isKind(raw.kind) || typeof raw.text !== 'string') return null;
  /** @type {ChatMessage} */
  const msg = {
    seq: raw.seq,
    kind: raw.kind,
    author: typeof raw.author === 'string' ? raw.author : '',
    color: safeColor(raw.color),
    badge: isBadge(raw.badge) ? raw.badge : 'user',
    text: raw.text,
    at: typeof raw.at === 'number' && Number.isFinite(raw.at) ? raw.at : Date.now(),
  };
  if (raw.kind === 'drawing') {
    if (!isSafeDrawing(raw.image)) return null;
    msg.image = raw.image;
  }
  if (raw.kind === 'system' && typeof raw.key === 'string') {
    msg.key = raw.key;
    const params = parseParams(raw.params);
    if (params) msg.params = params;
  }
  return msg;
}

/**
 * Validates a member list; sorted hosts, moderators, then everyone else by name.
 * @param {unknown} raw
 * @returns {Member[]}
 */
export function parseMembers(raw) {
  if (!Array.isArray(raw)) return [];
  /** @type {Record<Badge, number>} */
  const rank = { host: 0, moderator: 1, user: 2, guest: 3, system: 4 };
  /** @type {Member[]} */
  const members = [];
  for (const item of raw) {
    const m = asRecord(item);
    if (m && typeof m.name === 'string' && m.name.length > 0 && m.name.length <= 64)
      members.push({ name: m.name, color: safeColor(m.color), badge: isBadge(m.badge) ? m.badge : 'user' });
  }
  return members.sort(
    (a, b) =>
      rank[a.badge] - rank[b.badge] || a.name.localeCompare(b.name, undefined, { sensitivity: 'base' }),
  );
}

/**
 * The short label shown before a name, or null for plain members.
 * @param {string | undefined} badge
 */
export function badgeLabel(badge) {
  switch (badge) {
    case 'host':
      return t('chat.badge.host');
    case 'moderator':
      return t('chat.badge.moderator');
    case 'guest':
      return t('chat.badge.guest');
    default:
      return null;
  }
}

/**
 * "14:05" (or "2:05 PM") in the page's language.
 * @param {number} at
 */
export function formatClock(at) {
  return formatDate(at, { hour: '2-digit', minute: '2-digit' });
}

/**
 * The text to send for what the user typed: trimmed, or null if there is nothing to send.
 * Slash commands go as typed; the hub parses them (and `//text` sends "/text").
 * @param {unknown} input
 */
export function outgoingText(input) {
  if (typeof input !== 'string') return null;
  const text = input.trim();
  return text ? text : null;
}

/**
 * The size limits the edge announces (`{"type":"limits",…}`): positive integers, or the previous values.
 * @param {unknown} event
 * @param {ChatLimits} previous
 * @returns {ChatLimits}
 */
export function parseLimits(event, previous) {
  const ev = asRecord(event);
  /** @type {(n: unknown) => n is number} */
  const ok = (n) => typeof n === 'number' && Number.isSafeInteger(n) && n > 0;
  return {
    maxMessageChars: ok(ev?.maxMessageChars) ? ev.maxMessageChars : previous.maxMessageChars,
    maxDrawingBytes: ok(ev?.maxDrawingBytes) ? ev.maxDrawingBytes : previous.maxDrawingBytes,
  };
}

/**
 * The slash command behind a moderator menu entry.
 * @param {{type: string, seq?: number, minutes?: number}} action
 * @param {string} target
 */
export function moderationCommand(action, target) {
  switch (action.type) {
    case 'delete':
      return `/delete ${action.seq}`;
    case 'mute':
      return action.minutes ? `/mute ${target} ${action.minutes}` : `/mute ${target}`;
    case 'unmute':
      return `/unmute ${target}`;
    case 'ban':
      return action.minutes ? `/ban ${target} ${action.minutes}` : `/ban ${target}`;
    case 'unban':
      return `/unban ${target}`;
    case 'mod':
      return `/mod ${target}`;
    case 'unmod':
      return `/unmod ${target}`;
    default:
      throw new Error(`unknown moderation action ${String(action.type)}`);
  }
}

/**
 * Which menu entries a moderator gets on a message (never on system lines; no sanctions on the host or yourself).
 * @param {{seq: number, kind: string, author: string, badge: string} | null | undefined} msg
 * @param {{name: string, canModerate: boolean} | null} you
 * @returns {MenuAction[]}
 */
export function moderationActions(msg, you) {
  if (!you || !you.canModerate || !msg || msg.kind === 'system') return [];
  /** @type {MenuAction[]} */
  const actions = [{ type: 'delete', seq: msg.seq, label: t('chat.action.delete') }];
  const self = msg.author.toLowerCase() === String(you.name).toLowerCase();
  if (self || msg.badge === 'host' || !CHAT_NAME_RE.test(msg.author)) return actions;
  actions.push(
    { type: 'mute', minutes: 10, label: t('chat.action.mute10') },
    { type: 'mute', label: t('chat.action.mute') },
    { type: 'unmute', label: t('chat.action.unmute') },
    { type: 'ban', label: t('chat.action.ban'), danger: true },
  );
  return actions;
}

/** Kick codes with a sentence of their own (`chat.close.CODE`). */
const KICKS = new Set(['BANNED', 'GUESTS_NOT_ALLOWED', 'STREAM_NOT_FOUND', 'PASSWORD_REQUIRED']);

/**
 * What a socket close means for the viewer: the text to show, whether to reconnect, and the kick code.
 * 4403 is a kick (its reason is a code such as BANNED): final. 1008/1003 are protocol refusals: final.
 * Anything else (1001 going away, 1006 abnormal, an edge restart) is retried with backoff.
 * @param {number} code
 * @param {string} reason
 * @returns {{retry: boolean, code: string | null, text: string}}
 */
export function describeClose(code, reason) {
  if (code === 4403) {
    const why = typeof reason === 'string' ? reason.trim() : '';
    // A reason is a code, optionally followed by ": explanation" (PASSWORD_REQUIRED: this stream needs…).
    const kick = why.split(':', 1)[0] ?? '';
    if (KICKS.has(kick)) return { retry: false, code: kick, text: t(`chat.close.${kick}`) };
    return {
      retry: false,
      code: 'KICKED',
      text: why ? t('chat.close.kickedWhy', { reason: why }) : t('chat.close.kicked'),
    };
  }
  if (code === 1008 || code === 1003) {
    return {
      retry: false,
      code: 'REFUSED',
      text: t('chat.close.refused'),
    };
  }
  return { retry: true, code: null, text: t('chat.close.retrying') };
}
