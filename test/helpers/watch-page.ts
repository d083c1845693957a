/**
 * Watching in Chromium: a tree (ingress → intermediate → edge) with ffmpeg publishing 'cam' for 300 s,
 * waited for at the edge, and a browser; with the steps the watch-page tests take (video time, a quality
 * switch, a transcoder crash). Shared by watch-page.test.ts, webcodecs-player.test.ts and
 * hls-playback.test.ts.
 */
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './browser.js';
import { publish, startNetwork, stop, waitFor, waitListed, type TestNetwork } from './network.js';

export interface WatchSetup {
  net: TestNetwork;
  /** The ffmpeg publishing 'cam'; a test that stops it and publishes again puts the new one here. */
  pub: ReturnType<typeof publish>;
  browser: Browser;
  /** A new page whose uncaught errors are collected in `errors`. */
  newPage(): Promise<{ page: Page; errors: string[] }>;
  /** Closes the browser, stops the publisher, closes the tree. */
  close(): Promise<void>;
}

/**
 * `until`: what the edge must show before the browser starts: 'listed' (its /api/streams lists 'cam') or
 * 'playlist' (it serves cam's v360 playlist, within 30 s).
 */
export async function startWatchSetup(opts: { until: 'listed' | 'playlist' }): Promise<WatchSetup> {
  const net = await startNetwork({ intermediates: 1 });
  let pub = publish(net.rtmpUrl, undefined, 300);
  let browser: Browser;
  try {
    if (opts.until === 'listed') {
      await waitListed(net.edgeUrl);
    } else {
      await waitFor(
        'the edge serves the playlist',
        async () => (await fetch(`${net.edgeUrl}/live/cam/v360/playlist.m3u8`)).ok,
        30_000,
      );
    }
    browser = await launchChromium();
  } catch (e) {
    await stop(pub);
    await net.close();
    throw e;
  }
  return {
    net,
    get pub() {
      return pub;
    },
    set pub(p) {
      pub = p;
    },
    browser,
    async newPage() {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      return { page, errors };
    },
    async close() {
      await browser.close();
      await stop(pub);
      await net.close();
    },
  };
}

/** The <video>'s current time (the page must have one). */
export const videoTime = (page: Page) => page.evaluate(() => document.querySelector('video')!.currentTime);

/** Chooses nothing: waits (every 200 ms) until the page's player says it plays `quality`. */
export function waitForQuality(page: Page, quality: string, timeoutMs: number): Promise<true> {
  return waitFor(
    `quality switched to ${quality}`,
    async () => (await page.evaluate(() => window.tiercast.quality())) === quality,
    timeoutMs,
    200,
  );
}

/** Kills the transcoder of 'cam' and waits until the ingress has started a new one. */
export async function crashTranscoder(net: TestNetwork): Promise<void> {
  const pid = net.ingress.live.get('cam')!.transcoderPid!;
  process.kill(pid, 'SIGKILL');
  await waitFor('transcoder restarted', () => {
    const p = net.ingress.live.get('cam')?.transcoderPid;
    return p !== undefined && p !== pid;
  });
}
