/**
 * The chat and account pages in headless Chromium against a real hub and tree (in-process, port 0): a viewer
 * registers on /login and lands back on the watch page, chats, and a guest in another browser context sees
 * the same messages (history and live); markup in a message stays literal text; /me, mentions of you and
 * emoji render; follow works; a streamer logs into the dashboard with the stream key and sets a viewing
 * password, after which a new viewer gets the password form and joins once unlocked.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import {
  KEY,
  startNetwork,
  startTestHub,
  waitFor,
  waitForProtection,
  type TestNetwork,
} from '../helpers/network.js';
import { launchChromium } from '../helpers/browser.js';
import type { HubNode } from '../../src/hub/main.js';

// A 1x1 PNG, served as the custom emoji :tc: through the edge.
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);
const ACCOUNT = `alice${process.pid % 10000}`;
const PASSWORD = 'correct-horse-1';

let hub: HubNode;
let net: TestNetwork;
let browser: Browser;
const errors: string[] = [];
const contexts: BrowserContext[] = [];

before(async () => {
  hub = await startTestHub();
  hub.store.streamers.add({ name: 'cam', key: KEY, title: 'Test cam', category: 'Testing' });
  hub.store.emoji.add({ name: 'tc', mime: 'image/png', data: PNG });
  net = await startNetwork({ intermediates: 1, hub });
  await waitForProtection(net.edgeUrl, 'cam', false);
  browser = await launchChromium();
});

after(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  await net?.close();
  await hub?.close();
});

async function newPage(): Promise<Page> {
  const ctx = await browser.newContext();
  contexts.push(ctx);
  const page = await ctx.newPage();
  page.on('pageerror', (e) => errors.push(e.message));
  return page;
}

/** The texts of the chat's messages, as the viewer reads them. */
const messages = (page: Page) => page.locator('#chat-log li.msg').allInnerTexts();

async function sees(page: Page, what: string, needle: string | RegExp): Promise<void> {
  await waitFor(
    `${what}: ${String(needle)}`,
    async () =>
      (await messages(page)).some((t) => (typeof needle === 'string' ? t.includes(needle) : needle.test(t))),
    10_000,
    100,
  );
}

async function say(page: Page, text: string): Promise<void> {
  await page.fill('#chat-input', text);
  await page.press('#chat-input', 'Enter');
  await waitFor(
    'the input is cleared once sent',
    async () => (await page.inputValue('#chat-input')) === '',
    5000,
    50,
  );
}

let alice: Page;
let guest: Page;

test(
  'a viewer registers on /login, comes back to the watch page and chats; markup stays text',
  { timeout: 60_000 },
  async () => {
    alice = await newPage();
    await alice.goto(`${net.edgeUrl}/watch/cam`);
    const login = alice.locator('#chat-login');
    await login.waitFor();
    assert.equal(await login.getAttribute('href'), '/login?next=%2Fwatch%2Fcam');
    await alice.locator('.topbar .session a', { hasText: 'Log in' }).click();
    await alice.waitForURL(/\/login\?next=/);

    await alice.click('#tab-register');
    await alice.fill('#register-name', ACCOUNT);
    await alice.fill('#register-password', PASSWORD);
    await alice.fill('#register-confirm', 'something-else');
    await alice.click('#panel-register button[type="submit"]');
    assert.match(await alice.locator('#panel-register .form-error').innerText(), /do not match/);
    await alice.fill('#register-confirm', PASSWORD);
    await alice.click('#panel-register button[type="submit"]');
    await alice.waitForURL(`${net.edgeUrl}/watch/cam`);

    await waitFor('the top bar shows the account', async () =>
      (await alice.locator('.topbar .session').innerText()).includes(ACCOUNT),
    );
    await waitFor('chatting as the account', async () =>
      (await alice.locator('#chat-you').innerText()).includes(ACCOUNT),
    );
    assert.equal(
      await alice.locator('#chat-guest-actions').isHidden(),
      true,
      'no guest name or login link for an account',
    );

    await say(alice, 'hello from the browser');
    await sees(alice, 'own message', `${ACCOUNT}: hello from the browser`);
    await say(alice, '<b>x</b>');
    await sees(alice, 'markup message', `${ACCOUNT}: <b>x</b>`);
    const last = alice.locator('#chat-log li.msg').last();
    assert.equal(await last.locator('.msg-body').textContent(), '<b>x</b>');
    assert.equal(
      await alice.locator('#chat-log b, #chat-log .msg-body *').count(),
      0,
      'no element was created from the text',
    );
  },
);

test(
  'a guest in another browser sees the history and new messages, and is seen',
  { timeout: 60_000 },
  async () => {
    guest = await newPage();
    await guest.goto(`${net.edgeUrl}/watch/cam`);
    await sees(guest, 'history on join', `${ACCOUNT}: hello from the browser`);
    await sees(guest, 'history on join', `${ACCOUNT}: <b>x</b>`);
    assert.equal(await guest.locator('#chat-log b').count(), 0);
    await waitFor('guest identity', async () =>
      /Chatting as \S+/.test(await guest.locator('#chat-you').innerText()),
    );
    assert.equal(await guest.locator('#chat-guest-actions').isVisible(), true);

    await say(alice, 'live now');
    await sees(guest, 'a live message', `${ACCOUNT}: live now`);
    await say(guest, 'hi alice');
    await sees(alice, 'the guest message', /guest.*hi alice/i);
    // Seqs are shown once each, in order, on both pages.
    const a = (await messages(alice)).filter((t) => t.includes(ACCOUNT) || t.includes('hi alice'));
    const g = (await messages(guest)).filter((t) => t.includes(ACCOUNT) || t.includes('hi alice'));
    assert.deepEqual(g, a);
    assert.equal(new Set(a).size, a.length);
  },
);

test(
  '/me is an action, a mention of you is highlighted, emoji render as characters and images',
  { timeout: 60_000 },
  async () => {
    const guestName = (await guest.locator('#chat-you b').innerText()).trim();
    await say(alice, `/me waves at @${guestName} :wave: :tc:`);
    await sees(guest, '/me line', `* ${ACCOUNT} waves at @${guestName}`);
    const line = guest.locator('#chat-log li.msg-me').last();
    assert.equal(await line.evaluate((li) => li.classList.contains('mentions-me')), true);
    assert.equal(await line.locator('.mention-self').innerText(), `@${guestName}`);
    assert.equal(await line.locator('.emoji-char').innerText(), '👋');
    const img = line.locator('img.emoji');
    assert.equal(await img.getAttribute('alt'), ':tc:');
    await waitFor('the custom emoji image loaded through the edge', () =>
      img.evaluate((i) => (i as HTMLImageElement).naturalWidth === 1),
    );

    // The type-ahead completes a member's name.
    await guest.fill('#chat-input', '');
    await guest.type('#chat-input', `@${ACCOUNT.slice(0, 3)}`);
    await guest.locator('#chat-suggest li', { hasText: `@${ACCOUNT}` }).waitFor();
    await guest.keyboard.press('Tab');
    assert.equal(await guest.inputValue('#chat-input'), `@${ACCOUNT} `);
  },
);

test('a logged-in viewer follows the channel', { timeout: 30_000 }, async () => {
  const follow = alice.locator('#follow');
  await follow.waitFor();
  assert.equal(await follow.innerText(), 'Follow');
  await follow.click();
  await waitFor('following', async () => (await follow.innerText()) === 'Following');
  const me = await alice.evaluate(
    async () => (await (await fetch('/api/me')).json()) as { following: Array<{ name: string }> },
  );
  assert.deepEqual(
    me.following.map((f) => f.name),
    ['cam'],
  );
  assert.equal(await guest.locator('#follow').isHidden(), true, 'guests get no follow button');
});

test(
  'the streamer sets a viewing password on the dashboard; a new viewer must unlock to watch and chat',
  { timeout: 60_000 },
  async () => {
    const streamer = await newPage();
    await streamer.goto(`${net.edgeUrl}/dashboard`);
    await streamer.locator('#key-login-key').waitFor();
    await streamer.fill('#key-login-key', 'not-the-key-at-all');
    await streamer.click('#key-login-form button[type="submit"]');
    await waitFor('bad key refused', async () =>
      /not right/.test(await streamer.locator('#key-login-form .form-error').innerText()),
    );
    await streamer.fill('#key-login-key', KEY);
    await streamer.click('#key-login-form button[type="submit"]');
    await streamer.locator('#dash-content').waitFor();
    await waitFor(
      'the follower is counted',
      async () => (await streamer.locator('#stat-followers').innerText()) === '1',
      10_000,
    );
    await streamer.fill('#pw-input', 'open-sesame-1');
    await streamer.click('#pw-set');
    await waitFor('password set', async () =>
      /protected/.test(await streamer.locator('#pw-state').innerText()),
    );
    await waitForProtection(net.edgeUrl, 'cam', true);

    const visitor = await newPage();
    await visitor.goto(`${net.edgeUrl}/watch/cam`);
    await visitor.locator('#unlock').waitFor();
    assert.equal(await visitor.locator('#chat-input').isDisabled(), true, 'no chat before the password');
    await visitor.fill('#unlock-password', 'wrong-password');
    await visitor.click('#unlock button[type="submit"]');
    await waitFor('wrong password refused', async () =>
      /not right/.test(await visitor.locator('#unlock-error').innerText()),
    );
    await visitor.fill('#unlock-password', 'open-sesame-1');
    await visitor.click('#unlock button[type="submit"]');
    await visitor.locator('#unlock').waitFor({ state: 'hidden' });
    await sees(visitor, 'history after unlocking', `${ACCOUNT}: live now`);
    await say(visitor, 'I am in');
    await sees(visitor, 'the unlocked viewer chats', /I am in/);
    // A viewer who was chatting without the password was closed (4403) and told why; once unlocked, they
    // hear what was said meanwhile.
    await waitFor('the earlier viewer is told', async () =>
      /needs its password/.test(await alice.locator('#chat-log').innerText()),
    );
    await alice.reload();
    await alice.fill('#unlock-password', 'open-sesame-1');
    await alice.click('#unlock button[type="submit"]');
    await alice.locator('#unlock').waitFor({ state: 'hidden' });
    await sees(alice, 'the unlocked viewer is heard', /I am in/);

    await streamer.click('#pw-remove');
    await waitFor('password removed', async () =>
      /Anyone can watch/.test(await streamer.locator('#pw-state').innerText()),
    );
  },
);

test(
  'the host deletes a message and bans a guest from the message menu; the guest is not reconnected',
  { timeout: 60_000 },
  async () => {
    const host = await newPage();
    await host.goto(`${net.edgeUrl}/login?tab=streamer&next=/watch/cam`);
    await host.fill('#streamer-key', KEY);
    await host.click('#panel-streamer button[type="submit"]');
    await host.waitForURL(`${net.edgeUrl}/watch/cam`);
    await waitFor('host badge', async () => (await host.locator('#chat-you').innerText()).includes('cam'));

    const troll = await newPage();
    await troll.goto(`${net.edgeUrl}/watch/cam`);
    await troll.locator('#chat-rename').click();
    await troll.fill('#chat-guest-name', 'troll');
    await troll.click('#chat-guest-form button[type="submit"]');
    await waitFor(
      'renamed by reconnecting',
      async () => (await troll.locator('#chat-you').innerText()) === 'Chatting as troll',
    );
    await say(troll, 'first spam');
    await say(troll, 'second spam');
    await sees(host, 'spam arrives', 'troll: second spam');

    // Viewers get no moderator buttons.
    assert.equal(await guest.locator('#chat-log .msg-actions').count(), 0);
    const first = host.locator('#chat-log li.msg', { hasText: 'first spam' });
    await first.hover();
    await first.locator('.msg-actions').click();
    await host.locator('#mod-menu .menu-item', { hasText: 'Delete message' }).click();
    await waitFor(
      'deleted everywhere',
      async () => !(await messages(guest)).some((t) => t.includes('first spam')),
    );

    host.once('dialog', (d) => void d.accept());
    const second = host.locator('#chat-log li.msg', { hasText: 'second spam' });
    await second.hover();
    await second.locator('.msg-actions').click();
    await host.locator('#mod-menu .menu-item', { hasText: 'Ban' }).click();
    await waitFor('the guest is told', async () =>
      /banned/i.test(await troll.locator('#chat-log').innerText()),
    );
    await waitFor('input disabled', () => troll.locator('#chat-input').isDisabled());
    assert.equal(await troll.locator('#chat-status').innerText(), 'Disconnected');
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await troll.locator('#chat-status').innerText(), 'Disconnected', 'no reconnect after a ban');
    await say(host, '/unban troll');
    assert.deepEqual(errors, []);
  },
);
