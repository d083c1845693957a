/**
 * The chat panel while the hub is away, in headless Chromium: the hub (a real `node-role hub` process) is
 * killed mid-chat; the page says "Chat reconnecting…" and keeps its input enabled; what is typed meanwhile
 * is queued by the edge (the page shows the notice) and appears once the hub is back, without a reload.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { KEY, startNetwork, waitFor, type TestNetwork } from '../helpers/network.js';
import { HubProcess, startHubWithCam } from '../helpers/hub-process.js';
import { launchChromium } from '../helpers/browser.js';

const dataDir = mkdtempSync(join(tmpdir(), 'tiercast-chatui-'));
let hub: HubProcess;
let net: TestNetwork;
let browser: Browser;

before(async () => {
  hub = await startHubWithCam(dataDir, KEY);
  net = await startNetwork({ intermediates: 1, hubUrl: hub.url });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await net?.close();
  await hub?.kill();
});

test(
  'while the hub is away the chat says so, keeps the input, and delivers what was typed',
  { timeout: 60_000 },
  async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${net.edgeUrl}/watch/cam`);
    await waitFor('joined', async () => /Chatting as \S+/.test(await page.locator('#chat-you').innerText()));
    const status = page.locator('#chat-status');
    assert.equal(await status.isHidden(), true);

    await hub.kill();
    await waitFor(
      'reconnecting shown',
      async () => (await status.isVisible()) && (await status.innerText()) === 'Chat reconnecting…',
    );
    assert.equal(await page.locator('#chat-input').isEnabled(), true, 'the input stays enabled');
    await page.fill('#chat-input', 'typed while the hub was away');
    await page.press('#chat-input', 'Enter');
    await waitFor('queued notice', async () =>
      /will be sent when it is back/.test(
        await page
          .locator('#chat-log li.notice')
          .allInnerTexts()
          .then((t) => t.join('\n')),
      ),
    );

    await hub.start();
    await waitFor('status cleared', () => status.isHidden(), 20_000);
    await waitFor(
      'the queued message arrives',
      async () =>
        (await page.locator('#chat-log li.msg').allInnerTexts()).some((t) =>
          t.includes('typed while the hub was away'),
        ),
      20_000,
    );
    assert.deepEqual(errors, []);
    await page.close();
  },
);
