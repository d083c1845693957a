/**
 * /popout-chat/NAME in headless Chromium against a real hub and edge: the watch page's "Pop out chat" link
 * opens the chat alone in a window of its own, where messages from the watch page arrive and from which
 * messages reach it; `?transparent=1` paints nothing behind the messages (an OBS browser source shows the
 * picture through) and outlines the text; bad names get 404 like /watch.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { KEY, startNetwork, startTestHub, waitFor, type TestNetwork } from '../helpers/network.js';
import { launchChromium } from '../helpers/browser.js';
import type { HubNode } from '../../src/hub/main.js';

let hub: HubNode;
let net: TestNetwork;
let browser: Browser;
const contexts: BrowserContext[] = [];
const errors: string[] = [];

before(async () => {
  hub = await startTestHub();
  hub.store.streamers.add({ name: 'cam', key: KEY, title: 'Test cam' });
  net = await startNetwork({ intermediates: 0, hub });
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

const sees = (page: Page, text: string) =>
  page.locator('#chat-log li.msg', { hasText: text }).first().waitFor({ timeout: 10_000 });

async function say(page: Page, text: string): Promise<void> {
  await waitFor('chat connected', () => page.locator('#chat-input').isEnabled(), 15_000);
  await page.fill('#chat-input', text);
  await page.press('#chat-input', 'Enter');
  await sees(page, text);
}

test(
  '"Pop out chat" opens the chat alone in a window; messages go both ways',
  { timeout: 60_000 },
  async () => {
    const watch = await newPage();
    await watch.goto(`${net.edgeUrl}/watch/cam`);
    await say(watch, 'before the popout');

    const link = watch.getByRole('link', { name: 'Pop out chat' });
    assert.equal(await link.getAttribute('href'), '/popout-chat/cam');
    const [popup] = await Promise.all([watch.waitForEvent('popup'), link.click()]);
    await popup.waitForLoadState();
    popup.on('pageerror', (e) => errors.push(e.message));
    assert.equal(new URL(popup.url()).pathname, '/popout-chat/cam');
    assert.equal(await popup.title(), 'cam · Chat · tiercast');
    assert.equal(await watch.evaluate(() => location.pathname), '/watch/cam', 'the watch page stays');

    await sees(popup, 'before the popout');
    assert.equal(await popup.locator('video').count(), 0, 'no player in the popout');
    assert.equal(await popup.locator('.topbar, header').count(), 0, 'no site header in the popout');
    const box = await popup.locator('#chat').boundingBox();
    const size = popup.viewportSize()!;
    assert.ok(
      box && box.height >= size.height - 1 && box.width >= size.width - 1,
      `the chat fills the window: ${JSON.stringify(box)} in ${JSON.stringify(size)}`,
    );

    await say(watch, 'live to the popout');
    await sees(popup, 'live to the popout');
    await say(popup, 'typed in the popout');
    await sees(watch, 'typed in the popout');
    // A guest gets a name of their own in the popout (the hub gives one guest name to one connection).
    assert.match(await popup.locator('#chat-you').innerText(), /Chatting as guest-\d+/);
    assert.deepEqual(errors, []);
  },
);

/** Background colour and image of the element and every ancestor up to <html>. */
const backgrounds = (page: Page, selector: string) =>
  page
    .locator(selector)
    .first()
    .evaluate((start) => {
      const out: Array<{ el: string; color: string; image: string }> = [];
      for (let e: Element | null = start; e; e = e.parentElement) {
        const s = getComputedStyle(e);
        out.push({
          el: e.tagName.toLowerCase() + (e.id ? `#${e.id}` : ''),
          color: s.backgroundColor,
          image: s.backgroundImage,
        });
      }
      return out;
    });

test(
  '?transparent=1: nothing is painted behind the messages, which are outlined; without it the page is opaque',
  { timeout: 60_000 },
  async () => {
    const opaque = await newPage();
    await opaque.goto(`${net.edgeUrl}/popout-chat/cam`);
    await sees(opaque, 'live to the popout');
    const painted = (await backgrounds(opaque, '#chat-log li.msg')).filter(
      (b) => b.color !== 'rgba(0, 0, 0, 0)' || b.image !== 'none',
    );
    assert.ok(painted.length > 0, 'the plain popout has a background');

    const overlay = await newPage();
    await overlay.goto(`${net.edgeUrl}/popout-chat/cam?transparent=1`);
    await sees(overlay, 'live to the popout');
    assert.equal(
      await overlay.evaluate(() => document.documentElement.classList.contains('transparent')),
      true,
    );
    for (const b of await backgrounds(overlay, '#chat-log li.msg')) {
      assert.equal(b.color, 'rgba(0, 0, 0, 0)', `${b.el} background colour`);
      assert.equal(b.image, 'none', `${b.el} background image`);
    }
    const shadow = await overlay
      .locator('#chat-log li.msg .msg-body')
      .first()
      .evaluate((e) => getComputedStyle(e).textShadow);
    assert.match(shadow, /rgb\(0, 0, 0\)/, 'the text has a dark outline');
    // An overlay shows messages only: nothing to type into on the stream's picture.
    assert.equal(await overlay.locator('#chat-input').isVisible(), false);
    assert.equal(await overlay.locator('.chat-header').isVisible(), false);
    // The newest message sits at the bottom of the overlay.
    const last = await overlay.locator('#chat-log li.msg').last().boundingBox();
    const height = overlay.viewportSize()!.height;
    assert.ok(last && last.y + last.height > height - 60, `newest message at ${JSON.stringify(last)}`);
    assert.deepEqual(errors, []);
  },
);

test('bad names get 404 like /watch; a valid name no one streams under gets the page', async () => {
  const bad = await fetch(`${net.edgeUrl}/popout-chat/no%20such`);
  assert.equal(bad.status, 404);
  assert.equal(((await bad.json()) as { error: { code: string } }).error.code, 'STREAM_NOT_FOUND');
  const unknown = await fetch(`${net.edgeUrl}/popout-chat/nobody`);
  assert.equal(unknown.status, 200);
  assert.match(await unknown.text(), /id="chat-log"/);
  assert.match(unknown.headers.get('content-security-policy') ?? '', /default-src 'self'/);
});
