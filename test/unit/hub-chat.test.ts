import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { ChatError } from '../../src/hub/chat/types.js';
import { addStreamerSession, addUser, makeHarness, pngDataUrl, FakeStore } from './hub-chat-fake-store.js';

const GUEST_RE = /^guest-\d{4,}$/;

test('joining an unknown channel: STREAM_NOT_FOUND and the connection is kicked', () => {
  const h = makeHarness();
  const ref = h.join('e1', 'c1', 'nobody', { guestName: 'zed' });
  assert.equal(h.net.lastNoticeCode(ref), 'STREAM_NOT_FOUND');
  assert.ok(h.net.isKicked(ref));
  assert.deepEqual(h.hub.members('nobody'), []);
});

test('a guest gets the name they asked for, then you, history, emoji, and everyone gets members', () => {
  const h = makeHarness();
  h.store.emoji.add({ name: 'partyparrot', mime: 'image/gif', data: Buffer.from('GIF89a') });
  const a = h.join('e1', 'c1', 'alice', { guestName: 'zed' });
  const types = h.net.events(a).map((e) => e.type);
  assert.deepEqual(types, ['you', 'history', 'emoji', 'members']);
  assert.deepEqual(h.net.last(a, 'you'), {
    type: 'you',
    name: 'zed',
    color: h.net.last(a, 'you')!.color,
    badge: 'guest',
    canModerate: false,
  });
  assert.match(h.net.last(a, 'you')!.color, /^#[0-9a-f]{6}$/);
  assert.deepEqual(h.net.last(a, 'emoji')!.list, [{ name: 'partyparrot', url: '/emoji/partyparrot' }]);
  assert.deepEqual(
    h.net.last(a, 'members')!.members.map((m) => [m.name, m.badge]),
    [['zed', 'guest']],
  );
});

test('guest names: invalid, taken, registered or a channel name → guest-NNNN', () => {
  const h = makeHarness();
  addUser(h, 'carol');
  const first = h.join('e1', 'c1', 'alice', { guestName: 'zed' });
  const cases = ['zed', 'ZED', 'x', 'has space', '<b>', 'a'.repeat(25), 'carol', 'bob', 'system', undefined];
  cases.forEach((guestName, i) => {
    const ref = h.join('e1', `g${i}`, 'alice', { guestName });
    assert.match(h.net.last(ref, 'you')!.name, GUEST_RE, `guestName ${String(guestName)}`);
  });
  assert.equal(h.net.last(first, 'you')!.name, 'zed');
  const names = h.hub.members('alice').map((m) => m.name);
  assert.equal(new Set(names.map((n) => n.toLowerCase())).size, names.length, 'member names are unique');
});

test('guests not allowed: a guest is refused, an account is not', () => {
  const h = makeHarness({ limits: { guestsAllowed: false } });
  const token = addUser(h, 'carol');
  const g = h.join('e1', 'g', 'alice', { guestName: 'zed' });
  assert.equal(h.net.lastNoticeCode(g), 'GUESTS_NOT_ALLOWED');
  assert.ok(h.net.isKicked(g));
  const u = h.join('e1', 'u', 'alice', { session: token });
  assert.equal(h.net.last(u, 'you')!.name, 'carol');
});

test('badges: user, moderator, host by stream key, host by the streamer’s own account, admin everywhere', () => {
  const h = makeHarness();
  const user = addUser(h, 'carol');
  const mod = addUser(h, 'dave');
  h.store.moderators.add('alice', 'dave');
  // bob's own account: registered while logged in with bob's stream key.
  const hostAccount = addUser(h, 'bob', 'user', 'bob');
  const admin = addUser(h, 'root', 'admin');
  const streamer = addStreamerSession(h, 'alice');
  const badge = (conn: string, channel: string, session: string) => {
    const ref = h.join('e1', conn, channel, { session });
    const you = h.net.last(ref, 'you')!;
    return [you.name, you.badge, you.canModerate];
  };
  assert.deepEqual(badge('1', 'alice', user), ['carol', 'user', false]);
  assert.deepEqual(badge('2', 'alice', mod), ['dave', 'moderator', true]);
  assert.deepEqual(badge('3', 'bob', mod), ['dave', 'user', false], 'moderator of alice only');
  assert.deepEqual(badge('4', 'alice', streamer), ['alice', 'host', true]);
  assert.deepEqual(badge('5', 'bob', hostAccount), ['bob', 'host', true]);
  assert.deepEqual(badge('6', 'alice', admin), ['root', 'moderator', true]);
  assert.deepEqual(badge('7', 'bob', admin), ['root', 'moderator', true]);
  assert.deepEqual(
    badge('8', 'bob', streamer),
    ['alice', 'user', false],
    "a streamer in someone else's chat",
  );
  assert.deepEqual(badge('9', 'alice', 'expired-token'), [
    h.net.last({ edge: 'e1', conn: '9' }, 'you')!.name,
    'guest',
    false,
  ]);
  assert.deepEqual(
    h.hub
      .members('alice')
      .map((m) => `${m.badge}:${m.name}`)
      .slice(0, 3),
    ['host:alice', 'moderator:dave', 'moderator:root'],
    'member list: host first, then moderators',
  );
});

test('an account on two edges is one member; leaving one tab keeps it', () => {
  const h = makeHarness();
  const token = addUser(h, 'carol');
  const a = h.join('e1', 'c1', 'alice', { session: token });
  const b = h.join('e2', 'c9', 'alice', { session: token, ip: '10.0.0.2' });
  assert.deepEqual(
    h.hub.members('alice').map((m) => m.name),
    ['carol'],
  );
  h.hub.leave(a);
  assert.deepEqual(
    h.hub.members('alice').map((m) => m.name),
    ['carol'],
  );
  h.hub.leave(b);
  assert.deepEqual(h.hub.members('alice'), []);
});

test('history on join: the last historyOnJoin messages, oldest first', () => {
  const h = makeHarness({
    limits: {
      historyOnJoin: 3,
      userRate: { messages: 100, perMs: 1000 },
      ipRate: { messages: 100, perMs: 1000 },
    },
  });
  const a = h.join('e1', 'c1', 'alice', { guestName: 'zed' });
  for (let i = 1; i <= 5; i++) h.say(a, `m${i}`);
  const b = h.join('e2', 'c2', 'alice', { guestName: 'yan' });
  const history = h.net.last(b, 'history')!;
  assert.equal(history.channel, 'alice');
  assert.deepEqual(
    history.messages.map((m) => [m.seq, m.text, m.author]),
    [
      [3, 'm3', 'zed'],
      [4, 'm4', 'zed'],
      [5, 'm5', 'zed'],
    ],
  );
});

test('two connections on two edges see the same messages in the same seq order', () => {
  const h = makeHarness();
  const a = h.join('e1', 'c1', 'alice', { guestName: 'zed', ip: '10.0.0.1' });
  const b = h.join('e2', 'c1', 'alice', { guestName: 'yan', ip: '10.0.0.2' });
  const other = h.join('e2', 'c2', 'bob', { guestName: 'wes', ip: '10.0.0.3' });
  h.say(a, 'one');
  h.say(b, 'two');
  h.say(a, 'three');
  h.hub.act(b, { type: 'draw', image: pngDataUrl() });
  const seen = (ref: typeof a) => h.net.messages(ref).map((m) => `${m.seq}:${m.author}:${m.kind}:${m.text}`);
  assert.deepEqual(seen(a), ['1:zed:text:one', '2:yan:text:two', '3:zed:text:three', '4:yan:drawing:']);
  assert.deepEqual(seen(b), seen(a));
  assert.deepEqual(h.net.messages(other), [], 'another channel hears nothing');
  assert.deepEqual(
    h.store.stored('alice').map((m) => m.seq),
    [1, 2, 3, 4],
  );
  assert.equal(h.net.messages(b)[3]!.image, pngDataUrl());
});

test('seq continues after a new ChatHub on the same store (restart)', () => {
  const store = new FakeStore();
  const h1 = makeHarness({ store });
  const a = h1.join('e1', 'c1', 'alice', { guestName: 'zed' });
  h1.say(a, 'before');
  h1.say(a, 'restart');
  h1.hub.close();
  const h2 = makeHarness({ store });
  const b = h2.join('e1', 'c1', 'alice', { guestName: 'zed' });
  assert.deepEqual(
    h2.net.last(b, 'history')!.messages.map((m) => m.text),
    ['before', 'restart'],
  );
  h2.say(b, 'after');
  assert.equal(h2.net.messages(b)[0]!.seq, 3);
  assert.deepEqual(
    store.stored('alice').map((m) => m.seq),
    [1, 2, 3],
  );
});

test('rate limit per member: the sixth message in 5 s is refused, not stored; another member is unaffected', () => {
  const h = makeHarness();
  const flood = h.join('e1', 'c1', 'alice', { guestName: 'zed', ip: '10.0.0.1' });
  const calm = h.join('e2', 'c2', 'alice', { guestName: 'yan', ip: '10.0.0.2' });
  for (let i = 0; i < 6; i++) h.say(flood, `spam ${i}`);
  assert.equal(h.net.lastNoticeCode(flood), 'RATE_LIMITED');
  h.say(calm, 'hello');
  assert.deepEqual(
    h.store.stored('alice').map((m) => m.text),
    ['spam 0', 'spam 1', 'spam 2', 'spam 3', 'spam 4', 'hello'],
  );
  assert.equal(h.net.notices(calm).length, 0);
  h.clock.now += 5001; // the window slides: the flooder may talk again
  h.say(flood, 'later');
  assert.equal(h.net.messages(calm).at(-1)!.text, 'later');
});

test('rate limit per IP: many guests on one IP share 20 per 5 s; another IP is unaffected', () => {
  const h = makeHarness();
  const guests = Array.from({ length: 6 }, (_, i) =>
    h.join('e1', `g${i}`, 'alice', { guestName: `nat${i}`, ip: '192.0.2.7' }),
  );
  const other = h.join('e2', 'o', 'alice', { guestName: 'elsewhere', ip: '198.51.100.1' });
  for (let round = 0; round < 4; round++) for (const g of guests) h.say(g, `r${round}`);
  const stored = h.store.stored('alice');
  assert.equal(stored.length, 20);
  assert.equal(h.net.lastNoticeCode(guests[5]!), 'RATE_LIMITED');
  h.say(other, 'still here');
  assert.equal(h.store.stored('alice').at(-1)!.text, 'still here');
});

test('an oversize message or drawing, a bad drawing, an empty message: refused with a code, not stored', () => {
  const h = makeHarness({
    limits: { maxMessageChars: 10, maxDrawingBytes: 1000, userRate: { messages: 100, perMs: 1 } },
  });
  const a = h.join('e1', 'c1', 'alice', { guestName: 'zed' });
  h.say(a, '12345678901');
  assert.equal(h.net.lastNoticeCode(a), 'MESSAGE_TOO_LONG');
  h.say(a, '😀'.repeat(10)); // ten characters, twenty UTF-16 units: allowed
  h.say(a, '   \n\t ');
  assert.equal(h.net.lastNoticeCode(a), 'EMPTY_MESSAGE');
  h.hub.act(a, { type: 'draw', image: pngDataUrl(2000) });
  assert.equal(h.net.lastNoticeCode(a), 'DRAWING_TOO_LARGE');
  for (const image of [
    'data:image/gif;base64,R0lGODlh',
    'data:image/png;base64,@@@@',
    'data:image/png;base64,AAAAAAAAAAAA',
    'javascript:alert(1)',
  ]) {
    h.hub.act(a, { type: 'draw', image });
    assert.equal(h.net.lastNoticeCode(a), 'BAD_DRAWING', image);
  }
  h.hub.act(a, { type: 'nonsense' } as never);
  assert.equal(h.net.lastNoticeCode(a), 'BAD_REQUEST');
  assert.deepEqual(
    h.store.stored('alice').map((m) => m.text),
    ['😀'.repeat(10)],
  );
});

test('markup stays a literal string in the event: nothing escaped, nothing else changed', () => {
  const h = makeHarness();
  const a = h.join('e1', 'c1', 'alice', { guestName: 'zed' });
  const payloads = [
    '<script>alert(1)</script>',
    '<img src=x onerror="alert(1)">',
    'a < b && c > "d" \'e\' &amp;',
  ];
  for (const p of payloads) h.say(a, p);
  const msgs = h.net.messages(a);
  assert.deepEqual(
    msgs.map((m) => m.text),
    payloads,
  );
  const json = JSON.stringify(h.net.of(a, 'message')[0]);
  assert.ok(json.includes('"text":"<script>alert(1)</script>"'), json);
  assert.deepEqual(Object.keys(msgs[0]!).sort(), ['at', 'author', 'badge', 'color', 'kind', 'seq', 'text']);
  assert.deepEqual(
    h.store.stored('alice').map((m) => m.text),
    payloads,
  );
});

test('control characters and bidi overrides are stripped; newlines become spaces', () => {
  const h = makeHarness();
  const a = h.join('e1', 'c1', 'alice', { guestName: 'zed' });
  h.say(a, '  hi\u0000\u0007 there\nfriend\u202e gnp.exe \u200d👍 👩\u200d💻');
  // A joiner is kept only inside an emoji sequence.
  assert.equal(h.net.messages(a)[0]!.text, 'hi there friend gnp.exe 👍 👩\u200d💻');
});

test('word filter: whole words, any case, replaced by ****', () => {
  const h = makeHarness({ limits: { wordFilter: ['darn', 'heck'] } });
  const a = h.join('e1', 'c1', 'alice', { guestName: 'zed' });
  h.say(a, 'Darn it, what the HECK, darning needles are fine');
  h.say(a, '/me says darn');
  assert.deepEqual(
    h.net.messages(a).map((m) => m.text),
    ['**** it, what the ****, darning needles are fine', 'says ****'],
  );
  assert.deepEqual(
    h.store.stored('alice').map((m) => m.text),
    ['**** it, what the ****, darning needles are fine', 'says ****'],
  );
});

test('mentions and emoji codes stay in the text for the client to render', () => {
  const h = makeHarness();
  const a = h.join('e1', 'c1', 'alice', { guestName: 'zed' });
  h.say(a, '@yan look :partyparrot: :+1:');
  assert.equal(h.net.messages(a)[0]!.text, '@yan look :partyparrot: :+1:');
});

test('dropEdge removes that edge’s members and tells the others', () => {
  const h = makeHarness();
  const token = addUser(h, 'carol');
  h.join('e1', 'c1', 'alice', { guestName: 'zed' });
  h.join('e1', 'c2', 'alice', { session: token });
  const stay = h.join('e2', 'c1', 'alice', { guestName: 'yan' });
  h.join('e2', 'c2', 'alice', { session: token }); // carol also on e2: stays
  h.hub.dropEdge('e1');
  assert.deepEqual(
    h.hub
      .members('alice')
      .map((m) => m.name)
      .sort(),
    ['carol', 'yan'],
  );
  assert.deepEqual(
    h.net
      .last(stay, 'members')!
      .members.map((m) => m.name)
      .sort(),
    ['carol', 'yan'],
  );
  h.hub.act({ edge: 'e1', conn: 'c1' }, { type: 'send', text: 'ghost' });
  assert.equal(h.net.broadcasts.filter((b) => b.event.type === 'message').length, 0);
});

test('a throwing output is logged and does not break the hub', () => {
  const lines: string[] = [];
  const sink = new Writable({ write: (chunk: Buffer, _enc, cb) => (lines.push(chunk.toString()), cb()) });
  const h = makeHarness({ logger: pino({ level: 'error' }, sink) });
  h.net.throwing = true;
  const a = h.join('e1', 'c1', 'alice', { guestName: 'zed' });
  h.say(a, 'into the void');
  h.net.throwing = false;
  h.say(a, 'still works');
  assert.deepEqual(
    h.store.stored('alice').map((m) => [m.seq, m.text]),
    [
      [1, 'into the void'],
      [2, 'still works'],
    ],
  );
  assert.equal(h.net.messages(a).at(-1)!.text, 'still works');
  assert.ok(lines.some((l) => l.includes('chat output failed')));
});

test('a failing store costs one action: INTERNAL notice, hub keeps going', () => {
  const h = makeHarness();
  const a = h.join('e1', 'c1', 'alice', { guestName: 'zed' });
  const chat = h.store.chat;
  h.store.chat = {
    ...chat,
    append: () => {
      throw new Error('disk full');
    },
  };
  h.say(a, 'lost');
  assert.equal(h.net.lastNoticeCode(a), 'INTERNAL');
  h.store.chat = chat;
  h.say(a, 'kept');
  assert.equal(h.net.messages(a).at(-1)!.text, 'kept');
});

test('postAsStreamer: a host message for everyone; bad input throws ChatError with a code', () => {
  const h = makeHarness();
  const a = h.join('e1', 'c1', 'alice', { guestName: 'zed' });
  const msg = h.hub.postAsStreamer('alice', 'Starting soon <3');
  assert.deepEqual(
    [msg.author, msg.badge, msg.kind, msg.text],
    ['alice', 'host', 'text', 'Starting soon <3'],
  );
  assert.deepEqual(h.net.messages(a), [msg]);
  assert.deepEqual(h.hub.recent('alice', 10), [msg]);
  assert.throws(
    () => h.hub.postAsStreamer('nobody', 'hi'),
    (e) => e instanceof ChatError && e.code === 'NOT_FOUND',
  );
  assert.throws(
    () => h.hub.postAsStreamer('alice', ' \n '),
    (e) => e instanceof ChatError && e.code === 'INVALID_VALUE',
  );
  assert.throws(
    () => h.hub.postAsStreamer('alice', 'x'.repeat(501)),
    (e) => e instanceof ChatError && e.code === 'PAYLOAD_TOO_LARGE',
  );
});

test('close() is idempotent and later calls are ignored', () => {
  const h = makeHarness();
  const a = h.join('e1', 'c1', 'alice', { guestName: 'zed' });
  h.hub.close();
  h.hub.close();
  h.say(a, 'after close');
  assert.deepEqual(h.store.stored('alice'), []);
  assert.deepEqual(h.hub.members('alice'), []);
});

test('look-alike names: no guest or account may pass for the streamer, and a name match never makes a host', () => {
  const h = makeHarness();
  // An account that predates the name rules (the fake store does not refuse it) and merely matches by name.
  const impostor = addUser(h, 'ALICE');
  for (const [i, guestName] of ['Alice', 'ALICE', 'a1ice', 'AL1CE'].entries()) {
    const ref = h.join('e1', `g${i}`, 'alice', { guestName });
    const you = h.net.last(ref, 'you')!;
    assert.notEqual(
      you.name.toLowerCase(),
      guestName.toLowerCase(),
      `guest ${guestName} got a name of its own`,
    );
    assert.match(you.name, /^guest-\d+$/);
  }
  const ref = h.join('e1', 'imp', 'alice', { session: impostor });
  const you = h.net.last(ref, 'you')!;
  assert.deepEqual([you.badge, you.canModerate], ['user', false], 'a name match is not the host');
  const victim = h.join('e1', 'v', 'alice', { guestName: 'victim' });
  h.say(ref, '/mute victim');
  h.say(victim, 'still talking');
  assert.equal(h.net.lastNoticeCode(ref), 'FORBIDDEN', 'the impostor cannot mute');
  assert.ok(
    h.net.messages(victim).some((m) => m.text === 'still talking'),
    'the victim still talks',
  );
});
