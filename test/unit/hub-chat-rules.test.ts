import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultColor, parseColor } from '../../src/hub/chat/colors.js';
import { helpText, parseInput } from '../../src/hub/chat/commands.js';
import { SlidingWindowLimiter } from '../../src/hub/chat/rate-limit.js';
import {
  charCount,
  checkDrawing,
  compileWordFilter,
  isValidName,
  sanitizeText,
} from '../../src/hub/chat/text-rules.js';
import { pngDataUrl } from './hub-chat-fake-store.js';

test('sanitizeText strips controls and bidi overrides, keeps emoji joiners, trims', () => {
  assert.equal(sanitizeText('\u0000a\u001fb\u007f\u0085c'), 'abc');
  assert.equal(sanitizeText(' line1\r\nline2\tend '), 'line1 line2 end');
  assert.equal(sanitizeText('\u202ereversed\u2066x\u2069'), 'reversedx');
  assert.equal(sanitizeText('👩\u200d💻'), '👩\u200d💻');
  assert.equal(sanitizeText('lone \ud800 surrogate'), 'lone \ufffd surrogate');
  assert.equal(sanitizeText('<script>alert(1)</script>'), '<script>alert(1)</script>');
  assert.equal(charCount('😀😀a'), 3);
});

test('word filter: whole words, case-insensitive, regex characters in words are literal', () => {
  const f = compileWordFilter(['darn', 'a.b', ' ', 'über']);
  assert.equal(f('DARN darnit darn_it darn! (darn)'), '**** darnit darn_it ****! (****)');
  assert.equal(f('a.b axb'), '**** axb');
  assert.equal(f('Über alles, überall'), '**** alles, überall');
  assert.equal(compileWordFilter([])('anything'), 'anything');
});

test('names: 2–24 of [A-Za-z0-9_-], not reserved, not filtered', () => {
  const f = compileWordFilter(['darn']);
  for (const ok of ['ab', 'Zed_99', 'a-b', 'x'.repeat(24)]) assert.ok(isValidName(ok, f), ok);
  for (const bad of ['a', 'x'.repeat(25), 'a b', 'é', '<b>', 'system', 'Admin', 'darn', 'a.b'])
    assert.ok(!isValidName(bad, f), bad);
});

test('drawings: PNG data URL, valid base64, within the size limit', () => {
  assert.deepEqual(checkDrawing(pngDataUrl(500), 1000), { ok: true });
  assert.deepEqual(checkDrawing(pngDataUrl(1500), 1000), { ok: false, code: 'DRAWING_TOO_LARGE' });
  for (const bad of [
    '',
    'data:image/png;base64,',
    'data:image/png;base64,abc',
    'data:image/svg+xml;base64,PHN2Zz4=',
    'data:image/png;base64,AAAAAAAAAAAA',
    `${pngDataUrl(100)}"><img>`,
  ]) {
    assert.deepEqual(checkDrawing(bad, 1000), { ok: false, code: 'BAD_DRAWING' }, bad);
  }
});

test('parseInput: text, //escape, commands with arguments, bad usage, unknown', () => {
  assert.deepEqual(parseInput('hello'), { kind: 'text', text: 'hello' });
  assert.deepEqual(parseInput('//x'), { kind: 'text', text: '/x' });
  const cmd = (t: string) => {
    const r = parseInput(t);
    return r.kind === 'command' ? r.command : r.kind;
  };
  assert.deepEqual(cmd('/me  waves  hi'), { name: 'me', text: 'waves  hi' });
  assert.deepEqual(cmd('/MUTE @bob 10'), { name: 'mute', target: 'bob', minutes: 10 });
  assert.deepEqual(cmd('/ban bob'), { name: 'ban', target: 'bob' });
  assert.deepEqual(cmd('/rename bob robert'), { name: 'rename', target: 'bob', newName: 'robert' });
  assert.deepEqual(cmd('/delete 42'), { name: 'delete', seq: 42 });
  assert.deepEqual(cmd('/color #ffffff'), { name: 'color', color: '#ffffff' });
  for (const bad of [
    '/mute',
    '/mute bob 0',
    '/mute bob -1',
    '/mute bob 1.5',
    '/mute bob 600000',
    '/ban a b c',
    '/delete x',
    '/clear now',
    '/name',
    '/name a b',
  ]) {
    assert.equal(cmd(bad), 'bad-usage', bad);
  }
  assert.deepEqual(parseInput('/dance'), { kind: 'unknown', name: 'dance' });
});

test('helpText shows each level only its commands', () => {
  assert.doesNotMatch(helpText('everyone'), /\/mute/);
  assert.match(helpText('moderator'), /\/mute/);
  assert.doesNotMatch(helpText('moderator'), /\/unmod/);
  assert.match(helpText('owner'), /\/unmod/);
});

test('colours: defaults are stable per name and readable; /color accepts hex and names only', () => {
  assert.equal(defaultColor('Zed'), defaultColor('zed'));
  assert.match(defaultColor('anyone'), /^#[0-9a-f]{6}$/);
  assert.equal(parseColor('#ABCDEF'), '#abcdef');
  assert.equal(parseColor('Blue'), '#5c7cfa');
  for (const bad of ['#abc', 'toString', '__proto__', 'blue;', 'rgb(0,0,0)'])
    assert.equal(parseColor(bad), undefined, bad);
});

test('sliding window: counts inside the window only, forgets idle keys', () => {
  const l = new SlidingWindowLimiter({ messages: 2, perMs: 1000 });
  l.record('a', 0);
  l.record('a', 500);
  assert.ok(!l.allows('a', 999));
  assert.ok(l.allows('b', 999));
  assert.ok(l.allows('a', 1001)); // the first hit left the window
  l.record('a', 1001);
  assert.ok(!l.allows('a', 1499));
  assert.ok(l.allows('a', 1501));
  l.allows('a', 5000);
  assert.equal(l.size(), 0);
});
