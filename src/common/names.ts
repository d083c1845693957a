/**
 * One canonical form for every name a person picks (streamers, accounts, chat display names, emoji), so that
 * two names a viewer could not tell apart are the same name. Shared by the hub (uniqueness, the streamer's
 * reservation) and anything else that compares names.
 *
 * - `normalizeName`: what is stored and shown. NFKC (fullwidth `ｄｅｍｏ` → `demo`) with invisible characters
 *   removed (zero-width, bidi controls, joiners, variation selectors, combining marks).
 * - `nameSkeleton`: what is compared. The normalised name with look-alike letters mapped to one prototype
 *   (Cyrillic/Greek homoglyphs through the Unicode confusables data, then the ASCII look-alikes that data
 *   leaves alone: 0/o, 1/l/I/i/|, rn/m, vv/w) and case folded. Deliberately broad: an honest name is
 *   sometimes refused as too close to another, never mistaken for it.
 */
import { remove as removeConfusables } from 'confusables';

// Format characters (Cf: zero-width space/joiners, bidi marks and controls, BOM, tags), combining marks,
// variation selectors and the Hangul fillers that render as blank.
const INVISIBLE = /[\p{Cf}\p{M}\u115f\u1160\u3164\uffa0]/gu;

export function normalizeName(input: string): string {
  return input.normalize('NFKC').replace(INVISIBLE, '');
}

/** Whether `input` changes under normalisation (a name sent with hidden or compatibility characters). */
export function hasHiddenCharacters(input: string): boolean {
  return normalizeName(input) !== input;
}

export function nameSkeleton(input: string): string {
  // Decompose first so accents become combining marks the INVISIBLE pass removes (é → e).
  const base = input.normalize('NFKD').replace(INVISIBLE, '').normalize('NFKC');
  return removeConfusables(base)
    .normalize('NFKC')
    .toLowerCase()
    .replace(/rn/g, 'm')
    .replace(/vv/g, 'w')
    .replace(/[1|!i]/g, 'l')
    .replace(/0/g, 'o');
}

/** Two names a viewer could take for one another. */
export function namesCollide(a: string, b: string): boolean {
  return nameSkeleton(a) === nameSkeleton(b);
}
