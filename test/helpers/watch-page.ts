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

/**
 * The media time (s) of the picture on screen, whichever player draws it: the watch page says
 * (`window.tiercast.position()`: the <video>'s time, or that of the WebCodecs player's last frame on its
 * canvas); other pages' first <video>. 0 before the first picture.
 */
export const pictureTime = (page: Page) =>
  page.evaluate(() => {
    const api = (window as { tiercast?: { position?: () => number | null } }).tiercast;
    return (api?.position ? api.position() : document.querySelector('video')?.currentTime) ?? 0;
  });

/** Whether the page has decoded any of the stream's sound (the WebCodecs player's worklet, else the <video>). */
export const audioDecoded = (page: Page) =>
  page.evaluate(() => {
    const api = (window as { tiercast?: { webcodecs?: () => Record<string, unknown> | null } }).tiercast;
    const wc = api?.webcodecs?.();
    if (wc) return Number(wc.audioReceived) > 0;
    const v = document.querySelector<HTMLVideoElement & { webkitAudioDecodedByteCount?: number }>('video');
    return (v?.webkitAudioDecodedByteCount ?? 0) > 0;
  });

/** The height of the picture on screen in pixels: the WebCodecs player's canvas, else the <video>'s frames. */
export const pictureHeight = (page: Page) =>
  page.evaluate(() => {
    const canvas = document.querySelector('canvas#picture');
    if (canvas instanceof HTMLCanvasElement) return canvas.height;
    return document.querySelector('video')?.videoHeight ?? 0;
  });

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
