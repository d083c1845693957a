/**
 * The moderation a busy chat needs, in a real Chromium against a real hub and edge (issue 16): the streamer
 * sets the chat rules on the dashboard (a bad value says why) and they hold for a viewer on the watch page at
 * once; a first-time chatter's link waits in the host's "Held for review" box until approved; the channel's
 * masked words are masked; the moderation log on the dashboard says who did what; `/raid NAME` moves the
 * viewers' pages to the live target channel.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { KEY, waitFor, type TestNetwork } from '../helpers/network.js';
import { startHubSite, type HubSite } from '../helpers/hub-site.js';
import type { HubNode } from '../../src/hub/main.js';

let site: HubSite;
let hub: HubNode;
let net: TestNetwork;
let host: Page;
let viewer: Page;

before(async () => {
  site = await startHubSite();
  ({ hub, net } = site);
  hub.store.streamers.add({ name: 'other', key: 'other-key-0123456789abc', title: 'The other one' });
});

after(() => site?.close());

const newPage = () => site.newPage();
const chatTexts = (page: Page) => page.locator('#chat-log li').allInnerTexts();
async function sees(page: Page, what: string, needle: RegExp): Promise<void> {
  await waitFor(what, async () => (await chatTexts(page)).some((t) => needle.test(t)), 10_000, 100);
}
async function say(page: Page, text: string): Promise<void> {
  await page.fill('#chat-input', text);
  await page.press('#chat-input', 'Enter');
  await waitFor('sent', async () => (await page.inputValue('#chat-input')) === '', 5000, 50);
}

test('the streamer sets the chat rules on the dashboard; a guest on the watch page is held to them at once', async () => {
  host = await newPage();
  await host.goto(`${net.edgeUrl}/dashboard`);
  await host.fill('#key-login-key', KEY);
  await host.click('#key-login-form button[type="submit"]');
  await host.locator('#rules-form').waitFor();
  await waitFor('the current rules are shown', async () => (await host.inputValue('#rules-slow')) === '0');

  // A value the hub refuses says why, and nothing changes.
  await host.fill('#rules-slow', '99999');
  await host.click('#rules-form button[type="submit"]');
  await waitFor('the form says why', async () =>
    /slow mode is at most 3600 seconds/.test(await host.locator('#rules-form .form-error').innerText()),
  );
  assert.equal(hub.store.moderation.rules('cam').slowModeS, 0);

  await host.fill('#rules-slow', '0');
  await host.selectOption('#rules-who', 'accounts');
  await host.selectOption('#rules-links', 'review');
  await host.fill('#rules-allow', 'example.org\n');
  await host.fill('#rules-words', 'spoiler');
  await host.click('#rules-form button[type="submit"]');
  await waitFor('saved', async () => /Saved/.test(await host.locator('#rules-form .form-ok').innerText()));
  assert.deepEqual(hub.store.moderation.rules('cam'), {
    slowModeS: 0,
    who: 'accounts',
    links: 'review',
    linkAllow: ['example.org'],
    blockedWords: ['spoiler'],
  });
  await waitFor('the log shows the change', async () =>
    /cam changed the rules: who may chat: accounts, links: review, allowed domains, masked words/.test(
      await host.locator('#modlog').innerText(),
    ),
  );

  viewer = await newPage();
  await viewer.goto(`${net.edgeUrl}/watch/cam`);
  await waitFor('the chat is open', async () => !(await viewer.locator('#chat-input').isDisabled()), 15_000);
  await say(viewer, 'hello there');
  await sees(viewer, 'the guest is told why', /Only logged-in accounts can chat here right now/);

  // Opened to everyone through the remote API (the same rules, the streamer's own credentials).
  const res = await fetch(`${hub.url}/api/v1/streams/cam/chat/rules`, {
    method: 'PUT',
    headers: {
      authorization: `Basic ${Buffer.from(`cam:${KEY}`).toString('base64')}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify({ ...hub.store.moderation.rules('cam'), who: 'everyone' }),
  });
  assert.equal(res.status, 200);
  await say(viewer, 'no spoiler here');
  await sees(viewer, 'the masked word', /: no \*\*\*\* here/);
});

test("a first-time chatter's link waits in the host's review box; approved, everyone sees it", async () => {
  await host.goto(`${net.edgeUrl}/watch/cam`);
  await waitFor('the host is in chat', async () => !(await host.locator('#chat-input').isDisabled()), 15_000);
  // The viewer chatted before, but only the rules' first-time check counts links: a new guest.
  const newcomer = await newPage();
  await newcomer.goto(`${net.edgeUrl}/watch/cam`);
  await waitFor(
    'its chat is open',
    async () => !(await newcomer.locator('#chat-input').isDisabled()),
    15_000,
  );
  await say(newcomer, 'look https://clips.example/1 <b>x</b>');
  await sees(newcomer, 'told it waits', /a moderator will look at it first/);
  const held = host.locator('.chat-held-item');
  await held.waitFor({ timeout: 10_000 });
  assert.match(await held.innerText(), /look https:\/\/clips\.example\/1 <b>x<\/b>/, 'markup stays text');
  assert.equal(await viewer.locator('.chat-held-item').count(), 0, 'a viewer sees no review box');
  assert.equal(
    (await chatTexts(viewer)).some((t) => t.includes('clips.example')),
    false,
    'not posted yet',
  );
  await held.locator('button', { hasText: 'Approve' }).click();
  await sees(viewer, 'posted for everyone', /look https:\/\/clips\.example\/1/);
  await waitFor('the box empties', async () => (await host.locator('.chat-held-item').count()) === 0);
  // An allowed domain never waits.
  const another = await newPage();
  await another.goto(`${net.edgeUrl}/watch/cam`);
  await waitFor('open', async () => !(await another.locator('#chat-input').isDisabled()), 15_000);
  await say(another, 'docs: https://docs.example.org/a');
  await sees(viewer, 'posted at once', /docs: https:\/\/docs\.example\.org\/a/);
});

test("/raid moves the viewers' pages to the live target channel; the log on the dashboard says so", async () => {
  await say(host, '/raid other');
  await sees(host, 'an offline target is refused', /You cannot raid other: it is not live/);
  hub.directory.setLive('other', 'ingress-t', Date.now());
  await say(host, '/raid other');
  await waitFor('the viewer is told', async () =>
    /cam is raiding other: moving there in \d s/.test(await viewer.locator('.chat-raid').innerText()),
  );
  await viewer.waitForURL(`${net.edgeUrl}/watch/other`, { timeout: 10_000 });
  await viewer.locator('#chat-input').waitFor();

  const dash = await newPage();
  await dash.goto(`${net.edgeUrl}/dashboard`);
  await dash.fill('#key-login-key', KEY);
  await dash.click('#key-login-form button[type="submit"]');
  await waitFor('the log lists the raid and the approval', async () => {
    const log = await dash.locator('#modlog').innerText();
    return /cam raided other/.test(log) && /cam approved a held message of/.test(log);
  });
  assert.deepEqual(site.errors, []);
});
