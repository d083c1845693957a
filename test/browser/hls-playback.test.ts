/**
 * HLS in a real Chromium through ingress → intermediate → edge: a browser without Media Source Extensions
 * (an iPhone before iOS 17.1, an in-app browser) plays /watch/NAME with its built-in HLS player; a browser
 * with neither MSE nor HLS is told why in words; hls.js in low-latency mode plays the edge's LL-HLS, on its
 * own and as the watch page's ?transport=hls (latency read-out from the stream's clock, quality menu).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';
import { waitFor } from '../helpers/network.js';
import { useFixture } from '../helpers/fixture.js';
import { startWatchSetup, pictureTime, waitForQuality } from '../helpers/watch-page.js';

const setup = useFixture(() => startWatchSetup({ until: 'playlist' }));

async function advances(page: Page, what: string): Promise<void> {
  await waitFor(`${what}: playback started`, async () => (await pictureTime(page)) > 0.5, 40_000, 200);
  const t0 = await pictureTime(page);
  await waitFor(`${what}: video time advancing`, async () => (await pictureTime(page)) > t0 + 2, 20_000, 200);
}

test(
  'without Media Source Extensions the watch page plays the built-in HLS player',
  { timeout: 120_000 },
  async () => {
    const context = await setup.browser.newContext();
    // What an iPhone before iOS 17.1 offers a page: no MediaSource, no ManagedMediaSource.
    await context.addInitScript(() => {
      delete (globalThis as { MediaSource?: unknown }).MediaSource;
      delete (globalThis as { ManagedMediaSource?: unknown }).ManagedMediaSource;
    });
    const page = await context.newPage();
    try {
      await page.goto(`${setup.net.edgeUrl}/watch/cam`);
      assert.equal(await page.evaluate(() => 'MediaSource' in window), false);
      assert.equal(await page.evaluate(() => window.tiercast.transport), 'hls');
      assert.equal(await page.evaluate(() => window.tiercast.hlsPlayer), 'native');
      await advances(page, 'native HLS');
      assert.equal(await page.locator('#status').innerText(), 'Live');
      assert.equal(await page.locator('#transport').innerText(), 'HLS (built-in player)');
    } finally {
      await context.close();
    }
  },
);

test('a browser with neither MSE nor HLS says so in words instead of "Connecting…" forever', async () => {
  const context = await setup.browser.newContext();
  await context.addInitScript(() => {
    delete (globalThis as { MediaSource?: unknown }).MediaSource;
    HTMLMediaElement.prototype.canPlayType = () => '';
  });
  const page = await context.newPage();
  try {
    await page.goto(`${setup.net.edgeUrl}/watch/cam`);
    await waitFor('the reason is shown', async () =>
      /cannot play live video/.test(await page.locator('#status').innerText()),
    );
    assert.equal(await page.evaluate(() => window.tiercast.transport), 'none');
  } finally {
    await context.close();
  }
});

test(
  'hls.js in low-latency mode plays the edge’s LL-HLS, every rendition',
  { timeout: 120_000 },
  async () => {
    const hlsJs = createRequire(import.meta.url).resolve('hls.js/dist/hls.min.js');
    const page = await setup.browser.newPage();
    const errors: string[] = [];
    try {
      // A page of the edge's origin, so playlists and parts are same-origin requests.
      await page.goto(`${setup.net.edgeUrl}/healthz`);
      await page.addScriptTag({ path: hlsJs });
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      const levels = await page.evaluate(async (src) => {
        type HlsCtor = {
          new (c: object): {
            loadSource(u: string): void;
            attachMedia(v: HTMLVideoElement): void;
            on(e: string, f: (e: string, d: { levels: unknown[] }) => void): void;
            levels: unknown[];
            currentLevel: number;
          };
          Events: Record<string, string>;
        };
        const Hls = (window as unknown as { Hls: HlsCtor }).Hls;
        const video = document.createElement('video');
        video.muted = true;
        document.body.append(video);
        const hls = new Hls({ lowLatencyMode: true });
        (window as unknown as { hls: unknown }).hls = hls;
        hls.loadSource(src);
        hls.attachMedia(video);
        await new Promise<void>((resolve) => hls.on(Hls.Events.MANIFEST_PARSED!, () => resolve()));
        void video.play();
        return hls.levels.length;
      }, `${setup.net.edgeUrl}/live/cam/master.m3u8`);
      assert.equal(levels, 2, 'both video renditions');
      await advances(page, 'hls.js');
      // Switch to the other rendition and keep playing.
      await page.evaluate(() => {
        const h = (window as unknown as { hls: { currentLevel: number; levels: unknown[] } }).hls;
        h.currentLevel = h.currentLevel === 0 ? 1 : 0;
      });
      await advances(page, 'hls.js after a quality switch');
      assert.deepEqual(errors, []);
    } finally {
      await page.close();
    }
  },
);

test(
  'the watch page with ?transport=hls plays through hls.js: latency from the stream’s clock, every rendition in the quality menu',
  { timeout: 120_000 },
  async () => {
    const { page, errors } = await setup.newPage();
    // Failed loads are judged by URL below (without a hub, the page's /api/me is answered 503).
    page.on(
      'console',
      (m) => m.type() === 'error' && !m.text().startsWith('Failed to load resource') && errors.push(m.text()),
    );
    const failedStatic: string[] = [];
    page.on(
      'response',
      (r) => r.status() >= 400 && r.url().includes('/static/') && failedStatic.push(r.url()),
    );
    const scripts: string[] = [];
    page.on('request', (r) => r.resourceType() === 'script' && scripts.push(new URL(r.url()).pathname));
    try {
      await page.goto(`${setup.net.edgeUrl}/watch/cam?transport=hls`);
      await advances(page, 'hls.js on the watch page');
      assert.equal(await page.evaluate(() => window.tiercast.transport), 'hls');
      assert.equal(await page.evaluate(() => window.tiercast.hlsPlayer), 'hls.js');
      assert.equal(await page.locator('#transport').innerText(), 'LL-HLS (hls.js)');
      assert.ok(scripts.includes('/static/hls.min.js'), 'hls.js loaded from the edge');
      assert.ok(!scripts.includes('/static/dash.all.min.js'), 'dash.js not loaded');
      await waitFor('status Live', async () => (await page.locator('#status').innerText()) === 'Live');

      // The read-out is ingress → screen: at least the playlist's PART-HOLD-BACK (three 200 ms parts) behind.
      await waitFor('a latency read-out', async () => /\d/.test(await page.locator('#latency').innerText()));
      const latency = await page.evaluate(() => window.tiercast.latency());
      assert.ok(typeof latency === 'number' && latency > 0.5 && latency < 10, `latency ${latency}`);
      assert.match(await page.locator('#latency').innerText(), /^Latency \d+\.\d\d s$/);

      const options = await page
        .locator('#quality option')
        .evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
      assert.deepEqual(options, ['auto', 'v360', 'v240'], 'Auto, then every rendition, highest first');
      assert.deepEqual([...(await page.evaluate(() => window.tiercast.renditions()))].sort(), [
        'v240',
        'v360',
      ]);
      await page.selectOption('#quality', 'v240');
      await waitForQuality(page, 'v240', 20_000);
      await advances(page, 'hls.js after choosing v240');
      await page.selectOption('#quality', 'v360');
      await waitForQuality(page, 'v360', 20_000);
      assert.deepEqual(await page.evaluate(() => window.tiercast.fallbacks), []);
      assert.deepEqual(errors, []);
      assert.deepEqual(failedStatic, []);
    } finally {
      await page.close();
    }
  },
);
