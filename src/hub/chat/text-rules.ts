/**
 * Pure text rules for chat on the hub: the word filter and name validation. Sanitising, lengths and drawing
 * checks are shared with the edge (src/common/chat/text.ts) so both hops give the same answer.
 */
import { isInvisible } from '../../common/chat/index.js';

export {
  charCount,
  checkDrawing,
  checkText,
  sanitizeText,
  type DrawingCheck,
  type TextCheck,
} from '../../common/chat/index.js';

export type WordFilter = (text: string) => string;

/**
 * The form words are compared in, one code point at a time: compatibility decomposition (NFKD: fullwidth
 * and styled letters become plain ones, ligatures split), case folding, invisible characters removed. NFKD
 * rather than NFKC because it maps each code point on its own, so a match maps back to the exact span of
 * the original text; filter words go through the same function, so `café` and `cafe\u0301` match alike.
 */
function fold(cp: string): string {
  if (cp.length === 1 && cp.charCodeAt(0) < 0x80) return cp.toLowerCase();
  if (isInvisible(cp)) return '';
  // toUpperCase().toLowerCase() approximates full case folding (ß → ss, ſ → s); NFKD again for what casing composes.
  return cp.normalize('NFKD').toUpperCase().toLowerCase().normalize('NFKD');
}

function foldAll(text: string): string {
  let out = '';
  for (const cp of text) out += fold(cp);
  return out;
}

const WORD_CHAR = String.raw`[\p{L}\p{N}_]`;

/**
 * Whole-word replacement by ****, matched on the folded form above (so `ＢＡＤ`, `Bad` and `b\u200bad` all
 * match `bad`) and replaced in the original text: what is not filtered stays exactly as it was typed.
 * Letters, digits and _ count as word characters.
 */
export function compileWordFilter(words: readonly string[]): WordFilter {
  const alternatives = [...new Set(words.map((w) => foldAll(w.trim())).filter((w) => w.length > 0))]
    .sort((a, b) => b.length - a.length)
    .map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  if (alternatives.length === 0) return (text) => text;
  const re = new RegExp(`(?<!${WORD_CHAR})(?:${alternatives.join('|')})(?!${WORD_CHAR})`, 'gu');
  return (text) => {
    // folded text, and for each of its UTF-16 units the original span [start, end) it came from
    let folded = '';
    const starts: number[] = [];
    const ends: number[] = [];
    let offset = 0;
    for (const cp of text) {
      const f = fold(cp);
      for (let i = 0; i < f.length; i++) {
        starts.push(offset);
        ends.push(offset + cp.length);
      }
      folded += f;
      offset += cp.length;
    }
    let out = '';
    let copied = 0;
    for (const m of folded.matchAll(re)) {
      if (m[0].length === 0) continue;
      const from = starts[m.index]!;
      const to = ends[m.index + m[0].length - 1]!;
      if (from < copied) continue;
      out += text.slice(copied, from) + '****';
      copied = to;
    }
    return out + text.slice(copied);
  };
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
