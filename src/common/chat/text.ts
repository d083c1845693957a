/**
 * Chat text rules shared by the edge (first hop: it refuses what the hub would refuse, with the same code)
 * and the hub (the authority, which also stores and filters). Pure functions.
 *
 * The server never HTML-escapes: messages are plain strings in JSON and clients render them with textContent.
 * Escaping here would double-escape on every client and corrupt what people typed (`a < b`). What is removed
 * is what a plain-text renderer cannot make safe or visible: control characters, bidi overrides (which can
 * make a line read as if someone else wrote it), and invisible characters (zero-width spaces, format
 * characters, variation selectors, tags, Hangul fillers) that hide text or split a word past the filter.
 */
import { maxRawTextUnits } from './limits.js';

// Tabs and newlines become spaces rather than gluing words together.
const WHITESPACE_CONTROLS = /[\t\n\r\v\f]+/g;
// Unpaired UTF-16 surrogates cannot be encoded as UTF-8; replace them like a decoder would.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * Invisible or layout-changing: controls (Cc), format characters (Cf: zero-width space/joiners, bidi marks,
 * embeddings, overrides and isolates, soft hyphen, word joiner, BOM, tags), every default-ignorable code
 * point (variation selectors, combining grapheme joiner, Hangul fillers) and the line/paragraph separators.
 */
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Default_Ignorable_Code_Point}\u2028\u2029]/gu;
const IS_INVISIBLE = /^[\p{Cc}\p{Cf}\p{Default_Ignorable_Code_Point}\u2028\u2029]$/u;

// The few invisible characters that carry meaning are kept only where they do:
// a zero-width joiner inside an emoji sequence (👨‍👩‍👧),
const EMOJI_ZWJ =
  /(?<=[\p{Extended_Pictographic}\p{Emoji_Modifier}]\ufe0f?)\u200d(?=\p{Extended_Pictographic})/uy;
// the text/emoji presentation selectors right after an emoji (❤️, 1️⃣),
const EMOJI_PRESENTATION = /(?<=\p{Emoji})[\ufe0e\ufe0f]/uy;
// and ZWNJ/ZWJ between two letters of a script whose spelling uses them (Persian, Indic scripts).
const JOINING = String.raw`\p{sc=Arabic}\p{sc=Syriac}\p{sc=Nko}\p{sc=Mongolian}\p{sc=Devanagari}\p{sc=Bengali}\p{sc=Gurmukhi}\p{sc=Gujarati}\p{sc=Oriya}\p{sc=Tamil}\p{sc=Telugu}\p{sc=Kannada}\p{sc=Malayalam}\p{sc=Sinhala}\p{sc=Myanmar}\p{sc=Khmer}`;
const SCRIPT_JOINER = new RegExp(String.raw`(?<=[${JOINING}]\p{M}*)[\u200c\u200d](?=[${JOINING}])`, 'uy');

function keptInContext(text: string, offset: number): boolean {
  for (const re of [EMOJI_ZWJ, EMOJI_PRESENTATION, SCRIPT_JOINER]) {
    re.lastIndex = offset;
    if (re.test(text)) return true;
  }
  return false;
}

export function sanitizeText(input: string): string {
  const text = input.replace(WHITESPACE_CONTROLS, ' ').replace(LONE_SURROGATE, '\ufffd');
  return text
    .replace(INVISIBLE, (ch: string, offset: number) => (keptInContext(text, offset) ? ch : ''))
    .trim();
}

/** True for a character (one code point) that `sanitizeText` removes outside the contexts above. */
export function isInvisible(codePoint: string): boolean {
  return IS_INVISIBLE.test(codePoint);
}

/** Length in code points, what a person counts as characters (emoji count once, mostly). */
export function charCount(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

export type TextCheck =
  { ok: true; text: string } | { ok: false; code: 'EMPTY_MESSAGE' | 'MESSAGE_TOO_LONG' };

/** A chat message's text: sanitised, not empty, at most `maxChars` code points. Same answer on edge and hub. */
export function checkText(raw: string, maxChars: number): TextCheck {
  if (raw.length > maxRawTextUnits(maxChars)) return { ok: false, code: 'MESSAGE_TOO_LONG' };
  const text = sanitizeText(raw);
  if (text.length === 0) return { ok: false, code: 'EMPTY_MESSAGE' };
  if (charCount(text) > maxChars) return { ok: false, code: 'MESSAGE_TOO_LONG' };
  return { ok: true, text };
}

export type DrawingCheck = { ok: true } | { ok: false; code: 'DRAWING_TOO_LARGE' | 'BAD_DRAWING' };

const PNG_PREFIX = 'data:image/png;base64,';
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** A drawing must be a PNG data URL of at most maxBytes; the size is checked before anything looks inside. */
export function checkDrawing(image: string, maxBytes: number): DrawingCheck {
  // A data URL is ASCII: more UTF-16 units than bytes allowed means too large without counting UTF-8 bytes.
  if (image.length > maxBytes || Buffer.byteLength(image, 'utf8') > maxBytes)
    return { ok: false, code: 'DRAWING_TOO_LARGE' };
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
