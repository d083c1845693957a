import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConnRef } from '../../src/hub/chat/events.js';
import { addStreamerSession, addUser, makeHarness, pngDataUrl, type Harness } from './hub-chat-fake-store.js';

/** alice's channel with its host (stream key), a moderator (dave), a user (carol) and a guest (zed). */
function room(limits = {}) {
  const h = makeHarness({
    limits: { userRate: { messages: 1000, perMs: 1000 }, ipRate: { messages: 1000, perMs: 1000 }, ...limits },
  });
  const host = h.join('e1', 'host', 'alice', { session: addStreamerSession(h, 'alice'), ip: '10.0.0.10' });
  h.store.moderators.add('alice', 'dave');
  const mod = h.join('e1', 'mod', 'alice', { session: addUser(h, 'dave'), ip: '10.0.0.11' });
  const user = h.join('e2', 'user', 'alice', { session: addUser(h, 'carol'), ip: '10.0.0.12' });
  const guest = h.join('e2', 'guest', 'alice', { guestName: 'zed', ip: '10.0.0.13' });
  return { h, host, mod, user, guest };
}

const systemTexts = (h: Harness, ref: ConnRef) =>
  h.net
    .messages(ref)
    .filter((m) => m.kind === 'system')
    .map((m) => m.text);
const lastMsg = (h: Harness, ref: ConnRef) => h.net.messages(ref).at(-1);

test('/help lists what this member may use', () => {
  const { h, host, mod, guest } = room();
  for (const ref of [host, mod, guest]) h.say(ref, '/help');
  const help = (ref: ConnRef) => h.net.notices(ref).at(-1)!.text;
  assert.match(help(guest), /\/me/);
  assert.doesNotMatch(help(guest), /\/ban|\/mod /);
  assert.match(help(mod), /\/ban/);
  assert.doesNotMatch(help(mod), /\/mod </);
  assert.match(help(host), /\/mod <account>/);
  assert.equal(h.net.notices(guest).at(-1)!.level, 'info');
});

test('/me sends an action; //text sends text starting with /', () => {
  const { h, guest } = room();
  h.say(guest, '/me waves <b>hi</b>');
  assert.deepEqual(
    [lastMsg(h, guest)!.kind, lastMsg(h, guest)!.text, lastMsg(h, guest)!.author],
    ['me', 'waves <b>hi</b>', 'zed'],
  );
  h.say(guest, '//shrug');
  assert.deepEqual([lastMsg(h, guest)!.kind, lastMsg(h, guest)!.text], ['text', '/shrug']);
  h.say(guest, '/me');
  assert.equal(h.net.lastNoticeCode(guest), 'BAD_COMMAND');
});

test('unknown command → UNKNOWN_COMMAND; moderator command by a non-moderator → FORBIDDEN, not executed', () => {
  const { h, user, guest } = room();
  h.say(guest, '/dance');
  assert.equal(h.net.lastNoticeCode(guest), 'UNKNOWN_COMMAND');
  const before = h.store.calls.length;
  for (const cmd of [
    '/mute carol',
    '/ban carol 5',
    '/unmute carol',
    '/unban carol',
    '/rename carol x1',
    '/clear',
    '/delete 1',
    '/mod zed',
    '/unmod dave',
    '/ban',
  ]) {
    h.say(guest, cmd);
    assert.equal(h.net.lastNoticeCode(guest), 'FORBIDDEN', cmd);
  }
  h.say(user, '/clear');
  assert.equal(h.net.lastNoticeCode(user), 'FORBIDDEN');
  assert.deepEqual(h.store.calls.slice(before), [], 'nothing reached the store');
  assert.equal(h.net.messages(guest).length, 0, 'nothing was broadcast');
});

test('/name: validated, unique, not an account; the channel sees "a is now b" and new members', () => {
  const { h, user, guest } = room();
  for (const [name, code] of [
    ['x', 'INVALID_NAME'],
    ['bad name', 'BAD_COMMAND'],
    ['carol', 'NAME_TAKEN'],
    ['dave', 'NAME_TAKEN'],
    ['alice', 'NAME_TAKEN'],
    ['system', 'INVALID_NAME'],
  ] as const) {
    h.say(guest, `/name ${name}`);
    assert.equal(h.net.lastNoticeCode(guest), code, name);
  }
  h.say(guest, '/name zelda');
  assert.equal(h.net.last(guest, 'you')!.name, 'zelda');
  assert.deepEqual(systemTexts(h, user), ['zed is now zelda']);
  assert.ok(h.net.last(user, 'members')!.members.some((m) => m.name === 'zelda'));
  h.say(guest, 'hi');
  assert.equal(lastMsg(h, user)!.author, 'zelda');
  h.say(user, '/name Caz');
  assert.equal(h.net.last(user, 'you')!.name, 'Caz');
  assert.equal(h.net.last(user, 'you')!.badge, 'user');
});

test('/color: #rrggbb or a named colour, anything else refused; members see it', () => {
  const { h, user, guest } = room();
  h.say(guest, '/color #A1B2C3');
  assert.equal(h.net.last(guest, 'you')!.color, '#a1b2c3');
  h.say(guest, '/color teal');
  assert.equal(h.net.last(guest, 'you')!.color, '#26a69a');
  assert.equal(h.net.last(user, 'members')!.members.find((m) => m.name === 'zed')!.color, '#26a69a');
  for (const bad of ['#fff', 'red;background:url(x)', 'rgb(1,2,3)', '#12345g']) {
    h.say(guest, `/color ${bad}`);
    assert.equal(h.net.lastNoticeCode(guest), 'INVALID_COLOR', bad);
  }
  h.say(guest, 'in colour');
  assert.equal(lastMsg(h, guest)!.color, '#26a69a');
});

test('/mute holds on every edge for the muted account, refuses with MUTED, and /unmute lifts it', () => {
  const { h, mod, user, guest } = room();
  const tab2 = h.join('e3', 'carol-tab2', 'alice', { session: 'session-carol', ip: '10.9.9.9' });
  h.say(mod, '/mute carol');
  assert.deepEqual(systemTexts(h, guest), ['carol was muted by dave']);
  h.say(user, 'can you hear me');
  assert.equal(h.net.lastNoticeCode(user), 'MUTED');
  h.say(tab2, 'from another edge');
  assert.equal(h.net.lastNoticeCode(tab2), 'MUTED');
  h.hub.act(tab2, { type: 'draw', image: pngDataUrl() });
  assert.equal(h.net.lastNoticeCode(tab2), 'MUTED');
  h.say(user, '/me sneaks');
  assert.equal(h.net.lastNoticeCode(user), 'MUTED');
  h.say(user, '/name notcarol');
  assert.equal(h.net.lastNoticeCode(user), 'MUTED');
  assert.ok(!h.store.stored('alice').some((m) => m.author === 'carol' && m.kind !== 'system'));
  h.say(guest, 'others still talk');
  assert.equal(lastMsg(h, guest)!.text, 'others still talk');
  h.say(mod, '/unmute carol');
  assert.equal(lastMsg(h, guest)!.text, 'carol was unmuted by dave');
  h.say(tab2, 'back');
  assert.equal(lastMsg(h, guest)!.text, 'back');
});

test('a timed mute expires', () => {
  const { h, mod, guest } = room();
  h.say(mod, '/mute zed 2');
  assert.equal(lastMsg(h, guest)!.text, 'zed was muted for 2 minutes by dave');
  h.say(guest, 'hi');
  assert.equal(h.net.lastNoticeCode(guest), 'MUTED');
  h.clock.now += 2 * 60_000 + 1;
  h.say(guest, 'free');
  assert.equal(lastMsg(h, guest)!.text, 'free');
});

test('a mute silences the person, not everyone behind their IP (a ban is the tool for that)', () => {
  const { h, mod, guest } = room();
  h.say(mod, '/mute zed');
  h.say(guest, 'still here?');
  assert.equal(h.net.lastNoticeCode(guest), 'MUTED');
  const neighbour = h.join('e1', 'same-nat', 'alice', { guestName: 'zorro', ip: '10.0.0.13' });
  h.say(neighbour, 'hello from the same office');
  assert.notEqual(h.net.lastNoticeCode(neighbour), 'MUTED');
});

test('/ban kicks all their connections on every edge and blocks a rejoin by IP; /unban lifts it', () => {
  const { h, mod, user, guest } = room();
  const tab2 = h.join('e3', 'zed-tab2', 'alice', { guestName: 'zed2', ip: '10.0.0.13' }); // same person, second tab
  const carolTab2 = h.join('e3', 'carol-tab2', 'alice', { session: 'session-carol', ip: '10.9.9.9' });
  h.say(mod, '/ban zed');
  assert.ok(h.net.isKicked(guest));
  assert.ok(h.net.isKicked(tab2), 'the same IP on another edge is out too');
  assert.equal(h.net.notices(guest).at(-1)!.code, 'BANNED');
  assert.ok(!h.net.isKicked(user) && !h.net.isKicked(carolTab2) && !h.net.isKicked(mod));
  assert.deepEqual(systemTexts(h, user), ['zed was banned by dave']);
  assert.ok(!h.hub.members('alice').some((m) => m.name === 'zed' || m.name === 'zed2'));
  const rejoin = h.join('e1', 'zed-3', 'alice', { guestName: 'innocent', ip: '10.0.0.13' });
  assert.equal(h.net.lastNoticeCode(rejoin), 'BANNED');
  assert.ok(h.net.isKicked(rejoin));
  const byName = h.join('e1', 'zed-4', 'alice', { guestName: 'zed', ip: '10.7.7.7' });
  assert.notEqual(h.net.last(byName, 'you')!.name, 'zed', 'a banned name is not handed out');
  const otherChannel = h.join('e1', 'zed-5', 'bob', { guestName: 'zed', ip: '10.0.0.13' });
  assert.equal(h.net.last(otherChannel, 'you')!.name, 'zed', 'bans are per channel');
  h.say(mod, '/unban zed');
  assert.equal(lastMsg(h, user)!.text, 'zed was unbanned by dave');
  const back = h.join('e1', 'zed-6', 'alice', { guestName: 'zed', ip: '10.0.0.13' });
  assert.equal(h.net.last(back, 'you')!.name, 'zed');
});

test('/ban of an account kicks every tab of it, whatever the IP, and blocks the account', () => {
  const { h, host, user } = room();
  const tab2 = h.join('e3', 'carol-tab2', 'alice', { session: 'session-carol', ip: '10.9.9.9' });
  h.say(host, '/ban carol 60');
  assert.ok(h.net.isKicked(user) && h.net.isKicked(tab2));
  const fromElsewhere = h.join('e4', 'carol-3', 'alice', { session: 'session-carol', ip: '172.16.0.1' });
  assert.equal(h.net.lastNoticeCode(fromElsewhere), 'BANNED');
  h.clock.now += 60 * 60_000 + 1;
  const later = h.join('e4', 'carol-4', 'alice', { session: 'session-carol', ip: '172.16.0.1' });
  assert.equal(h.net.last(later, 'you')!.name, 'carol');
});

test('/unban after a restart still lifts the IP ban (found through the stored sanctions)', () => {
  const { h, mod, guest } = room();
  h.say(mod, '/ban zed');
  h.hub.close();
  h.hub = h.newHub();
  const mod2 = h.join('e1', 'mod2', 'alice', { session: 'session-dave', ip: '10.0.0.11' });
  h.say(mod2, '/unban zed');
  assert.equal(lastMsg(h, mod2)!.text, 'zed was unbanned by dave');
  const back = h.join('e1', 'zed-2', 'alice', { guestName: 'someone', ip: '10.0.0.13' });
  assert.equal(h.net.last(back, 'you')!.name, 'someone');
  void guest;
});

test('nobody acts on an equal or higher rank; a moderator on the banned IP is not kicked', () => {
  const { h, host, mod, guest } = room();
  h.store.moderators.add('alice', 'erin');
  const mod2 = h.join('e1', 'mod2', 'alice', { session: addUser(h, 'erin'), ip: '10.0.0.13' }); // same IP as zed
  for (const cmd of ['/mute erin', '/ban alice', '/rename alice hostie', '/mute dave']) {
    h.say(mod, cmd);
    assert.equal(h.net.lastNoticeCode(mod), 'FORBIDDEN', cmd);
  }
  h.say(mod, '/ban zed');
  assert.ok(h.net.isKicked(guest));
  assert.ok(!h.net.isKicked(mod2), 'staff are exempt from IP bans');
  h.say(mod2, 'still here');
  assert.equal(lastMsg(h, host)!.text, 'still here');
  h.say(host, '/mute dave');
  assert.equal(lastMsg(h, host)!.text, 'dave was muted by alice');
});

test('/rename by a moderator: the member, every tab and the channel see the new name', () => {
  const { h, mod, user, guest } = room();
  h.say(mod, '/rename zed nicer_name');
  assert.equal(h.net.last(guest, 'you')!.name, 'nicer_name');
  assert.equal(lastMsg(h, user)!.text, 'zed is now nicer_name (renamed by dave)');
  h.say(mod, '/rename ghost other');
  assert.equal(h.net.lastNoticeCode(mod), 'UNKNOWN_NAME');
  h.say(mod, '/rename nicer_name carol');
  assert.equal(h.net.lastNoticeCode(mod), 'NAME_TAKEN');
  h.say(mod, '/rename nicer_name');
  assert.equal(h.net.lastNoticeCode(mod), 'BAD_COMMAND');
});

test('/mod and /unmod: host or admin only, accounts only, badges change live', () => {
  const { h, host, mod, user, guest } = room();
  h.say(mod, '/mod carol');
  assert.equal(h.net.lastNoticeCode(mod), 'FORBIDDEN');
  h.say(host, '/mod zed');
  assert.equal(h.net.lastNoticeCode(host), 'UNKNOWN_NAME');
  h.say(host, '/mod carol');
  assert.ok(h.store.moderators.is('alice', 'carol'));
  assert.deepEqual(h.net.last(user, 'you'), {
    ...h.net.last(user, 'you')!,
    badge: 'moderator',
    canModerate: true,
  });
  assert.equal(h.net.last(guest, 'members')!.members.find((m) => m.name === 'carol')!.badge, 'moderator');
  assert.equal(lastMsg(h, guest)!.text, 'carol is now a moderator (by alice)');
  h.say(user, '/mute zed');
  assert.equal(lastMsg(h, guest)!.text, 'zed was muted by carol');
  h.say(host, '/unmod carol');
  assert.ok(!h.store.moderators.is('alice', 'carol'));
  assert.equal(h.net.last(user, 'you')!.badge, 'user');
  h.say(user, '/unmute zed');
  assert.equal(h.net.lastNoticeCode(user), 'FORBIDDEN');
  const admin = h.join('e1', 'root', 'alice', { session: addUser(h, 'root', 'admin') });
  h.say(admin, '/mod carol');
  assert.equal(h.net.last(user, 'you')!.badge, 'moderator');
});

test('/clear and /delete: store changed, clients told, announced', () => {
  const { h, mod, user, guest } = room();
  h.say(guest, 'first');
  h.say(guest, 'second');
  const seq = lastMsg(h, user)!.seq;
  h.say(mod, `/delete ${seq}`);
  assert.deepEqual(h.net.last(user, 'delete'), { type: 'delete', channel: 'alice', seqs: [seq] });
  assert.ok(!h.store.stored('alice').some((m) => m.seq === seq));
  assert.equal(lastMsg(h, user)!.text, 'A message was deleted by dave');
  h.say(mod, '/delete abc');
  assert.equal(h.net.lastNoticeCode(mod), 'BAD_COMMAND');
  h.say(mod, '/clear');
  assert.deepEqual(h.net.last(user, 'clear'), { type: 'clear', channel: 'alice' });
  assert.deepEqual(
    h.store.stored('alice').map((m) => m.text),
    ['Chat was cleared by dave'],
  );
  const lateComer = h.join('e9', 'late', 'alice', { guestName: 'late' });
  assert.deepEqual(
    h.net.last(lateComer, 'history')!.messages.map((m) => m.text),
    ['Chat was cleared by dave'],
  );
  h.say(guest, 'after clear');
  assert.ok(lastMsg(h, user)!.seq > seq, 'seq keeps increasing after a clear');
});

test("a moderation line carries its key and params (the page's language), kept in history for late joiners", () => {
  const { h, mod, user } = room();
  h.say(mod, '/timeout zed 2');
  const line = lastMsg(h, user)!;
  assert.deepEqual(
    [line.text, line.key, line.params],
    ['zed was muted for 2 minutes by dave', 'chat.system.mutedFor', { name: 'zed', by: 'dave', count: 2 }],
  );
  h.say(mod, '/clear');
  assert.deepEqual(
    [lastMsg(h, user)!.key, lastMsg(h, user)!.params],
    ['chat.system.cleared', { by: 'dave' }],
  );
  h.say(mod, '/rename carol caz');
  assert.deepEqual(lastMsg(h, user)!.params, { old: 'carol', name: 'caz', by: 'dave' });
  const late = h.join('e3', 'late', 'alice', { guestName: 'late', ip: '10.0.0.20' });
  const replayed = h.net.last(late, 'history')!.messages.filter((m) => m.kind === 'system');
  assert.deepEqual(
    replayed.map((m) => [m.key, m.params]),
    [
      ['chat.system.cleared', { by: 'dave' }],
      ['chat.system.renamedBy', { old: 'carol', name: 'caz', by: 'dave' }],
    ],
  );
  h.say(user, 'hello');
  assert.equal('key' in lastMsg(h, user)!, false, "people's messages have none");
});

test('refusals and replies to commands carry a key and params beside the code and the English', () => {
  const { h, mod, guest } = room();
  const last = (ref: ConnRef) => {
    const n = h.net.notices(ref).at(-1)!;
    return [n.code, n.key, n.params];
  };
  h.say(guest, '/dance');
  assert.deepEqual(last(guest), ['UNKNOWN_COMMAND', 'chat.notice.unknownCommand', { command: 'dance' }]);
  h.say(guest, '/ban carol');
  assert.deepEqual(last(guest), ['FORBIDDEN', 'chat.notice.commandForbidden', { command: 'ban' }]);
  h.say(mod, '/timeout');
  assert.deepEqual(last(mod), ['BAD_COMMAND', 'chat.notice.usage', { usage: '/timeout <name> <minutes>' }]);
  h.say(mod, '/unban carol');
  assert.deepEqual(last(mod), [undefined, 'chat.notice.notBanned', { name: 'carol' }]);
  h.say(mod, '/mute zed');
  h.say(guest, 'hi');
  assert.deepEqual(last(guest), ['MUTED', 'chat.notice.MUTED', undefined]);
  assert.equal(h.net.notices(guest).at(-1)!.text, 'You are muted in this chat.');
  h.say(guest, '/help');
  assert.deepEqual(
    [h.net.notices(guest).at(-1)!.key, h.net.notices(guest).at(-1)!.params],
    ['chat.notice.help', { commands: 'help me name color' }],
    'the commands a guest may use, by name',
  );
});

test('system messages carry the system badge and are stored in order', () => {
  const { h, mod, user } = room();
  h.say(mod, '/mute zed');
  const sys = lastMsg(h, user)!;
  assert.deepEqual([sys.kind, sys.author, sys.badge], ['system', 'system', 'system']);
  assert.deepEqual(h.store.stored('alice').at(-1)!.seq, sys.seq);
});
