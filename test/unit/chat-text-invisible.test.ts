/**
 * Invisible and layout characters in chat text (issue 8): zero-width, bidi and other format characters,
 * variation selectors, tags and fillers are removed, except where they carry meaning (emoji sequences,
 * scripts that spell with joiners); the word filter compares a normalised form (NFKD, case-folded, invisible
 * characters removed) and replaces only the matched span of the original text.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkText, sanitizeText } from '../../src/common/chat/index.js';
import { compileWordFilter } from '../../src/hub/chat/text-rules.js';

const INVISIBLES: Array<[string, string]> = [
  ['zero-width space', '\u200b'],
  ['zero-width non-joiner', '\u200c'],
  ['zero-width joiner', '\u200d'],
  ['left-to-right mark', '\u200e'],
  ['right-to-left mark', '\u200f'],
  ['arabic letter mark', '\u061c'],
  ['soft hyphen', '\u00ad'],
  ['word joiner', '\u2060'],
  ['invisible times', '\u2062'],
  ['right-to-left override', '\u202e'],
  ['first strong isolate', '\u2068'],
  ['byte order mark', '\ufeff'],
  ['mongolian vowel separator', '\u180e'],
  ['combining grapheme joiner', '\u034f'],
  ['variation selector 1', '\ufe00'],
  ['variation selector 16 after a letter', '\ufe0f'],
  ['variation selector 17', '\u{e0100}'],
  ['variation selector 256', '\u{e01ef}'],
  ['tag latin small a', '\u{e0061}'],
  ['hangul filler', '\u3164'],
  ['halfwidth hangul filler', '\uffa0'],
  ['interlinear annotation anchor', '\ufff9'],
  ['shorthand format letter overlap', '\u{1bca0}'],
  ['musical symbol begin beam', '\u{1d173}'],
];

test('every invisible or format character is removed from chat text, wherever it stands', () => {
  for (const [what, ch] of INVISIBLES) {
    assert.equal(sanitizeText(`b${ch}ad`), 'bad', what);
    assert.equal(sanitizeText(`${ch}bad${ch}`), 'bad', what);
    assert.equal(sanitizeText(`${ch.repeat(50)}`), '', `${what}: nothing but invisible characters is empty`);
  }
});

test('a message made only of invisible characters is EMPTY_MESSAGE, and they do not count toward the length', () => {
  assert.deepEqual(checkText('\u200b\u200b\u2060\ufeff', 500), { ok: false, code: 'EMPTY_MESSAGE' });
  const r = checkText(`${'a'.repeat(10)}${'\u200b'.repeat(50)}`, 10);
  assert.deepEqual(r, { ok: true, text: 'a'.repeat(10) });
  assert.deepEqual(checkText('a'.repeat(11), 10), { ok: false, code: 'MESSAGE_TOO_LONG' });
  assert.deepEqual(checkText('x'.repeat(20_001), 500), { ok: false, code: 'MESSAGE_TOO_LONG' });
});

test('joiners and presentation selectors survive where they carry meaning', () => {
  const family = '👨\u200d👩\u200d👧';
  const technologist = '👩🏽\u200d💻';
  const heart = '❤\ufe0f';
  const keycap = '1\ufe0f\u20e3';
  const persian = 'می\u200cخواهم';
  const hindi = 'क्\u200dष';
  for (const s of [family, technologist, heart, keycap, persian, hindi]) assert.equal(sanitizeText(s), s);
  // ...and nowhere else: between Latin letters, at the edges of an emoji, on their own.
  assert.equal(sanitizeText('a\u200db'), 'ab');
  assert.equal(sanitizeText('👍\u200d'), '👍');
  assert.equal(sanitizeText('\u200d👍'), '👍');
  assert.equal(sanitizeText('a\ufe0f'), 'a');
});

test('the word filter sees through invisible characters, case, width and compatibility forms', () => {
  const f = compileWordFilter(['bad', 'café']);
  for (const evasion of [
    'b\u200bad',
    'b\u200d\u200cad',
    'B\u00adA\u2060D',
    'ＢＡＤ',
    'ｂad',
    '𝐛𝐚𝐝',
    'ⓑⓐⓓ',
    'b\ufe0fa\u{e0100}d',
    'CAFÉ',
    'cafe\u0301',
  ]) {
    assert.equal(f(evasion), '****', JSON.stringify(evasion));
  }
  // Only the matched span is replaced; everything else stays exactly as typed (no normalisation shown).
  assert.equal(f('x² ＢＡＤ ﬁne badge b\u200bad!'), 'x² **** ﬁne badge ****!');
  assert.equal(f('Straße'), 'Straße');
  assert.equal(f('badly bad_ abad'), 'badly bad_ abad');
});

test('filter words are normalised the same way: a fullwidth or upper-case word in the config still matches', () => {
  const f = compileWordFilter(['ＤＡＲＮ', 'STRASSE']);
  assert.equal(f('darn Darn'), '**** ****');
  assert.equal(f('die straße'), 'die ****');
});

test('sanitised then filtered: what the hub stores for a message', () => {
  const f = compileWordFilter(['bad']);
  assert.equal(f(sanitizeText('so \u202eb\u200bad\u202c day')), 'so **** day');
});
