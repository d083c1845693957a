/**
 * A channel's own chat rules at the hub (issue 16): slow mode, who may chat, links (blocked with an
 * allow-list, or a first-time chatter's held for review), the channel's blocked words, the moderation log and
 * the host's raid. Staff pass every rule; every refusal tells the sender why, with a code.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConnRef } from '../../src/hub/chat/events.js';
import { hostAllowed, linkHosts } from '../../src/hub/chat/channel-rules.js';
import { DEFAULT_CHAT_RULES } from '../../src/hub/store/types.js';
import { addStreamerSession, addUser, makeHarness } from './hub-chat-fake-store.js';

/** alice's channel: the host, a moderator (dave), an account (carol) and a guest (zed); bob's channel exists. */
function room() {
  const h = makeHarness({
    limits: { userRate: { messages: 1000, perMs: 1000 }, ipRate: { messages: 1000, perMs: 1000 } },
  });
  h.store.streamers.add({ name: 'alice', key: 'alice-key-0123456789' });
  h.store.streamers.add({ name: 'bob', key: 'bob-key-0123456789ab' });
  const host = h.join('e1', 'host', 'alice', { session: addStreamerSession(h, 'alice'), ip: '10.0.0.10' });
  h.store.moderators.add('alice', 'dave');
  const mod = h.join('e1', 'mod', 'alice', { session: addUser(h, 'dave'), ip: '10.0.0.11' });
  const user = h.join('e2', 'user', 'alice', { session: addUser(h, 'carol'), ip: '10.0.0.12' });
  const guest = h.join('e2', 'guest', 'alice', { guestName: 'zed', ip: '10.0.0.13' });
  return { h, host, mod, user, guest };
}

type H = ReturnType<typeof room>['h'];
const texts = (h: H, ref: ConnRef) => h.net.messages(ref).map((m) => `${m.author}: ${m.text}`);
const said = (h: H, ref: ConnRef, text: string) => texts(h, ref).includes(text);

test('slow mode: one message per chatter every N seconds, said with the wait; staff exempt; off again', () => {
  const { h, mod, guest, user } = room();
  h.say(mod, '/slow 10');
  assert.ok(said(h, guest, 'system: Slow mode is on: one message every 10 s (by dave)'));
  h.say(guest, 'one');
  h.clock.now += 4000;
  h.say(guest, 'two');
  assert.equal(h.net.lastNoticeCode(guest), 'SLOW_MODE');
  assert.match(h.net.notices(guest).at(-1)!.text, /send again in 6 s/);
  assert.deepEqual(
    [h.net.notices(guest).at(-1)!.key, h.net.notices(guest).at(-1)!.params],
    ['chat.notice.slowMode', { seconds: 6 }],
  );
  const on = h.net.messages(guest).find((m) => m.kind === 'system')!;
  assert.deepEqual([on.key, on.params], ['chat.system.slowOn', { seconds: 10, by: 'dave' }]);
  assert.equal(said(h, user, 'zed: two'), false, 'not delivered');
  h.say(user, 'carol is someone else'); // per chatter, not per channel
  assert.ok(said(h, guest, 'carol: carol is someone else'));
  h.say(mod, 'a');
  h.say(mod, 'b');
  assert.ok(said(h, guest, 'dave: b'), 'a moderator is not slowed');
  h.clock.now += 6000;
  h.say(guest, 'three');
  assert.ok(said(h, user, 'zed: three'));
  h.say(mod, '/slow off');
  h.say(guest, 'four');
  assert.ok(said(h, user, 'zed: four'));
  assert.equal(h.store.moderation.rules('alice').slowModeS, 0);
});

test('slow mode holds across a reload: a guest by address, an account across its tabs', () => {
  const { h, mod, user, guest } = room();
  h.say(mod, '/slow 60');
  h.say(guest, 'first');
  // The guest reloads: a new connection, a new guest member, the same address.
  h.hub.leave(guest);
  const again = h.join('e2', 'guest2', 'alice', { guestName: 'zed2', ip: '10.0.0.13' });
  h.say(again, 'second');
  assert.equal(h.net.lastNoticeCode(again), 'SLOW_MODE');
  h.say(user, 'from tab one');
  const tab2 = h.join('e3', 'user-tab2', 'alice', { session: 'session-carol', ip: '10.0.0.99' });
  h.say(tab2, 'from tab two');
  assert.equal(h.net.lastNoticeCode(tab2), 'SLOW_MODE');
  assert.equal(said(h, mod, 'carol: from tab two'), false);
});

test('who may chat: accounts only, then followers only; staff always; /only off opens it again', () => {
  const { h, host, mod, user, guest } = room();
  h.say(mod, '/only accounts');
  h.say(guest, 'hi');
  assert.equal(h.net.lastNoticeCode(guest), 'ACCOUNTS_ONLY');
  h.say(user, 'hi from carol');
  assert.ok(said(h, guest, 'carol: hi from carol'));
  h.say(mod, '/only followers');
  h.say(user, 'again');
  assert.equal(h.net.lastNoticeCode(user), 'FOLLOWERS_ONLY');
  h.say(guest, 'me too');
  assert.equal(h.net.lastNoticeCode(guest), 'ACCOUNTS_ONLY');
  assert.equal(said(h, host, 'zed: me too'), false);
  h.store.follows.follow(h.store.users.getByName('carol')!.id, 'alice');
  h.say(user, 'following now');
  assert.ok(said(h, host, 'carol: following now'));
  h.say(mod, 'staff speaks');
  assert.ok(said(h, host, 'dave: staff speaks'));
  h.say(mod, '/only off');
  h.say(guest, 'open again');
  assert.ok(said(h, host, 'zed: open again'));
});

test('links blocked: refused with the host named, allowed domains pass, prose with dots is not a link', () => {
  const { h, mod, guest, host } = room();
  h.store.moderation.setRules('alice', {
    ...DEFAULT_CHAT_RULES,
    linkAllow: ['example.org'],
    blockedWords: [],
  });
  h.hub.rulesChanged('alice');
  h.say(mod, '/links block');
  for (const text of [
    'see https://evil.example/x',
    'www.evil.example',
    'go to evil.com/now',
    'EVIL.COM',
    'https://93.184.216.34/x',
    'https://evil。com',
    'https://ä.evil.click',
    'https://a_b.evil.click',
    'ｅｖｉｌ．ｃｏｍ',
  ]) {
    const notices = h.net.notices(guest).length;
    h.say(guest, text);
    assert.equal(h.net.notices(guest).length, notices + 1, `${text}: told`);
    assert.equal(h.net.lastNoticeCode(guest), 'LINK_BLOCKED', text);
    assert.equal(said(h, host, `zed: ${text}`), false, `${text}: not posted`);
  }
  h.say(guest, 'docs at https://docs.example.org/a and example.org');
  assert.ok(said(h, host, 'zed: docs at https://docs.example.org/a and example.org'));
  h.say(guest, 'ok.so v1.2 works e.g. here');
  assert.ok(said(h, host, 'zed: ok.so v1.2 works e.g. here'));
  h.say(mod, 'mods may: https://evil.example/');
  assert.ok(said(h, host, 'dave: mods may: https://evil.example/'));
});

test("links for review: a first-time chatter's link waits for a moderator, who approves or rejects it", () => {
  const { h, host, mod, user, guest } = room();
  h.say(mod, '/links review');
  h.say(user, 'hello, no link'); // carol is a regular from now on
  h.say(guest, 'look https://clips.example/1');
  assert.equal(h.net.lastNoticeCode(guest), 'MESSAGE_HELD');
  assert.equal(said(h, user, 'zed: look https://clips.example/1'), false, 'nobody sees it yet');
  const held = h.net.last(mod, 'held')!;
  assert.deepEqual([held.author, held.text], ['zed', 'look https://clips.example/1']);
  assert.ok(h.net.last(host, 'held'), 'the host sees it too');
  assert.equal(h.net.last(user, 'held'), undefined, 'viewers do not');
  // A moderator joining later is shown what waits.
  const mod2 = h.join('e3', 'mod2', 'alice', { session: `session-dave`, ip: '10.0.0.14' });
  assert.equal(h.net.last(mod2, 'held')?.id, held.id);
  h.say(mod, `/approve ${held.id}`);
  assert.ok(said(h, user, 'zed: look https://clips.example/1'), 'posted for everyone');
  assert.deepEqual(h.net.last(host, 'held-done'), {
    type: 'held-done',
    channel: 'alice',
    id: held.id,
    approved: true,
  });
  h.say(guest, 'and https://clips.example/2');
  assert.equal(
    h.net.lastNoticeCode(guest),
    'MESSAGE_HELD',
    "a guest's links always wait: its name is anyone's",
  );
  h.say(user, 'mine: https://carol.example');
  assert.ok(said(h, guest, 'carol: mine: https://carol.example'), 'carol (an account) had chatted before');
  const newbie = h.join('e2', 'newbie', 'alice', { guestName: 'neo', ip: '10.0.0.15' });
  h.say(newbie, 'buy at https://spam.example');
  const second = h.net.last(mod, 'held')!;
  h.say(mod, `/reject ${second.id}`);
  assert.equal(said(h, user, 'neo: buy at https://spam.example'), false);
  assert.match(h.net.notices(newbie).at(-1)!.text, /did not approve/);
  h.say(mod, `/approve ${second.id}`);
  assert.equal(h.net.lastNoticeCode(mod), 'UNKNOWN_NAME', 'decided once');
  // Held, then the author is muted: approving it does not let them speak.
  const third = h.join('e2', 'third', 'alice', { guestName: 'tri', ip: '10.0.0.16' });
  h.say(third, 'see https://tri.example');
  const held3 = h.net.last(mod, 'held')!;
  h.say(mod, '/mute tri');
  h.say(mod, `/approve ${held3.id}`);
  assert.match(h.net.notices(mod).at(-1)!.text, /tri is muted or banned now: not posted/);
  assert.equal(said(h, user, 'tri: see https://tri.example'), false);
  const log = h.store.moderation.logList('alice', 10).map((e) => `${e.actor} ${e.action} ${e.target ?? ''}`);
  assert.deepEqual(log.slice(0, 5), [
    'dave reject tri',
    'dave mute tri',
    'dave reject neo',
    'dave approve zed',
    'dave rules ',
  ]);
});

test("the channel's blocked words are masked in that channel only, besides the operator's", () => {
  const { h, host, guest } = room();
  h.store.moderation.setRules('alice', { ...DEFAULT_CHAT_RULES, linkAllow: [], blockedWords: ['spoiler'] });
  h.hub.rulesChanged('alice');
  h.say(guest, 'no SPOILER here');
  assert.ok(said(h, host, 'zed: no **** here'));
  const elsewhere = h.join('e1', 'bobview', 'bob', { guestName: 'yan', ip: '10.0.0.20' });
  h.say(elsewhere, 'a spoiler');
  assert.ok(said(h, elsewhere, 'yan: a spoiler'));
});

test('timeouts and every moderation action go to the moderation log: who, what, whom', () => {
  const { h, mod, user } = room();
  h.say(mod, '/timeout carol 5');
  h.say(user, 'can I talk');
  assert.equal(h.net.lastNoticeCode(user), 'MUTED');
  h.clock.now += 5 * 60_000 + 1;
  h.say(user, 'back');
  assert.ok(said(h, mod, 'carol: back'), 'the timeout ended by itself');
  h.say(mod, '/timeout carol');
  assert.equal(h.net.lastNoticeCode(mod), 'BAD_COMMAND', 'a timeout needs minutes');
  h.say(mod, '/slow 30');
  const [rules, mute] = h.store.moderation.logList('alice', 10);
  assert.deepEqual([rules!.actor, rules!.action, rules!.details], ['dave', 'rules', { slowModeS: 30 }]);
  assert.deepEqual(
    [mute!.actor, mute!.action, mute!.target, mute!.details?.minutes],
    ['dave', 'mute', 'carol', 5],
  );
});

test('/raid sends the viewers to a live, open channel; refused with a reason otherwise; the host only', () => {
  const { h, host, mod, guest } = room();
  h.say(mod, '/raid bob');
  assert.equal(h.net.lastNoticeCode(mod), 'FORBIDDEN');
  h.say(host, '/raid bob');
  assert.match(h.net.notices(host).at(-1)!.text, /not live/);
  h.say(host, '/raid nobody');
  assert.match(h.net.notices(host).at(-1)!.text, /no such channel/);
  h.say(host, '/raid ALICE');
  assert.match(h.net.notices(host).at(-1)!.text, /this channel/);
  h.live.add('bob');
  h.store.streamers.update('bob', { password: 'bob-password-1' });
  h.say(host, '/raid bob');
  assert.equal(h.net.lastNoticeCode(host), 'RAID_REFUSED');
  assert.match(h.net.notices(host).at(-1)!.text, /password-protected/);
  assert.deepEqual(
    [h.net.notices(host).at(-1)!.key, h.net.notices(host).at(-1)!.params],
    ['chat.notice.raidRefused.protected', { target: 'bob' }],
  );
  h.store.streamers.update('bob', { password: null });
  h.say(host, '/raid @bob');
  assert.deepEqual(h.net.last(guest, 'raid'), { type: 'raid', channel: 'alice', target: 'bob', by: 'alice' });
  assert.ok(said(h, guest, 'system: alice is raiding bob: everyone watching moves there'));
  assert.equal(h.store.moderation.logList('alice', 1)[0]!.action, 'raid');
});

test('links are found in the forms people type them', () => {
  assert.deepEqual(linkHosts('HTTPS://Www.Example.COM/x?y'), ['example.com']);
  assert.deepEqual(linkHosts('ftp://files.example.net'), ['files.example.net']);
  assert.deepEqual(linkHosts('see youtube.com/watch and t.tv/abc'), ['youtube.com', 't.tv']);
  assert.deepEqual(linkHosts('ｅｖｉｌ．ｃｏｍ'), ['evil.com'], 'fullwidth is folded');
  assert.deepEqual(linkHosts('ok.so I said e.g. v2.0 and 3.14'), []);
  assert.equal(hostAllowed('clips.twitch.tv', ['twitch.tv']), true);
  assert.equal(hostAllowed('eviltwitch.tv', ['twitch.tv']), false);
});
