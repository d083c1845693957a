/**
 * The hub's own chat lines in the viewer's language (ADR 0023): every line the hub can write has its key in
 * English, Russian and Swedish; the English catalogue says exactly what the hub's English text says (old pages
 * and the history API show that); a page shows `t(key, params)` and falls back to the hub's words for a key it
 * does not know; names in params stay text.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadCatalogues } from '../../src/edge/page-catalogue.js';
import { useCatalogue } from '../../src/edge/public/i18n.js';
import { lineText } from '../../src/edge/public/chat-lines.js';
import { parseMessage } from '../../src/edge/public/chat-format.js';
import { notice, system, type Line } from '../../src/common/chat/lines.js';
import { helpLine } from '../../src/hub/chat/commands.js';
import { decodeHubToEdge, encodeLinkChecked, type HubToEdge } from '../../src/common/protocol/index.js';
import { ChatBridge } from '../../src/edge/chat-bridge.js';
import { addUser, makeHarness, quietLogger } from './hub-chat-fake-store.js';

const catalogues = loadCatalogues();
const use = (lang: 'en' | 'ru' | 'sv') => useCatalogue(lang, catalogues.get(lang)!);

/** Every builder, with every branch it has. */
const samples: Array<[string, Line]> = [
  ['slowOn', system.slowOn(30, 'dave')],
  ['slowOff', system.slowOff('dave')],
  ['everyone', system.everyone('dave')],
  ['accountsOnly', system.accountsOnly('dave')],
  ['followersOnly', system.followersOnly('dave')],
  ['linksAllowed', system.linksAllowed('dave')],
  ['linksReviewed', system.linksReviewed('dave')],
  ['linksBlocked', system.linksBlocked('dave')],
  ['raid', system.raid('alice', 'bob')],
  ...(['mute', 'ban'] as const).flatMap((k): Array<[string, Line]> => [
    ['sanctioned', system.sanctioned(k, 'carol', 'dave')],
    ['sanctioned', system.sanctioned(k, 'carol', 'dave', 1)],
    ['sanctioned', system.sanctioned(k, 'carol', 'dave', 10)],
    ['lifted', system.lifted(k, 'carol', 'dave')],
    ['cannotSanction', notice.cannotSanction(k, 'carol')],
    ['notSanctioned', notice.notSanctioned(k, 'carol')],
  ]),
  ['modAdded', system.modAdded('carol', 'alice')],
  ['modRemoved', system.modRemoved('carol', 'alice')],
  ['cleared', system.cleared('dave')],
  ['deleted', system.deleted('dave')],
  ['tooLarge', system.tooLarge(false, 'carol')],
  ['tooLarge', system.tooLarge(true, 'carol')],
  ['renamed', system.renamed('carol', 'caz')],
  ['renamed', system.renamed('carol', 'caz', 'dave')],
  ['banned', notice.banned()],
  ['guestsNotAllowed', notice.guestsNotAllowed()],
  ['notJoined', notice.notJoined()],
  ['muted', notice.muted()],
  ['rateLimited', notice.rateLimited()],
  ['emptyMessage', notice.emptyMessage()],
  ['drawingTooLarge', notice.drawingTooLarge()],
  ['badDrawing', notice.badDrawing()],
  ['internal', notice.internal()],
  ['messageHeld', notice.messageHeld()],
  ['unknownAction', notice.unknownAction()],
  ['noChannel', notice.noChannel('bob')],
  ['tooLong', notice.tooLong(1)],
  ['tooLong', notice.tooLong(500)],
  ['unknownCommand', notice.unknownCommand('dance')],
  ['commandForbidden', notice.commandForbidden('ban')],
  ['usage', notice.usage('/mute <name> [minutes]')],
  ['alreadyNamed', notice.alreadyNamed('carol')],
  ['invalidName', notice.invalidName()],
  ['nameTaken', notice.nameTaken('carol')],
  ['invalidColor', notice.invalidColor('red, blue')],
  ['followersLogIn', notice.followersLogIn('alice')],
  ['accountsOnly', notice.accountsOnly()],
  ['followersOnly', notice.followersOnly('alice')],
  ['slowMode', notice.slowMode(6)],
  ['linkBlocked', notice.linkBlocked('evil.example')],
  ['heldSanctioned', notice.heldSanctioned('carol')],
  ['heldRejected', notice.heldRejected()],
  ['noHeld', notice.noHeld(7)],
  ...(['self', 'unknown', 'offline', 'protected'] as const).map((why): [string, Line] => [
    'raidRefused',
    notice.raidRefused('bob', why),
  ]),
  ['notInChat', notice.notInChat('carol')],
  ['cannotRename', notice.cannotRename('carol')],
  ['nameRefused', notice.nameRefused('carol')],
  ['notAccount', notice.notAccount('carol')],
  ['isHost', notice.isHost('alice')],
  ['alreadyMod', notice.alreadyMod('carol')],
  ['notMod', notice.notMod('carol')],
  ['help', helpLine('everyone')],
  ['help', helpLine('owner')],
];

test('every line the hub can write is sampled here (a new one needs a sample, so the checks below cover it)', () => {
  const builders = [...Object.keys(system), ...Object.keys(notice)];
  const sampled = new Set(samples.map(([name]) => name));
  assert.deepEqual(
    builders.filter((b) => !sampled.has(b)),
    [],
  );
  for (const [name, line] of samples) assert.ok(line.key, `${name} has a key`);
});

test('the English catalogue says exactly what the hub says in English', () => {
  use('en');
  const differ = samples
    .map(([, l]) => [l.key, lineText(l.key, l.params, `(missing) ${l.text}`), l.text])
    .filter(([, shown, text]) => shown !== text);
  assert.deepEqual(differ, []);
});

test('Russian and Swedish have every line, translated and filled', () => {
  for (const lang of ['ru', 'sv'] as const) {
    use(lang);
    const bad = samples
      .map(([, l]) => [l.key, lineText(l.key, l.params, l.text), l.text] as const)
      .filter(([, shown, english]) => shown === english || shown.includes('{{'));
    assert.deepEqual(bad, [], lang);
  }
});

test('Russian counts minutes as Russian does; Swedish has one and other', () => {
  use('ru');
  const ru = (n: number) => {
    const l = system.sanctioned('mute', 'carol', 'dave', n);
    return lineText(l.key, l.params, l.text);
  };
  assert.equal(ru(1), 'dave заглушает пользователя carol на 1 минуту');
  assert.equal(ru(3), 'dave заглушает пользователя carol на 3 минуты');
  assert.equal(ru(5), 'dave заглушает пользователя carol на 5 минут');
  assert.equal(ru(21), 'dave заглушает пользователя carol на 21 минуту');
  const slow = system.slowOn(30, 'dave');
  assert.equal(
    lineText(slow.key, slow.params, slow.text),
    'Медленный режим включён: одно сообщение раз в 30 с (dave)',
  );
  use('sv');
  const sv = system.sanctioned('ban', 'carol', 'dave', 1);
  assert.equal(lineText(sv.key, sv.params, sv.text), 'carol bannlystes i 1 minut av dave');
  const wait = notice.slowMode(6);
  assert.equal(lineText(wait.key, wait.params, wait.text), 'Långsamt läge är på: du kan skicka igen om 6 s.');
});

test("the hub's words when the page does not know the key or cannot fill it", () => {
  use('sv');
  assert.equal(lineText('chat.system.fromTheFuture', { by: 'dave' }, 'as the hub said'), 'as the hub said');
  assert.equal(lineText('chat.send', {}, 'not a hub line'), 'not a hub line', 'only the hub families');
  assert.equal(lineText('errors.generic', {}, 'not a hub line'), 'not a hub line');
  assert.equal(lineText(undefined, undefined, 'no key'), 'no key');
  assert.equal(lineText(42, undefined, 'no key'), 'no key');
  assert.equal(
    lineText('chat.system.muted', { name: 'carol' }, 'carol was muted by dave'),
    'carol was muted by dave',
  );
  assert.equal(
    lineText('chat.system.cleared', 'by dave', 'Chat was cleared by dave'),
    'Chat was cleared by dave',
  );
});

test("/help lists the commands the hub named, in the page's language; an unknown one gets the English", () => {
  use('ru');
  const help = helpLine('moderator');
  const shown = lineText(help.key, help.params, help.text).split('\n');
  assert.equal(shown[0], 'Команды:');
  assert.ok(shown.includes('/mute <имя> [минуты] — запретить кому-то писать в чат'));
  assert.equal(
    shown.some((l) => l.startsWith('/unmod')),
    false,
    'only what a moderator may use',
  );
  assert.equal(
    lineText('chat.notice.help', { commands: 'help dance' }, 'as the hub said'),
    'as the hub said',
  );
  assert.equal(lineText('chat.notice.help', {}, 'as the hub said'), 'as the hub said');
});

test('names in params stay text: markup, variables and nesting are shown as typed', () => {
  use('en');
  assert.equal(
    lineText('chat.system.cleared', { by: '<img src=x onerror=alert(1)>' }, ''),
    'Chat was cleared by <img src=x onerror=alert(1)>',
  );
  assert.equal(lineText('chat.system.cleared', { by: '{{by}}' }, 'x'), 'Chat was cleared by {{by}}');
  assert.equal(
    lineText('chat.system.cleared', { by: '$t(chat.send)' }, 'x'),
    'Chat was cleared by $t(chat.send)',
  );
  assert.equal(lineText('chat.system.cleared', { by: 'a&b' }, 'x'), 'Chat was cleared by a&b', 'not escaped');
});

test('a system message keeps its key and params from the wire; other messages and odd params do not', () => {
  const base = {
    seq: 1,
    author: 'system',
    color: '#90a4ae',
    badge: 'system',
    text: 'Chat was cleared by dave',
    at: 1,
  };
  assert.deepEqual(
    parseMessage({
      ...base,
      kind: 'system',
      key: 'chat.system.mutedFor',
      params: { name: 'carol', by: 'dave', count: 5, odd: { x: 1 }, nan: Number.NaN },
    }),
    { ...base, kind: 'system', key: 'chat.system.mutedFor', params: { name: 'carol', by: 'dave', count: 5 } },
  );
  assert.equal('key' in parseMessage({ ...base, kind: 'text', key: 'chat.system.cleared' })!, false);
  assert.equal('key' in parseMessage({ ...base, kind: 'system' })!, false);
});

test("from the hub to a Swedish page: a moderation line and a notice cross the link and the edge's socket whole", () => {
  // The hub: dave turns slow mode on, zed sends twice.
  const h = makeHarness({});
  h.store.streamers.add({ name: 'alice', key: 'alice-key-0123456789' });
  h.store.moderators.add('alice', 'dave');
  const mod = h.join('e1', 'mod', 'alice', { session: addUser(h, 'dave'), ip: '10.0.0.11' });
  const guest = h.join('e1', 'guest', 'alice', { guestName: 'zed', ip: '10.0.0.13' });
  h.say(mod, '/slow 30');
  h.say(guest, 'one');
  h.say(guest, 'two');
  const line = h.net.of(guest, 'message').find((e) => e.msg.kind === 'system')!;
  const refusal = h.net.last(guest, 'notice')!;
  // The link (encoded and validated as the edge decodes it), then the edge's chat socket to the page.
  const published: string[] = [];
  const seen: string[] = [];
  const bridge = new ChatBridge({
    queueLimit: 10,
    edgeId: 'edge-t',
    logger: quietLogger,
    publish: (_channel, json) => void published.push(json),
    sendToHub: () => true,
    onDirectory: () => undefined,
  });
  bridge.onConnected();
  bridge.join(
    'c1',
    'alice',
    { ip: '10.0.0.13', guestName: 'zed' },
    { send: (j) => void seen.push(j), close: () => undefined },
  );
  const viaLink = (m: HubToEdge) => bridge.onHubMessage(decodeHubToEdge(encodeLinkChecked(m)));
  viaLink({ t: 'broadcast', channel: 'alice', event: { ...line } });
  viaLink({ t: 'direct', conn: 'c1', event: { ...refusal } });
  const onPage = JSON.parse(published.at(-1)!) as { msg: unknown };
  const noticeOnPage = JSON.parse(seen.at(-1)!) as { key: unknown; params: unknown; text: string };
  use('sv');
  const msg = parseMessage(onPage.msg)!;
  assert.equal(
    lineText(msg.key, msg.params, msg.text),
    'Långsamt läge är på: ett meddelande per 30 s (av dave)',
  );
  assert.equal(msg.text, 'Slow mode is on: one message every 30 s (by dave)', 'the English is still there');
  assert.match(
    lineText(noticeOnPage.key, noticeOnPage.params, noticeOnPage.text),
    /^Långsamt läge är på: du kan skicka igen om \d+ s\.$/,
  );
  // The edge's own refusal at the first hop (over the hub's limits) is the hub's notice, with its key.
  viaLink({ t: 'limits', chat: { maxMessageChars: 21, maxDrawingBytes: 1000 } });
  bridge.act('c1', { type: 'send', text: 'x'.repeat(22) });
  const tooLong = JSON.parse(seen.at(-1)!) as { code: string; key: unknown; params: unknown; text: string };
  assert.equal(tooLong.code, 'MESSAGE_TOO_LONG');
  assert.equal(tooLong.text, 'Messages are limited to 21 characters.');
  use('ru');
  assert.equal(lineText(tooLong.key, tooLong.params, tooLong.text), 'Сообщение — не более 21 символа.');
});
