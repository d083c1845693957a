/**
 * Chat input type-ahead, run in Node: which word at the caret is completed (`:emoji` after two characters,
 * `@name` at once), how suggestions are ranked, and what the input holds after picking one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as t from '../../src/edge/public/typeahead.js';

test('an emoji query starts after a colon and two name characters', () => {
  assert.equal(t.findToken('hi :s', 5), null);
  assert.deepEqual(t.findToken('hi :sm', 6), { kind: 'emoji', query: 'sm', start: 3, end: 6 });
  assert.equal(t.findToken('hi :smile:', 10), null, 'a closed shortcode is done');
  assert.equal(t.findToken('at 12:30', 8), null, 'a colon inside a word is not a query');
  assert.equal(t.findToken('http://x', 8), null);
});

test('a mention query starts at @, even empty, and covers the rest of the word after the caret', () => {
  assert.deepEqual(t.findToken('@', 1), { kind: 'mention', query: '', start: 0, end: 1 });
  assert.deepEqual(t.findToken('hey @al', 7), { kind: 'mention', query: 'al', start: 4, end: 7 });
  assert.deepEqual(t.findToken('hey @alxx there', 7), { kind: 'mention', query: 'al', start: 4, end: 9 });
  assert.equal(t.findToken('mail x@y', 8), null);
  assert.equal(t.findToken('hey @al', 99), null, 'a caret outside the value');
});

test('emoji suggestions: exact, then prefix, then substring; custom before standard of equal rank', () => {
  const custom = new Map([
    ['firework', '/emoji/firework'],
    ['campfire', '/emoji/campfire'],
  ]);
  const names = t.suggestEmoji('fire', custom).map((i) => i.name);
  assert.equal(names[0], 'fire');
  assert.deepEqual(names.slice(1, 3), ['firework', 'campfire']);
  const first = t.suggestEmoji('smi')[0];
  assert.deepEqual(first, { kind: 'emoji', name: 'smile', char: '😄', insert: ':smile:' });
  assert.equal(t.suggestEmoji('zzzzzz').length, 0);
  assert.ok(t.suggestEmoji('a').length <= 8);
});

test('member suggestions leave you out, rank prefixes first and list everyone for a bare @', () => {
  const members = [{ name: 'alice' }, { name: 'Malik' }, { name: 'albert' }, { name: 'me' }, { name: 'bob' }];
  assert.deepEqual(
    t.suggestMembers('al', members, { self: 'ME' }).map((i) => i.name),
    ['albert', 'alice', 'Malik'],
  );
  assert.deepEqual(
    t.suggestMembers('', members, { self: 'me' }).map((i) => i.insert),
    ['@albert', '@alice', '@bob', '@Malik'],
  );
  assert.deepEqual(t.suggestMembers('x', members), []);
});

test('picking replaces the token and leaves the caret after one space', () => {
  const v1 = 'hey @al';
  assert.deepEqual(t.applyCompletion(v1, t.findToken(v1, 7)!, '@alice'), { value: 'hey @alice ', caret: 11 });
  const v2 = 'so :smi good';
  assert.deepEqual(t.applyCompletion(v2, t.findToken(v2, 7)!, ':smile:'), {
    value: 'so :smile: good',
    caret: 11,
  });
});

test('the highlighted row wraps around', () => {
  assert.equal(t.moveSelection(-1, 1, 3), 0);
  assert.equal(t.moveSelection(-1, -1, 3), 2);
  assert.equal(t.moveSelection(2, 1, 3), 0);
  assert.equal(t.moveSelection(0, -1, 3), 2);
  assert.equal(t.moveSelection(0, 1, 0), -1);
});
