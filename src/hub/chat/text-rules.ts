/**
 * Pure text rules for chat: sanitising, the word filter, name and drawing validation.
 *
 * The server never HTML-escapes: messages are plain strings in JSON and clients render them with textContent.
 * Escaping here would double-escape on every client and corrupt what people typed (`a < b`). What the server
 * does remove is what a plain-text renderer cannot make safe: control characters and bidi overrides (which
 * can make a line read as if someone else wrote it).
 */

// C0/C1 controls, line/paragraph separators, bidi embeddings/overrides/isolates.
const STRIP = /[\p{Cc}\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;
// Tabs and newlines become spaces rather than gluing words together.
const WHITESPACE_CONTROLS = /[\t\n\r\v\f]+/g;
// Unpaired UTF-16 surrogates cannot be encoded as UTF-8; replace them like a decoder would.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

export function sanitizeText(input: string): string {
  return input.replace(WHITESPACE_CONTROLS, ' ').replace(STRIP, '').replace(LONE_SURROGATE, '\ufffd').trim();
}

/** Length in code points, what a person counts as characters (emoji count once, mostly). */
export function charCount(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

export type WordFilter = (text: string) => string;

/** Case-insensitive whole-word replacement by ****; letters, digits and _ count as word characters. */
export function compileWordFilter(words: readonly string[]): WordFilter {
  const alternatives = words
    .map((w) => w.trim())
    .filter((w) => w.length > 0)
    .sort((a, b) => b.length - a.length)
    .map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  if (alternatives.length === 0) return (text) => text;
  const re = new RegExp(`(?<![\\p{L}\\p{N}_])(?:${alternatives.join('|')})(?![\\p{L}\\p{N}_])`, 'giu');
  return (text) => text.replace(re, '****');
}

export const NAME_PATTERN = /^[A-Za-z0-9_-]{2,24}$/;

/** Names nobody may take: they would read as the system or as a role. */
const RESERVED_NAMES = new Set(['system', 'server', 'admin', 'administrator', 'moderator', 'mod', 'host']);

export function isReservedName(name: string): boolean {
  return RESERVED_NAMES.has(name.toLowerCase());
}

/** Shape-only check of a display name (availability is the hub's business). */
export function isValidName(name: string, filter: WordFilter): boolean {
  return NAME_PATTERN.test(name) && !isReservedName(name) && filter(name) === name;
}

export type DrawingCheck = { ok: true } | { ok: false; code: 'DRAWING_TOO_LARGE' | 'BAD_DRAWING' };

const PNG_PREFIX = 'data:image/png;base64,';
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** A drawing must be a PNG data URL of at most maxBytes; the size is checked before anything looks inside. */
export function checkDrawing(image: string, maxBytes: number): DrawingCheck {
  if (Buffer.byteLength(image, 'utf8') > maxBytes) return { ok: false, code: 'DRAWING_TOO_LARGE' };
  if (!image.startsWith(PNG_PREFIX)) return { ok: false, code: 'BAD_DRAWING' };
  const b64 = image.slice(PNG_PREFIX.length);
  if (b64.length === 0 || b64.length % 4 !== 0 || !BASE64.test(b64))
    return { ok: false, code: 'BAD_DRAWING' };
  const head = Buffer.from(b64.slice(0, 12), 'base64');
  if (head.length < PNG_MAGIC.length || !head.subarray(0, PNG_MAGIC.length).equals(PNG_MAGIC)) {
    return { ok: false, code: 'BAD_DRAWING' };
  }
  return { ok: true };
}
