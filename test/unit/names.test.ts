/** One canonical form for names: names a viewer could not tell apart collide; names that differ do not. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hasHiddenCharacters, nameSkeleton, namesCollide, normalizeName } from '../../src/common/names.js';

test('case, digits for letters, rn/m, fullwidth, Cyrillic and Greek look-alikes, invisible characters: one name', () => {
  const lookalikes = [
    'DEMO',
    'Demo',
    'dem0',
    'DEM0',
    'derno',
    'ｄｅｍｏ',
    'ＤＥＭＯ',
    'ԁеmо',
    'dеmo',
    'dεmo'.replace('ε', 'е'),
    'de\u200bmo',
    'de\u200cmo',
    'de\u200dmo',
    'de\u2060mo',
    '\ufeffdemo',
    'de\u202emo',
    'de\u2066mo\u2069',
    'demo\ufe0f',
    'démo',
  ];
  for (const n of lookalikes)
    assert.ok(
      namesCollide(n, 'demo'),
      `${JSON.stringify(n)} collides with demo (skeleton ${nameSkeleton(n)})`,
    );
  assert.ok(namesCollide('paypaI', 'paypal'), 'capital I and small l');
  assert.ok(namesCollide('a1ice', 'alice'));
});

test('different names stay different', () => {
  for (const [a, b] of [
    ['demo', 'demos'],
    ['demo', 'dome'],
    ['alice', 'alicia'],
    ['de-mo', 'de_mo'],
    ['bob', 'rob'],
  ]) {
    assert.ok(!namesCollide(a!, b!), `${a} vs ${b}`);
  }
});

test('normalisation removes hidden characters and compatibility forms, and says so', () => {
  assert.equal(normalizeName('ｄｅ\u200bｍｏ'), 'demo');
  assert.ok(hasHiddenCharacters('de\u200bmo'));
  assert.ok(!hasHiddenCharacters('demo'));
});
