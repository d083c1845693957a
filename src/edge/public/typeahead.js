// Chat input type-ahead, pure: finds the `:emoji` or `@name` word being typed at the caret, ranks
// suggestions, and computes the input's new value when one is picked. chat.js draws the list.

import { STANDARD_EMOJI } from './emoji.js';

/** @typedef {{kind: 'emoji'|'mention', query: string, start: number, end: number}} Token */
/** @typedef {{kind: 'emoji', name: string, url?: string, char?: string, insert: string}} EmojiSuggestion */
/** @typedef {{kind: 'mention', name: string, color?: string, badge?: string, insert: string}} MemberSuggestion */
/** @typedef {EmojiSuggestion | MemberSuggestion} Suggestion */

/** An emoji query needs two characters after the colon (":s" would match half the table). */
export const EMOJI_MIN_CHARS = 2;
export const MAX_SUGGESTIONS = 8;

const NAME_CHAR = /[A-Za-z0-9_+-]/;

/**
 * The token the caret is in, if it is one the type-ahead completes.
 * @param {string} value
 * @param {number} caret
 * @returns {Token | null}
 */
export function findToken(value, caret) {
  if (typeof value !== 'string' || !Number.isInteger(caret) || caret < 0 || caret > value.length) return null;
  let start = caret;
  while (start > 0 && !/\s/.test(value[start - 1] ?? '')) start--;
  // The word may go on after the caret (editing in the middle): replace it whole.
  let end = caret;
  while (end < value.length && NAME_CHAR.test(value[end] ?? '')) end++;
  const word = value.slice(start, caret);
  const emoji = /^:([A-Za-z0-9_+-]*)$/.exec(word);
  const emojiQuery = emoji?.[1];
  if (emojiQuery !== undefined && emojiQuery.length >= EMOJI_MIN_CHARS && emojiQuery.length <= 32) {
    return { kind: 'emoji', query: emojiQuery, start, end };
  }
  const mentionQuery = /^@([A-Za-z0-9_-]*)$/.exec(word)?.[1];
  if (mentionQuery !== undefined && mentionQuery.length <= 32)
    return { kind: 'mention', query: mentionQuery, start, end };
  return null;
}

/**
 * Exact match first, then prefix matches, then the rest that contain the query; ties by name.
 * @param {string} name
 * @param {string} query
 */
function rank(name, query) {
  const n = name.toLowerCase();
  const q = query.toLowerCase();
  if (n === q) return 0;
  if (n.startsWith(q)) return 1;
  if (n.includes(q)) return 2;
  return -1;
}

/**
 * @param {string} query
 * @param {Map<string,string>} custom custom emoji name → url (listed before standard ones of equal rank)
 * @returns {EmojiSuggestion[]}
 */
export function suggestEmoji(query, custom = new Map(), limit = MAX_SUGGESTIONS) {
  /** @type {Array<{r: number, custom: number, item: EmojiSuggestion}>} */
  const found = [];
  for (const [name, url] of custom) {
    const r = rank(name, query);
    if (r >= 0) found.push({ r, custom: 0, item: { kind: 'emoji', name, url, insert: `:${name}:` } });
  }
  for (const [name, char] of Object.entries(STANDARD_EMOJI)) {
    if (custom.has(name)) continue;
    const r = rank(name, query);
    if (r >= 0) found.push({ r, custom: 1, item: { kind: 'emoji', name, char, insert: `:${name}:` } });
  }
  found.sort(
    (a, b) =>
      a.r - b.r ||
      a.custom - b.custom ||
      a.item.name.length - b.item.name.length ||
      a.item.name.localeCompare(b.item.name),
  );
  return found.slice(0, limit).map((f) => f.item);
}

/**
 * @param {string} query
 * @param {Array<{name:string, color?:string, badge?:string}>} members
 * @param {{self?: string|null, limit?: number}} [opts] `self` is left out (nobody mentions themselves)
 * @returns {MemberSuggestion[]}
 */
export function suggestMembers(query, members, opts = {}) {
  const self = opts.self ? opts.self.toLowerCase() : null;
  const seen = new Set();
  /** @type {Array<{r: number, item: MemberSuggestion}>} */
  const found = [];
  for (const m of members ?? []) {
    const key = m.name.toLowerCase();
    if (key === self || seen.has(key)) continue;
    seen.add(key);
    const r = query ? rank(m.name, query) : 1;
    if (r >= 0)
      found.push({
        r,
        item: { kind: 'mention', name: m.name, color: m.color, badge: m.badge, insert: `@${m.name}` },
      });
  }
  found.sort(
    (a, b) => a.r - b.r || a.item.name.localeCompare(b.item.name, undefined, { sensitivity: 'base' }),
  );
  return found.slice(0, opts.limit ?? MAX_SUGGESTIONS).map((f) => f.item);
}

/**
 * The input after picking `insert` for `token`: a space follows unless one is already there.
 * @param {string} value
 * @param {{start: number, end: number}} token
 * @param {string} insert
 */
export function applyCompletion(value, token, insert) {
  const rest = value.slice(token.end);
  const spacer = rest.startsWith(' ') ? '' : ' ';
  const head = value.slice(0, token.start) + insert + spacer;
  return { value: head + rest, caret: head.length + (spacer ? 0 : 1) };
}

/**
 * Moves a highlighted row by delta, wrapping around; -1 when the list is empty.
 * @param {number} index
 * @param {number} delta
 * @param {number} length
 */
export function moveSelection(index, delta, length) {
  if (length <= 0) return -1;
  if (index < 0) return delta > 0 ? 0 : length - 1;
  return (((index + delta) % length) + length) % length;
}
