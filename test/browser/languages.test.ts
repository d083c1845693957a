/**
 * English, Russian and Swedish in a real Chromium (issue 16). A browser that asks for Russian
 * (Accept-Language from its locale) gets the directory and the watch page in Russian from the first byte
 * (`<html lang="ru">`, the edge's own rendering), with what the scripts write in Russian too: plural forms,
 * numbers, durations. The language menu in the top bar switches to Swedish, and the choice holds across
 * reloads and pages. A browser asking for English, or for a language the site lacks, gets English. A
 * catalogue string holding markup is shown as text, never parsed. What the hub writes into the chat itself
 * (a moderator's slow mode, the refusal it brings) is in each viewer's language, in history too.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { BrowserContext, Page, Route } from 'playwright-core';
import { startHubSite, type HubSite } from '../helpers/hub-site.js';
import { KEY, waitFor } from '../helpers/network.js';

let site: HubSite;

before(async () => {
  site = await startHubSite();
});

after(() => site?.close());

/** A live channel with 1,234 viewers, live for 80 minutes (the directory as a hub with viewers sends it). */
const liveDirectory = (route: Route) =>
  route.fulfill({
    contentType: 'application/json',
    body: JSON.stringify([
      {
        name: 'cam',
        title: 'Test cam',
        category: 'Testing',
        live: true,
        viewers: 1234,
        startedAt: Date.now() - 80 * 60_000,
      },
    ]),
  });

/** The element's text, with Intl's no-break spaces ("1,2 тыс.") as plain ones. */
const text = async (page: Page, selector: string) =>
  (await page.locator(selector).first().innerText()).replace(/\s/g, ' ');

test('a browser asking for Russian gets the pages in Russian; the menu switches to Swedish, which holds', async () => {
  const ctx = await site.browser.newContext({ locale: 'ru-RU' });
  const page = await ctx.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  try {
    const res = await page.goto(`${site.net.edgeUrl}/`);
    const html = await res!.text();
    assert.match(html, /<html lang="ru">/, 'served in Russian: no English first paint');
    assert.match(html, /<h1 data-i18n="directory.heading">Сейчас в эфире<\/h1>/);
    assert.match(res!.headers().vary ?? '', /accept-language, cookie/);
    assert.equal(await page.title(), 'Сейчас в эфире · tiercast');
    // What the script writes: the offline channel's badge, the summary.
    await page.locator('#summary').filter({ hasText: 'Никто не ведёт трансляцию' }).waitFor();
    assert.equal(await text(page, '.offline-badge'), 'НЕ В ЭФИРЕ');
    const menu = page.locator('.language-select');
    assert.equal(await menu.inputValue(), 'ru');
    assert.deepEqual(await menu.locator('option').allInnerTexts(), ['English', 'Русский', 'Svenska']);
    assert.equal(await menu.getAttribute('aria-label'), 'Язык');

    // Numbers, plurals and durations in Russian (a directory with a live channel).
    await page.route('**/api/streams', liveDirectory);
    await page.reload();
    await page.locator('#summary').filter({ hasText: '1 канал в эфире' }).waitFor();
    assert.equal(await text(page, '.viewer-badge'), '1,2 тыс. зрителей');
    assert.match(await text(page, '.card-meta'), /в эфире 1 ч 20 мин$/);

    // The menu: Swedish, at once and on every page after.
    await menu.selectOption('sv');
    await page.waitForURL(`${site.net.edgeUrl}/`);
    await page.locator('html[lang="sv"]').waitFor();
    await page.locator('#summary').filter({ hasText: '1 kanal sänder' }).waitFor();
    assert.equal(await text(page, 'h1'), 'Live nu');
    assert.equal(await text(page, '.viewer-badge'), '1,2 tn tittare');
    assert.match(await text(page, '.card-meta'), /live i 1 tim 20 min$/);
    const cookie = (await ctx.cookies()).find((c) => c.name === 'tc_lang');
    assert.equal(cookie?.value, 'sv');
    assert.equal(cookie?.sameSite, 'Lax');
    assert.ok(cookie.expires - Date.now() / 1000 > 360 * 86400, 'kept about a year');
    await page.reload();
    assert.equal(await page.getAttribute('html', 'lang'), 'sv', 'the choice survives a reload');
    assert.equal(await page.locator('.language-select').inputValue(), 'sv');

    const watch = await page.goto(`${site.net.edgeUrl}/watch/cam`);
    assert.match(await watch!.text(), /<html lang="sv">/);
    assert.equal(await page.locator('#chat-heading').textContent(), 'Chatt');
    await page.locator('#chat-input[placeholder="Skriv ett meddelande"]').waitFor();
    assert.deepEqual(errors, []);
  } finally {
    await ctx.close();
  }
});

test('the watch page in Russian: the player, the chat and a chat message in Russian', async () => {
  const ctx = await site.browser.newContext({ locale: 'ru-RU' });
  const page = await ctx.newPage();
  try {
    const res = await page.goto(`${site.net.edgeUrl}/watch/cam`);
    assert.match(await res!.text(), /<html lang="ru">/);
    assert.equal(await page.locator('#unmute').innerText(), 'Включить звук');
    assert.equal(await page.getAttribute('#fullscreen', 'aria-label'), 'Во весь экран');
    await page.locator('#status').filter({ hasText: 'Трансляция не идёт, ждём…' }).waitFor();
    const input = page.locator('#chat-input[placeholder="Напишите сообщение"]');
    await input.waitFor();
    assert.match(await text(page, '#chat-you'), /^Вы в чате как /);
    await input.fill('привет');
    await page.locator('#chat-send').click();
    const line = page.locator('#chat-log li.msg').filter({ hasText: 'привет' });
    await line.waitFor();
    // The message's time, as Russian writes it (24-hour clock).
    assert.match((await line.getAttribute('title')) ?? '', /^\d\d:\d\d$/);
    assert.match(await page.locator('#chat-member-label').innerText(), /^человек в чате$/);
  } finally {
    await ctx.close();
  }
});

test('English for a browser that asks for it, or for a language the site lacks; a foreign cookie is ignored', async () => {
  for (const locale of ['en-US', 'de-DE']) {
    const ctx = await site.browser.newContext({ locale });
    if (locale === 'de-DE') await ctx.addCookies([{ name: 'tc_lang', value: 'de', url: site.net.edgeUrl }]);
    const page = await ctx.newPage();
    try {
      const res = await page.goto(`${site.net.edgeUrl}/`);
      assert.match(await res!.text(), /<html lang="en">/, locale);
      await page.locator('#summary').filter({ hasText: 'Nobody is streaming' }).waitFor();
      assert.equal(await page.locator('.language-select').inputValue(), 'en');
      const missing = await page.request.get(`${site.net.edgeUrl}/no/such/page`, {
        headers: { accept: 'text/html', 'accept-language': 'sv-SE,sv;q=0.9' },
      });
      assert.equal(missing.status(), 404);
      assert.match(await missing.text(), /<html lang="sv">[^]*Den här sidan finns inte/);
    } finally {
      await ctx.close();
    }
  }
});

test('a catalogue string with markup is shown as text, not parsed as HTML', async () => {
  const ctx = await site.browser.newContext({ locale: 'ru-RU' });
  const page = await ctx.newPage();
  try {
    // The page as the edge serves it, with one string of its catalogue replaced by markup.
    const markup = '<b class="injected">жирный</b><img src=x onerror="window.pwned=1">';
    await page.route(`${site.net.edgeUrl}/`, async (route) => {
      const res = await route.fetch();
      const body = (await res.text()).replace(
        /"summaryNone":"[^"]*"/,
        `"summaryNone":${JSON.stringify(markup).replace(/</g, '\\u003c')}`,
      );
      assert.notEqual(body, await res.text(), 'the catalogue string was replaced');
      await route.fulfill({ response: res, body });
    });
    await page.goto(`${site.net.edgeUrl}/`);
    await page.locator('#summary').filter({ hasText: 'жирный' }).waitFor();
    assert.equal(await page.locator('#summary').innerText(), markup);
    assert.equal(await page.locator('b.injected, #summary img').count(), 0);
    assert.equal(await page.evaluate('window.pwned'), undefined);
  } finally {
    await ctx.close();
  }
});

test("the hub's own chat lines in each viewer's language: slow mode turned on, its refusal, and history", async () => {
  const contexts = await Promise.all(
    ['en-US', 'sv-SE', 'ru-RU'].map((locale) => site.browser.newContext({ locale })),
  );
  const [hostCtx, svCtx, ruCtx] = contexts as [BrowserContext, BrowserContext, BrowserContext];
  const chatOpen = async (page: Page) => {
    await page.goto(`${site.net.edgeUrl}/watch/cam`);
    await waitFor('the chat is open', async () => !(await page.locator('#chat-input').isDisabled()), 15_000);
  };
  const say = async (page: Page, line: string) => {
    await page.fill('#chat-input', line);
    await page.press('#chat-input', 'Enter');
    await waitFor('sent', async () => (await page.inputValue('#chat-input')) === '', 5000, 50);
  };
  const host = await hostCtx.newPage();
  try {
    // The host (logged in with the stream key) in English, a guest in Swedish.
    await host.goto(`${site.net.edgeUrl}/dashboard`);
    await host.fill('#key-login-key', KEY);
    await host.click('#key-login-form button[type="submit"]');
    await host.locator('#rules-form').waitFor();
    await chatOpen(host);
    const sv = await svCtx.newPage();
    await chatOpen(sv);

    await say(host, '/slow 30');
    await sv
      .locator('#chat-log li.msg-system')
      .filter({ hasText: 'Långsamt läge är på: ett meddelande per 30 s (av cam)' })
      .waitFor({ timeout: 10_000 });
    await host
      .locator('#chat-log li.msg-system')
      .filter({ hasText: 'Slow mode is on: one message every 30 s (by cam)' })
      .waitFor();
    // Guests share slow mode per address (every page here is 127.0.0.1): one of these is refused, or both.
    await say(sv, 'ett');
    await say(sv, 'två');
    const refusal = sv.locator('#chat-log li.notice').filter({ hasText: 'Långsamt läge är på' }).last();
    await refusal.waitFor({ timeout: 10_000 });
    assert.match(await refusal.innerText(), /^Långsamt läge är på: du kan skicka igen om \d+ s\.$/);

    // A Russian viewer who joins later reads the line from the history, in Russian.
    const ru = await ruCtx.newPage();
    await chatOpen(ru);
    await ru
      .locator('#chat-log li.msg-system')
      .filter({ hasText: 'Медленный режим включён: одно сообщение раз в 30 с (cam)' })
      .waitFor({ timeout: 10_000 });
  } finally {
    await say(host, '/slow 0').catch(() => undefined);
    for (const c of contexts) await c.close();
  }
});
