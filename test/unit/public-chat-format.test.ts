/**
 * The chat panel's pure rules, run in Node: how a message text splits into text, @mentions, :emoji: and
 * links (the view turns parts into text nodes, so markup stays text), which server data is accepted
 * (drawings only as PNG data URLs, colours only #rrggbb), and the slash commands the moderator menu sends.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as m from '../../src/edge/public/chat-format.js';
import { useEnglish } from '../helpers/page-language.js';

// Pages served in English (the catalogue as the edge serves it to a page).
useEnglish();
const PNG =
  'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';

test('plain text, including markup, is one text part', () => {
  assert.deepEqual(m.tokenize('<b>x</b> & <img src=x onerror=alert(1)>'), [
    { type: 'text', text: '<b>x</b> & <img src=x onerror=alert(1)>' },
  ]);
  assert.deepEqual(m.tokenize(''), []);
});

test('mentions are found after a space or at the start, and marked when they name you (any case)', () => {
  assert.deepEqual(m.tokenize('@Alice hi @bob, mail me at x@example.com', { self: 'alice' }), [
    { type: 'mention', name: 'Alice', self: true },
    { type: 'text', text: ' hi ' },
    { type: 'mention', name: 'bob', self: false },
    { type: 'text', text: ', mail me at x@example.com' },
  ]);
  assert.equal(m.mentionsName('hey @DEMO!', 'demo'), true);
  assert.equal(m.mentionsName('hey @demonstration', 'demo'), false);
  assert.equal(m.mentionsName('hey @demo', ''), false);
});

test('standard shortcodes become characters; custom emoji win and carry their url; unknown ones stay text', () => {
  const custom = new Map([
    ['kappa', '/emoji/kappa'],
    ['fire', '/emoji/fire'],
  ]);
  assert.deepEqual(m.tokenize('gg :smile: :kappa: :fire: :nope: :100:', { custom }), [
    { type: 'text', text: 'gg ' },
    { type: 'emoji', name: 'smile', char: '😄' },
    { type: 'text', text: ' ' },
    { type: 'emoji', name: 'kappa', url: '/emoji/kappa' },
    { type: 'text', text: ' ' },
    { type: 'emoji', name: 'fire', url: '/emoji/fire' },
    { type: 'text', text: ' :nope: ' },
    { type: 'emoji', name: '100', char: '💯' },
  ]);
  // A colon that did not close an emoji may open the next one.
  assert.deepEqual(m.tokenize(':nope:smile:'), [
    { type: 'text', text: ':nope' },
    { type: 'emoji', name: 'smile', char: '😄' },
  ]);
  assert.deepEqual(m.tokenize('12:30:45'), [{ type: 'text', text: '12:30:45' }]);
});

test('http(s) links are parts without trailing punctuation; other schemes stay text', () => {
  assert.deepEqual(m.tokenize('see https://example.com/a_(b)?q=1. ok'), [
    { type: 'text', text: 'see ' },
    { type: 'link', href: 'https://example.com/a_(b)?q=1', text: 'https://example.com/a_(b)?q=1' },
    { type: 'text', text: '. ok' },
  ]);
  assert.deepEqual(m.tokenize('(http://x.org/y)'), [
    { type: 'text', text: '(' },
    { type: 'link', href: 'http://x.org/y', text: 'http://x.org/y' },
    { type: 'text', text: ')' },
  ]);
  assert.deepEqual(m.tokenize('javascript:alert(1) data:text/html,x'), [
    { type: 'text', text: 'javascript:alert(1) data:text/html,x' },
  ]);
  assert.equal(m.safeHttpUrl('https://user:pw@example.com/'), null);
  // Mentions and emoji inside a link belong to the link.
  assert.deepEqual(m.tokenize('https://x.org/@me/:smile:/x'), [
    { type: 'link', href: 'https://x.org/@me/:smile:/x', text: 'https://x.org/@me/:smile:/x' },
  ]);
});

test('drawings are accepted only as base64 PNG data URLs', () => {
  assert.equal(m.isSafeDrawing(PNG), true);
  assert.equal(m.isSafeDrawing('data:image/svg+xml;base64,PHN2Zz4='), false);
  assert.equal(m.isSafeDrawing('https://evil.example/x.png'), false);
  assert.equal(m.isSafeDrawing('data:image/png;base64,AAA" onerror="x'), false);
  assert.equal(m.isSafeDrawing(undefined), false);
});

test('colours must be #rrggbb; emoji urls same-origin paths or image data URLs', () => {
  assert.equal(m.safeColor('#A1b2C3'), '#A1b2C3');
  assert.equal(m.safeColor('red; background:url(x)'), '#9aa1b2');
  assert.equal(m.safeColor(undefined, '#000000'), '#000000');
  assert.equal(m.safeEmojiUrl('/emoji/kappa'), '/emoji/kappa');
  assert.equal(m.safeEmojiUrl('//evil.example/x.png'), null);
  assert.equal(m.safeEmojiUrl('/\\evil.example'), null);
  assert.equal(m.safeEmojiUrl('javascript:alert(1)'), null);
  assert.equal(m.safeEmojiUrl('https://evil.example/x.png'), null);
  assert.deepEqual(
    [
      ...m.emojiMap([
        { name: 'ok', url: '/emoji/ok' },
        { name: 'bad name', url: '/emoji/x' },
        { name: 'remote', url: 'http://x/y' },
        null,
      ]),
    ],
    [['ok', '/emoji/ok']],
  );
  assert.equal(m.emojiMap('nope').size, 0);
});

test('messages from the server are validated; a drawing without a PNG is dropped', () => {
  const ok = m.parseMessage({
    seq: 3,
    kind: 'text',
    author: 'bob',
    color: '#112233',
    badge: 'moderator',
    text: 'hi',
    at: 5,
  });
  assert.deepEqual(ok, {
    seq: 3,
    kind: 'text',
    author: 'bob',
    color: '#112233',
    badge: 'moderator',
    text: 'hi',
    at: 5,
  });
  assert.equal(m.parseMessage({ seq: -1, kind: 'text', text: 'x' }), null);
  assert.equal(m.parseMessage({ seq: 1, kind: 'html', text: 'x' }), null);
  assert.equal(m.parseMessage({ seq: 1, kind: 'drawing', text: '', image: 'http://x/y.png' }), null);
  assert.equal(m.parseMessage({ seq: 1, kind: 'drawing', text: '', image: PNG })?.image, PNG);
  const odd = m.parseMessage({
    seq: 2,
    kind: 'me',
    author: 'x',
    color: 'expression(1)',
    badge: 'king',
    text: 'waves',
    at: 1,
  });
  assert.equal(odd?.color, '#9aa1b2');
  assert.equal(odd?.badge, 'user');
});

test('members are validated and listed host, moderators, then the rest by name', () => {
  const list = m.parseMembers([
    { name: 'zed', color: '#111111', badge: 'user' },
    { name: 'Amy', color: '#222222', badge: 'guest' },
    { name: 'host', color: '#333333', badge: 'host' },
    { name: 'mod', color: '#444444', badge: 'moderator' },
    { name: 'ann', color: '#555555', badge: 'user' },
    { bogus: true },
  ]);
  assert.deepEqual(
    list.map((x) => x.name),
    ['host', 'mod', 'ann', 'zed', 'Amy'],
  );
  assert.deepEqual(m.parseMembers(null), []);
  assert.equal(m.badgeLabel('host'), 'Host');
  assert.equal(m.badgeLabel('moderator'), 'Mod');
  assert.equal(m.badgeLabel('user'), null);
});

test('what is sent: trimmed text, nothing for blanks; slash commands go as typed', () => {
  assert.equal(m.outgoingText('  hello  '), 'hello');
  assert.equal(m.outgoingText('   '), null);
  assert.equal(m.outgoingText('/me waves'), '/me waves');
  assert.equal(m.outgoingText(undefined), null);
});

test('the moderator menu offers delete on any message, sanctions only on others who are not the host', () => {
  const you = { name: 'mod1', canModerate: true };
  const other = { seq: 9, kind: 'text', author: 'troll', badge: 'guest' };
  assert.deepEqual(
    m.moderationActions(other, you).map((a) => m.moderationCommand(a, 'troll')),
    ['/delete 9', '/mute troll 10', '/mute troll', '/unmute troll', '/ban troll'],
  );
  assert.deepEqual(
    m.moderationActions({ ...other, author: 'MOD1' }, you).map((a) => a.type),
    ['delete'],
  );
  assert.deepEqual(
    m.moderationActions({ ...other, badge: 'host' }, you).map((a) => a.type),
    ['delete'],
  );
  assert.deepEqual(m.moderationActions({ ...other, kind: 'system' }, you), []);
  assert.deepEqual(m.moderationActions(other, { name: 'x', canModerate: false }), []);
  assert.equal(m.moderationCommand({ type: 'ban', minutes: 60 }, 'x'), '/ban x 60');
  assert.throws(() => m.moderationCommand({ type: 'explode' }, 'x'), /unknown moderation action/);
});

test('a kick (4403) is final with a sentence for its code; a drop is retried', () => {
  assert.deepEqual(m.describeClose(4403, 'BANNED'), {
    retry: false,
    code: 'BANNED',
    text: 'You are banned from this chat.',
  });
  assert.equal(m.describeClose(4403, 'GUESTS_NOT_ALLOWED').code, 'GUESTS_NOT_ALLOWED');
  assert.match(m.describeClose(4403, 'SOMETHING').text, /removed from this chat \(SOMETHING\)/);
  assert.equal(m.describeClose(4403, '').text, 'You were removed from this chat.');
  const pw = m.describeClose(4403, 'PASSWORD_REQUIRED: this stream needs its password');
  assert.deepEqual([pw.retry, pw.code], [false, 'PASSWORD_REQUIRED']);
  assert.match(pw.text, /needs its password/);
  assert.equal(m.describeClose(1001, 'going away').retry, true);
  assert.equal(m.describeClose(1006, '').retry, true);
  assert.equal(m.describeClose(1008, '').retry, false);
});
