/**
 * Pure rules of the account, directory and dashboard pages, run in Node: where a login may send the browser
 * (never off the site), what the forms refuse before asking the server, the sentence shown for an error code,
 * how directory entries are validated and arranged, and what the dashboard saves.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as auth from '../../src/edge/public/auth-rules.js';
import * as format from '../../src/edge/public/format.js';
import * as dir from '../../src/edge/public/directory-model.js';
import * as dash from '../../src/edge/public/dashboard-rules.js';
import * as api from '../../src/edge/public/api.js';
import type { ChannelEntry } from '../../src/edge/public/format.js';
import { useEnglish } from '../helpers/page-language.js';

// Pages served in English (the catalogue as the edge serves it to a page).
useEnglish();

test('after login the browser goes only to a path on this site', () => {
  assert.equal(auth.safeNextPath('/watch/demo'), '/watch/demo');
  assert.equal(auth.safeNextPath('/watch/demo?transport=dash#chat'), '/watch/demo?transport=dash#chat');
  for (const bad of [
    'https://evil.example/',
    '//evil.example/x',
    '/\\evil.example',
    '\\\\evil',
    'javascript:alert(1)',
    '',
    null,
    '/login?next=/x',
    '/%0d%0aSet-Cookie:x',
    '/a\nb',
  ]) {
    const out = auth.safeNextPath(bad, '/');
    assert.ok(
      out === '/' || (out.startsWith('/') && !out.startsWith('//') && !out.includes('\n')),
      `${String(bad)} → ${out}`,
    );
    assert.ok(!/evil/.test(out), `${String(bad)} → ${out}`);
  }
  assert.equal(auth.safeNextPath(undefined, '/dashboard'), '/dashboard');
  assert.equal(auth.loginHref('/watch/demo'), '/login?next=%2Fwatch%2Fdemo');
  assert.equal(auth.loginHref('/'), '/login');
});

test('registration is checked before asking the server: name shape, password length, both passwords equal', () => {
  assert.equal(auth.checkAccountName('alice_01'), null);
  assert.match(auth.checkAccountName('a') ?? '', /2 to 32/);
  assert.match(auth.checkAccountName('bad name') ?? '', /letters, digits/);
  assert.match(auth.checkAccountName('') ?? '', /Choose/);
  assert.equal(auth.checkNewPassword('password1', 'password1'), null);
  assert.match(auth.checkNewPassword('short', 'short') ?? '', /at least 8/);
  assert.match(auth.checkNewPassword('password1', 'password2') ?? '', /do not match/);
});

test('API errors become sentences; validation messages from the server are kept', () => {
  assert.match(auth.friendlyError({ status: 503, code: 'HUB_UNAVAILABLE' }), /unavailable right now/);
  assert.match(auth.friendlyError({ status: 502 }), /unavailable/);
  assert.match(auth.friendlyError({ status: 409, code: 'DUPLICATE_NAME', message: 'x' }), /taken/);
  assert.match(auth.friendlyError({ status: 429, code: 'RATE_LIMITED' }), /Too many attempts/);
  assert.equal(
    auth.friendlyError({
      status: 400,
      code: 'INVALID_VALUE',
      message: 'password must be at least 8 characters',
    }),
    'Password must be at least 8 characters.',
  );
  assert.match(auth.friendlyError({ code: 'NETWORK' }), /Could not reach/);
  assert.match(auth.friendlyError(null), /went wrong/);
});

test('the CSRF cookie is read from document.cookie', () => {
  assert.equal(api.readCookie('a=1; tc_csrf=abc%3D; b=2', 'tc_csrf'), 'abc=');
  assert.equal(api.readCookie('xtc_csrf=1', 'tc_csrf'), null);
  assert.equal(api.readCookie('', 'tc_csrf'), null);
});

test('directory entries: full hub entries and the hub-less short form, thumbnails only as same-origin paths', () => {
  const full = format.parseChannelEntry({
    name: 'demo',
    title: ' Demo ',
    category: 'Games',
    description: 'd',
    live: true,
    viewers: 3.7,
    startedAt: 1000,
    protected: true,
    thumbnail: '/thumbs/demo.jpg?v=1',
    broadcast: '20261201T230642Z-c331e7ec',
  });
  assert.deepEqual(full, {
    name: 'demo',
    title: 'Demo',
    category: 'Games',
    description: 'd',
    live: true,
    viewers: 3,
    startedAt: 1000,
    protected: true,
    thumbnail: '/thumbs/demo.jpg?v=1',
    broadcast: '20261201T230642Z-c331e7ec',
  });
  for (const bad of ['../x', '20261201T230642Z-c331e7ec/../../y', 7])
    assert.equal(format.parseStreamEntry({ name: 'demo', live: true, broadcast: bad })?.broadcast, null);
  assert.equal(
    format.parseStreamEntry({ name: 'demo', live: false, broadcast: '20261201T230642Z-c331e7ec' })?.broadcast,
    null,
    'only a live stream is rewound',
  );
  const short = format.parseChannelEntry({ name: 'cam', title: 'Cam', category: '', live: true, viewers: 0 });
  assert.deepEqual(short, {
    name: 'cam',
    title: 'Cam',
    category: '',
    description: '',
    live: true,
    viewers: 0,
    startedAt: null,
    protected: false,
    thumbnail: null,
    broadcast: null,
  });
  assert.equal(format.parseChannelEntry({ name: '../x' }), null);
  for (const bad of ['//evil/x.jpg', 'https://evil/x.jpg', '/x" onerror="y', 'javascript:x', 42])
    assert.equal(format.safeImagePath(bad), null, String(bad));
  assert.equal(format.formatUptime(0), '');
  assert.equal(format.formatUptime(1_000, 31_000), 'just started');
  assert.equal(format.formatUptime(0 + 1, 1 + 5 * 60_000), 'live for 5 min');
  assert.equal(format.formatUptime(1, 1 + 80 * 60_000), 'live for 1 hr 20 min');
});

const e = (name: string, live: boolean, viewers: number, category = '', title = name): ChannelEntry => ({
  name,
  title,
  category,
  description: '',
  live,
  viewers,
  startedAt: null,
  protected: false,
  thumbnail: null,
  broadcast: null,
});

test('the directory splits live and offline, filters by category and sorts by viewers or name', () => {
  const entries = [
    e('b', true, 5, 'Games'),
    e('a', true, 9, 'Art'),
    e('c', true, 5, 'games', 'Alpha'),
    e('z', false, 0, 'Games'),
    e('m', false, 0),
  ];
  const all = dir.arrange(entries);
  assert.deepEqual(
    all.live.map((x) => x.name),
    ['a', 'c', 'b'],
    'most viewers first, ties by title',
  );
  assert.deepEqual(
    all.offline.map((x) => x.name),
    ['m', 'z'],
  );
  assert.deepEqual(
    dir.arrange(entries, { sort: 'name' }).live.map((x) => x.name),
    ['a', 'b', 'c'],
  );
  const games = dir.arrange(entries, { category: 'GAMES' });
  assert.deepEqual([games.live.map((x) => x.name), games.offline.map((x) => x.name)], [['c', 'b'], ['z']]);
  assert.deepEqual(format.categoriesOf(entries), ['Games', 'Art']);
  assert.deepEqual(
    dir
      .followingLive(
        [
          { name: 'b', live: true },
          { name: 'z', live: true },
          { name: 'a', live: false },
        ],
        entries,
      )
      .map((x) => x.name),
    ['a', 'b'],
    'the directory is fresher than /api/me',
  );
});

test('the dashboard: response validated, only changed fields saved, status line', () => {
  const d = dash.parseDashboard({
    streamer: {
      name: 'demo',
      title: 'T',
      description: '',
      category: 'C',
      hasPassword: true,
      createdAt: 1,
      lastLiveAt: null,
    },
    live: false,
    viewers: -3,
    followers: 2,
    chatMembers: [{ name: 'x', color: '#123456', badge: 'user' }],
    moderators: ['b', 'a', 5],
  });
  assert.ok(d);
  assert.equal(d.viewers, 0);
  assert.deepEqual(d.moderators, ['a', 'b']);
  assert.equal(d.chatMembers.length, 1);
  assert.equal(dash.parseDashboard({}), null);
  assert.deepEqual(
    dash.infoPatch(
      { title: 'T', category: 'C', description: '' },
      { title: ' New ', category: 'C', description: '' },
    ),
    { title: 'New' },
  );
  assert.equal(
    dash.infoPatch(
      { title: 'T', category: 'C', description: '' },
      { title: 'T ', category: 'C', description: '' },
    ),
    null,
  );
  assert.match(dash.checkInfo({ title: 'x'.repeat(141) }) ?? '', /140/);
  assert.equal(dash.checkInfo({ title: 'ok' }), null);
  assert.deepEqual(dash.liveStatus(d), { text: 'Offline', sub: 'Never streamed yet', live: false });
  assert.equal(
    dash.liveStatus({ live: false, streamer: { lastLiveAt: 5 } }, () => 'then').sub,
    'Last live then',
  );
  assert.equal(dash.liveStatus({ live: true, streamer: { lastLiveAt: 5 } }).text, 'Live');
});

test("the dashboard's webhook log says how each delivery ended, in words", async () => {
  const { deliveryOutcome, parseDelivery, parseHook } =
    await import('../../src/edge/public/dashboard-webhooks.js');
  const base = { id: 'd1', event: 'stream.started', createdAt: 1000, lastError: null, retryAt: null };
  const d = (over: object) =>
    parseDelivery({ ...base, attempts: 1, state: 'delivered', lastStatus: 204, ...over })!;
  assert.equal(deliveryOutcome(d({})), 'delivered (HTTP 204, 1 attempt)');
  assert.equal(
    deliveryOutcome(d({ state: 'pending', attempts: 2, lastStatus: 500, retryAt: 31_000 }), 1000),
    'failed (HTTP 500), next try in 30 s',
  );
  assert.equal(
    deliveryOutcome(d({ state: 'given_up', attempts: 9, lastStatus: null, lastError: 'timeout' })),
    'given up (timeout, 9 attempts)',
  );
  assert.equal(deliveryOutcome(d({ state: 'pending', attempts: 0, lastStatus: null })), 'waiting');
  assert.equal(parseDelivery({ id: 'x' }), null, 'a malformed entry is skipped');
  assert.deepEqual(parseHook({ id: 'wh_1', url: 'https://a.example', format: 'json', events: ['a', 3] }), {
    id: 'wh_1',
    url: 'https://a.example',
    format: 'json',
    events: ['a'],
    failing: false,
  });
});

test('a raid moves a page to the same kind of page for the target; the chat-rules form reads as the hub wants', async () => {
  const { raidPath } = await import('../../src/edge/public/chat-review.js');
  assert.equal(raidPath('/watch/alice', 'bob'), '/watch/bob');
  assert.equal(raidPath('/embed/alice', 'bob'), '/embed/bob');
  assert.equal(raidPath('/popout-chat/alice/', 'bob'), '/popout-chat/bob');
  assert.equal(raidPath('/watch/alice', '../admin'), null, 'only a channel name');
  assert.equal(raidPath('/dashboard', 'bob'), null, 'a page of no channel stays');
  const { logLine, rulesFromForm } = await import('../../src/edge/public/dashboard-chat-rules.js');
  assert.deepEqual(
    rulesFromForm({
      slowModeS: '30',
      who: 'followers',
      links: 'block',
      linkAllow: ' a.example \n\n b.example',
      blockedWords: '',
    }),
    {
      slowModeS: 30,
      who: 'followers',
      links: 'block',
      linkAllow: ['a.example', 'b.example'],
      blockedWords: [],
    },
  );
  assert.equal(
    rulesFromForm({ slowModeS: '', who: 'everyone', links: 'allow', linkAllow: '', blockedWords: '' })
      .slowModeS,
    0,
  );
  const at = 0;
  assert.equal(
    logLine({ at, actor: 'dave', action: 'mute', target: 'carol', details: { minutes: 5 } }),
    'dave muted carol for 5 min',
  );
  assert.equal(
    logLine({
      at,
      actor: 'alice',
      action: 'rules',
      target: null,
      details: { slowModeS: 0, who: 'accounts' },
    }),
    'alice changed the rules: slow mode off, who may chat: accounts',
  );
  assert.equal(
    logLine({ at, actor: 'alice', action: 'raid', target: 'bob', details: null }),
    'alice raided bob',
  );
});

test('the bell keeps well-formed notifications only, and pops up only unread ones it had not seen', async () => {
  const { freshOnes, parseNotifications } = await import('../../src/edge/public/notification-bell.js');
  const got = parseNotifications({
    unread: 2,
    notifications: [
      { id: 3, channel: 'bob', title: 'Speedruns', at: 3, read: false },
      { id: 2, channel: '../x', title: 'bad name', at: 2, read: false },
      { id: 1, channel: 'alice', title: 'Coding', at: 1, read: true },
      { id: 'x', channel: 'alice', title: 'no id', at: 1 },
    ],
  });
  assert.deepEqual(
    got?.items.map((n) => n.id),
    [3, 1],
  );
  assert.equal(parseNotifications({ notifications: [] }), null, 'no count: not an answer');
  const items = got?.items ?? [];
  assert.deepEqual(
    freshOnes(items, 2).map((n) => n.channel),
    ['bob'],
  );
  assert.deepEqual(freshOnes(items, 3), [], 'already known');
});
