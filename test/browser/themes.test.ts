/**
 * Light, dark and system themes in a real Chromium (issue 16): with no choice the pages follow the system's
 * preference; a choice in the top bar's theme menu applies at once, is remembered, and is served with the next
 * page (data-theme in the HTML itself, so the first paint has it); and in both palettes every piece of text on
 * the directory, the dashboard and the watch page is readable: WCAG AA contrast against what is behind it
 * (4.5:1, 3:1 for large text), video overlays and text on pictures or gradients aside. A chat name keeps its
 * colour in the dark palette and is darkened in the light one.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { KEY } from '../helpers/network.js';
import { startHubSite, type HubSite } from '../helpers/hub-site.js';

let site: HubSite;

before(async () => {
  site = await startHubSite();
});

after(() => site?.close());

/** Relative luminance (WCAG) of a computed CSS colour; shared by the page scripts below (plain JS strings:
 * the test runner's transform must not touch code that runs in the page). */
const LUM = `const parse = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => [r, g, b]
    .map((c) => c / 255)
    .map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4))
    .reduce((a, c, i) => a + c * [0.2126, 0.7152, 0.0722][i], 0);`;

/** Luminance of the page's background: under 0.2 is a dark page. */
const pageLuminance = (page: Page) =>
  page.evaluate<number>(
    `(() => { ${LUM} return lum(parse(getComputedStyle(document.body).backgroundColor)); })()`,
  );

/** Text whose contrast with the first opaque background behind it is below AA; video overlays excluded. */
const lowContrast = (page: Page) =>
  page.evaluate<string[]>(`(() => {
    ${LUM}
    // The first opaque colour behind the text; null over a picture or a gradient (not measurable here).
    const behind = (e) => {
      for (let n = e; n; n = n.parentElement) {
        const st = getComputedStyle(n);
        if (st.backgroundImage !== 'none') return null;
        const c = parse(st.backgroundColor);
        if (c.length === 3 || (c.length === 4 && c[3] >= 0.9)) return c.slice(0, 3);
      }
      return parse(getComputedStyle(document.body).backgroundColor).slice(0, 3);
    };
    const bad = [];
    for (const e of document.querySelectorAll('body *')) {
      if (e.closest('.player, .video-wrap, video, .player-overlay, .stage, option, .visually-hidden')) continue;
      const own = [...e.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
      if (!own || !e.offsetParent) continue;
      const st = getComputedStyle(e);
      const fg = parse(st.color);
      if (fg.length === 4 && fg[3] < 0.5) continue;
      const back = behind(e);
      if (!back) continue;
      const a = lum(fg);
      const b = lum(back);
      const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
      const size = parseFloat(st.fontSize);
      const large = size >= 24 || (size >= 18.66 && Number(st.fontWeight) >= 700);
      if (ratio < (large ? 3 : 4.5))
        bad.push(e.tagName.toLowerCase() + '.' + e.className + ' "' + e.textContent.trim().slice(0, 30) + '" ' + ratio.toFixed(2));
    }
    return bad;
  })()`);

test('no choice follows the system; a choice applies at once, is remembered and served with the next page', async () => {
  const ctx = await site.browser.newContext({ colorScheme: 'dark' });
  const page = await ctx.newPage();
  try {
    await page.goto(`${site.net.edgeUrl}/`);
    const menu = page.locator('.theme-select');
    await menu.waitFor();
    assert.equal(await menu.inputValue(), 'system');
    assert.equal(await page.getAttribute('html', 'data-theme'), null);
    assert.ok((await pageLuminance(page)) < 0.2, 'a dark system: a dark page');
    await page.emulateMedia({ colorScheme: 'light' });
    assert.ok((await pageLuminance(page)) > 0.6, 'the system turns light: so does the page, no reload');

    await page.emulateMedia({ colorScheme: 'dark' });
    await menu.selectOption('light');
    assert.equal(await page.getAttribute('html', 'data-theme'), 'light');
    assert.ok((await pageLuminance(page)) > 0.6, 'light at once, whatever the system says');
    const next = await page.goto(`${site.net.edgeUrl}/dashboard`);
    assert.match(await next!.text(), /<html[^>]* data-theme="light"/, 'the next page is served light');
    assert.equal(await page.locator('.theme-select').inputValue(), 'light');
    // The embedded player is on black in every site it is embedded in: it keeps its dark palette.
    const embed = await (await page.request.get(`${site.net.edgeUrl}/embed/cam`)).text();
    assert.deepEqual(embed.match(/data-theme="\w+"/g), ['data-theme="dark"']);

    await page.locator('.theme-select').selectOption('system');
    await page.reload();
    assert.equal(await page.getAttribute('html', 'data-theme'), null, 'back to the system: no cookie left');
    assert.ok((await pageLuminance(page)) < 0.2);
  } finally {
    await ctx.close();
  }
});

for (const theme of ['light', 'dark'] as const) {
  test(`${theme}: text on the directory, the dashboard and the watch page is readable (WCAG AA)`, async () => {
    const ctx = await site.browser.newContext();
    await ctx.addCookies([{ name: 'tc_theme', value: theme, url: site.net.edgeUrl }]);
    const page = await ctx.newPage();
    try {
      const bad: string[] = [];
      await page.goto(`${site.net.edgeUrl}/`);
      await page.locator('.theme-select').waitFor();
      bad.push(...(await lowContrast(page)).map((b) => `/ ${b}`));
      await page.goto(`${site.net.edgeUrl}/dashboard`);
      await page.fill('#key-login-key', KEY);
      await page.click('#key-login-form button[type="submit"]');
      await page.locator('#output-form').waitFor();
      await page.locator('#outputs-status').filter({ hasText: 'No outputs yet' }).waitFor();
      bad.push(...(await lowContrast(page)).map((b) => `/dashboard ${b}`));
      await page.goto(`${site.net.edgeUrl}/watch/cam`);
      await page.locator('.chat-input, #chat-input').first().waitFor();
      bad.push(...(await lowContrast(page)).map((b) => `/watch/cam ${b}`));
      // The chat's connection badge shows only while the chat is (re)connecting or closed: measure both kinds.
      for (const kind of ['warn', 'error']) {
        await page.evaluate((k) => {
          const el = document.getElementById('chat-status')!;
          Object.assign(el, { hidden: false, textContent: 'Reconnecting…' });
          el.dataset.kind = k;
        }, kind);
        bad.push(...(await lowContrast(page)).map((b) => `/watch/cam (${kind}) ${b}`));
      }
      assert.deepEqual(bad, []);
    } finally {
      await ctx.close();
    }
  });
}
