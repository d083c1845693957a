/**
 * The viewer pages against a network that is already running (any topology, e.g. `node-role all --demo`):
 * for each transport, the watch page plays, shows a latency, switches to a chosen rendition and keeps
 * playing; the directory page shows the stream. Point it at the network with
 *   TIERCAST_TEST_EDGE_URL=http://127.0.0.1:8080 TIERCAST_TEST_STREAM=demo
 * (test/browser/watch-page.test.ts starts its own network instead.)
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { edgeTargetFromEnv, launchChromium } from '../helpers/browser.js';

const target = edgeTargetFromEnv();
const skip = target
  ? false
  : 'set TIERCAST_TEST_EDGE_URL and TIERCAST_TEST_STREAM to a running edge and a live stream (e.g. http://127.0.0.1:8080 and demo after `node-role all --demo`)';

async function poll<T>(
  what: string,
  fn: () => Promise<T | undefined | null | false>,
  timeoutMs: number,
  everyMs = 200,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== null && v !== false) return v;
    last = v;
    if (Date.now() > end)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${String(last)})`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

const videoTime = (page: Page) => page.evaluate(() => document.querySelector('video')?.currentTime ?? 0);

/** Resolves once the video has played `seconds` of media from now on. */
async function advances(page: Page, seconds: number, label: string, timeoutMs = 20_000): Promise<number> {
  const from = await videoTime(page);
  return poll(
    `${label}: video time to advance ${seconds} s past ${from.toFixed(2)}`,
    async () => {
      const t = await videoTime(page);
      return t > from + seconds ? t : undefined;
    },
    timeoutMs,
  );
}

describe('viewer pages on a running network', { skip }, () => {
  const { edgeUrl, stream } = target ?? { edgeUrl: '', stream: '' };
  let browser: Browser;

  before(async () => {
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
  });

  for (const transport of ['ws', 'dash'] as const) {
    test(
      `${transport}: plays, reports a latency, switches quality and keeps playing`,
      { timeout: 120_000 },
      async (t) => {
        const page = await browser.newPage();
        const errors: string[] = [];
        page.on('pageerror', (e) => errors.push(e.message));
        try {
          await page.goto(`${edgeUrl}/watch/${encodeURIComponent(stream)}?transport=${transport}`);
          assert.equal(await page.evaluate(() => window.tiercast.transport), transport);

          await poll('playback to start', async () => (await videoTime(page)) > 0, 30_000);
          const played = await advances(page, 2, 'initial playback');
          assert.ok(played > 2, `video time ${played}`);

          const latency = await poll(
            'a latency read-out',
            () => page.evaluate(() => window.tiercast.latency()),
            10_000,
          );
          assert.ok(Number.isFinite(latency) && latency > 0 && latency < 10, `latency ${latency} s`);
          assert.match((await page.textContent('#latency')) ?? '', /^Latency \d+\.\d\d s$/);

          const renditions = await page.evaluate(() => window.tiercast.renditions());
          assert.ok(renditions.length > 0, 'the page knows the video renditions');
          const before = await page.evaluate(() => window.tiercast.quality());
          const wanted = renditions.find((r) => r !== before) ?? renditions[0]!;
          await page.evaluate((id) => window.tiercast.setQuality(id), wanted);
          await poll(
            `quality ${wanted} on screen`,
            async () => (await page.evaluate(() => window.tiercast.quality())) === wanted,
            20_000,
          );
          assert.equal(await page.inputValue('#quality'), wanted, 'the quality menu shows the choice');
          await advances(page, 2, `playback after switching to ${wanted}`);

          const stalls = await page.evaluate(() => window.tiercast.stalls);
          t.diagnostic(
            `${transport}: latency ${latency.toFixed(3)} s, switched ${String(before)} → ${wanted}, stalls ${stalls}`,
          );
          assert.deepEqual(errors, [], 'no uncaught errors in the page');
        } finally {
          await page.close();
        }
      },
    );
  }

  test('the directory page shows the stream with a link to its player', { timeout: 30_000 }, async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`${edgeUrl}/`);
      // The list refreshes every 5 s, so a stream that just went live shows up within one refresh.
      const card = page.locator(`a.card[href="/watch/${encodeURIComponent(stream)}"]`);
      await card.waitFor({ timeout: 15_000 });
      assert.match((await card.textContent()) ?? '', /viewers?/);
    } finally {
      await page.close();
    }
  });
});
