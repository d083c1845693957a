/**
 * Headless Chromium plays /watch/NAME on each transport through ingress → intermediate → edge: video time
 * advances, a latency is shown, the quality menu switches renditions, and playback survives an ffmpeg crash
 * without a page reload. The directory page lists the stream.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { waitFor } from '../helpers/network.js';
import { useFixture } from '../helpers/fixture.js';
import { crashTranscoder, startWatchSetup, pictureTime, waitForQuality } from '../helpers/watch-page.js';

const setup = useFixture(() => startWatchSetup({ until: 'listed' }));

async function playsOn(page: Page, label: string, seconds = 2): Promise<void> {
  const t0 = await pictureTime(page);
  await waitFor(
    `${label}: video time advancing`,
    async () => (await pictureTime(page)) > t0 + seconds,
    20_000,
    200,
  );
}

for (const transport of ['ws', 'dash'] as const) {
  test(
    `the watch page plays over ${transport}, switches quality, and survives a transcoder crash`,
    { timeout: 120_000 },
    async () => {
      const { page, errors } = await setup.newPage();
      try {
        await page.goto(`${setup.net.edgeUrl}/watch/cam?transport=${transport}`);
        await waitFor('playback started', async () => (await pictureTime(page)) > 1, 30_000, 200);
        await playsOn(page, 'initial');
        const latency = await page.evaluate(() => window.tiercast.latency());
        assert.ok(
          typeof latency === 'number' && Number.isFinite(latency) && latency > 0 && latency < 10,
          `latency ${latency}`,
        );
        assert.match((await page.textContent('#latency')) ?? '', /\d/);

        const renditions = await page.evaluate(() => window.tiercast.renditions());
        assert.deepEqual([...renditions].sort(), ['v240', 'v360']);
        await page.selectOption('#quality', 'v240');
        await waitForQuality(page, 'v240', 15_000);
        await playsOn(page, 'after the switch');

        // Mark the page: if the player reloaded it, the mark would be gone.
        await page.evaluate(() => ((window as unknown as { mark: number }).mark = 42));
        await crashTranscoder(setup.net);
        await playsOn(page, 'after the transcoder crash', 3);
        assert.equal(
          await page.evaluate(() => (window as unknown as { mark: number }).mark),
          42,
          'no page reload',
        );
        // The transport asked for is the one that played: no fallback hid a failure.
        assert.equal(await page.evaluate(() => window.tiercast.transport), transport);
        assert.deepEqual(await page.evaluate(() => window.tiercast.fallbacks), []);
        assert.deepEqual(errors, []);
      } finally {
        await page.close();
      }
    },
  );
}

test('the directory page lists the live stream with a link to its player', async () => {
  const page = await setup.browser.newPage();
  try {
    await page.goto(`${setup.net.edgeUrl}/`);
    const link = page.locator('a[href="/watch/cam"]');
    await link.first().waitFor({ timeout: 10_000 });
    assert.match((await link.first().textContent()) ?? '', /Test cam/);
  } finally {
    await page.close();
  }
});

test(
  '/embed/NAME is the player alone, with keyboard controls; the watch page announces it through oEmbed',
  { timeout: 60_000 },
  async () => {
    const page = await setup.browser.newPage();
    try {
      await page.goto(`${setup.net.edgeUrl}/embed/cam`);
      await waitFor('embedded playback started', async () => (await pictureTime(page)) > 1, 30_000, 200);
      assert.equal(await page.locator('#chat').count(), 0, 'no chat in the embed');
      assert.equal(await page.locator('header').count(), 0, 'no site header in the embed');
      await page.locator('body').click({ position: { x: 5, y: 5 } });
      const muted = () => page.evaluate(() => document.querySelector('video')!.muted);
      const before = await muted();
      await page.keyboard.press('m');
      assert.equal(await muted(), !before, 'm toggles mute');
      await page.evaluate(() => (document.querySelector('video')!.volume = 0.5));
      await page.keyboard.press('ArrowUp');
      const volume = await page.evaluate(() => document.querySelector('video')!.volume);
      assert.ok(Math.abs(volume - 0.6) < 1e-6, `volume ${volume}`);
      await page.keyboard.press('k');
      assert.equal(await page.evaluate(() => window.tiercast.paused), true, 'k pauses');

      await page.goto(`${setup.net.edgeUrl}/watch/cam`);
      const href = await page.locator('link[type="application/json+oembed"]').getAttribute('href');
      assert.ok(href, 'the watch page links its oEmbed');
      const o = (await (await fetch(new URL(href, setup.net.edgeUrl))).json()) as {
        type: string;
        html: string;
        title: string;
      };
      assert.equal(o.type, 'video');
      assert.ok(o.html.includes(`src="${setup.net.edgeUrl}/embed/cam"`), o.html);
      assert.equal(
        (
          await fetch(
            `${setup.net.edgeUrl}/oembed?url=${encodeURIComponent(`${setup.net.edgeUrl}/watch/nobody`)}`,
          )
        ).status,
        404,
      );
    } finally {
      await page.close();
    }
  },
);
