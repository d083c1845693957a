/**
 * Every page the edge serves, checked by axe-core in headless Chromium against a real hub and tree with a
 * live stream: the home page, /watch/NAME (playing, with chat messages; and a password-protected stream
 * showing its form), /embed/NAME, /popout-chat/NAME (opaque, transparent, and for the protected stream), /login, /dashboard (the
 * key form and a streamer's dashboard) and /broadcast. No finding of impact "serious" or "critical" may remain. And on a
 * phone (390×844) the watch page shows the video and the chat input without scrolling.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AxeResults } from 'axe-core';
import type { Browser, BrowserContext, BrowserContextOptions, Page } from 'playwright-core';
import {
  KEY,
  publish,
  startNetwork,
  startTestHub,
  stop,
  waitFor,
  waitForProtection,
  type TestNetwork,
} from '../helpers/network.js';
import { launchChromium } from '../helpers/browser.js';
import { pictureTime } from '../helpers/watch-page.js';
import type { HubNode } from '../../src/hub/main.js';

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const VAULT_KEY = 'live_vault_key_123456';

let hub: HubNode;
let net: TestNetwork;
let pub: ReturnType<typeof publish>;
let browser: Browser;
const contexts: BrowserContext[] = [];
const errors: string[] = [];

before(async () => {
  hub = await startTestHub();
  hub.store.streamers.add({ name: 'cam', key: KEY, title: 'Test cam', category: 'Testing' });
  hub.store.streamers.add({
    name: 'vault',
    key: VAULT_KEY,
    title: 'Members only',
    password: 'open-sesame-1',
  });
  net = await startNetwork({ intermediates: 1, hub });
  pub = publish(net.rtmpUrl, undefined, 300);
  await waitFor('cam live at the edge', async () => {
    const list = (await (await fetch(`${net.edgeUrl}/api/streams`)).json()) as Array<{
      name: string;
      live: boolean;
    }>;
    return list.some((s) => s.name === 'cam' && s.live);
  });
  await waitForProtection(net.edgeUrl, 'vault', true);
  browser = await launchChromium();
});

after(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  if (pub) await stop(pub);
  await net?.close();
  await hub?.close();
});

async function newPage(options: BrowserContextOptions = {}): Promise<Page> {
  const ctx = await browser.newContext(options);
  contexts.push(ctx);
  const page = await ctx.newPage();
  page.on('pageerror', (e) => errors.push(e.message));
  return page;
}

/** Closes a checked page: a player left running would slow every later page's axe run. */
async function done(page: Page): Promise<void> {
  await page.context().close();
}

/** The page's axe findings of impact serious or critical, one line each: rule, impact, elements, summary. */
async function axeFindings(page: Page, label: string): Promise<string[]> {
  // Evaluated through the debugging protocol, which the pages' CSP (no inline script) does not govern.
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE_SOURCE);
  const results = await page.evaluate(() =>
    (window as unknown as { axe: { run(): Promise<AxeResults> } }).axe.run(),
  );
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .flatMap((v) =>
      v.nodes.map((n) => {
        const why = [...n.any, ...n.all, ...n.none].map((c) => c.message).join('; ');
        return `${label}: ${v.id} (${v.impact}) at ${n.target.join(' ')}: ${why || v.help}`;
      }),
    );
}

async function chatReady(page: Page): Promise<void> {
  await waitFor('chat connected', () => page.locator('#chat-input').isEnabled(), 15_000);
}

/** Sends `text` and waits until the log shows a message containing `shown`. */
async function say(page: Page, text: string, shown = text): Promise<void> {
  await page.fill('#chat-input', text);
  await page.press('#chat-input', 'Enter');
  await page.locator('#chat-log li.msg', { hasText: shown }).first().waitFor({ timeout: 10_000 });
}

async function playing(page: Page): Promise<void> {
  await waitFor('video playing', async () => (await pictureTime(page)) > 0.5, 30_000, 200).catch(
    async (e: Error) => {
      throw new Error(`${e.message} on ${page.url()}; the page says: ${await page.textContent('#status')}`);
    },
  );
}

test('no page has a serious or critical axe finding', { timeout: 180_000 }, async () => {
  const found: string[] = [];

  const home = await newPage();
  await home.goto(`${net.edgeUrl}/`);
  await home.locator('#streams li').first().waitFor();
  await home.locator('#offline li').first().waitFor();
  found.push(...(await axeFindings(home, '/')));
  await done(home);

  const watch = await newPage();
  await watch.goto(`${net.edgeUrl}/watch/cam`);
  await playing(watch);
  await chatReady(watch);
  await say(watch, 'hello, accessible world :wave:', 'accessible world');
  await say(watch, '/me checks contrast', 'checks contrast');
  found.push(...(await axeFindings(watch, '/watch/cam')));
  // The open member list and the drawing pad are part of the page too.
  await watch.click('#chat-members-toggle');
  await watch.click('#draw-toggle');
  found.push(...(await axeFindings(watch, '/watch/cam, member list and drawing pad open')));
  await done(watch);

  const locked = await newPage();
  await locked.goto(`${net.edgeUrl}/watch/vault`);
  await locked.locator('#unlock').waitFor();
  found.push(...(await axeFindings(locked, '/watch/vault (password form)')));
  await done(locked);

  const embed = await newPage();
  await embed.goto(`${net.edgeUrl}/embed/cam`);
  await playing(embed);
  found.push(...(await axeFindings(embed, '/embed/cam')));
  await done(embed);

  for (const path of ['/popout-chat/cam', '/popout-chat/cam?transparent=1']) {
    const popout = await newPage();
    await popout.goto(`${net.edgeUrl}${path}`);
    await popout.locator('#chat-log li.msg', { hasText: 'accessible world' }).waitFor({ timeout: 15_000 });
    found.push(...(await axeFindings(popout, path)));
    await done(popout);
  }

  const lockedChat = await newPage();
  await lockedChat.goto(`${net.edgeUrl}/popout-chat/vault`);
  await lockedChat.locator('#unlock').waitFor();
  found.push(...(await axeFindings(lockedChat, '/popout-chat/vault (password form)')));
  await done(lockedChat);

  const missing = await newPage();
  await missing.goto(`${net.edgeUrl}/no-such-page`);
  found.push(...(await axeFindings(missing, '404 page')));
  await done(missing);

  const login = await newPage();
  await login.goto(`${net.edgeUrl}/login`);
  await login.locator('#panel-login').waitFor();
  found.push(...(await axeFindings(login, '/login')));
  await done(login);

  const dash = await newPage();
  await dash.goto(`${net.edgeUrl}/dashboard`);
  await dash.locator('#key-login-key').waitFor();
  found.push(...(await axeFindings(dash, '/dashboard (key form)')));
  await dash.fill('#key-login-key', KEY);
  await dash.click('#key-login-form button[type="submit"]');
  await dash.locator('#dash-content').waitFor();
  found.push(...(await axeFindings(dash, '/dashboard (streamer)')));
  // A streamer's header links to /broadcast; the page itself before going live.
  await dash.locator('.session a[href="/broadcast"]').click();
  await dash.locator('#stream-key').waitFor();
  await dash.locator('.session-name').waitFor();
  found.push(...(await axeFindings(dash, '/broadcast (streamer)')));

  assert.deepEqual(found, [], `axe findings:\n${found.join('\n')}`);
  assert.deepEqual(errors, []);
});

test(
  'on a phone the watch page shows the video and the chat input without scrolling',
  { timeout: 60_000 },
  async () => {
    const viewport = { width: 390, height: 844 };
    const page = await newPage({ viewport, isMobile: true, hasTouch: true, deviceScaleFactor: 3 });
    await page.goto(`${net.edgeUrl}/watch/cam`);
    await playing(page);
    await chatReady(page);
    assert.equal(await page.evaluate(() => window.scrollY), 0);

    const inside = async (selector: string) => {
      const box = await page.locator(selector).boundingBox();
      assert.ok(box, `${selector} is laid out`);
      assert.ok(
        box.x >= 0 &&
          box.y >= 0 &&
          box.x + box.width <= viewport.width &&
          box.y + box.height <= viewport.height,
        `${selector} at ${JSON.stringify(box)} is inside the ${viewport.width}×${viewport.height} viewport`,
      );
      return box;
    };
    // The picture: the WebCodecs player's canvas where the browser has WebCodecs, else the <video>.
    const picture =
      (await page.evaluate(() => window.tiercast.player)) === 'webcodecs' ? '#picture' : '#video';
    const video = await inside(picture);
    assert.ok(video.width >= 380 && video.height >= 200, `video at ${JSON.stringify(video)} is full width`);
    const input = await inside('#chat-input');
    assert.ok(input.height >= 30, `chat input at ${JSON.stringify(input)} is tall enough to tap`);
    await inside('#chat-send');
    // Several lines of chat are visible between the player and the input.
    const log = await page.locator('#chat-log').boundingBox();
    assert.ok(log && log.height >= 150, `chat log at ${JSON.stringify(log)}`);

    // Typing works from there: the message reaches the log.
    await say(page, 'from my phone');
    await inside('#chat-input');
    const f = await axeFindings(page, '/watch/cam on a phone');
    assert.deepEqual(f, [], `axe findings:\n${f.join('\n')}`);
  },
);
