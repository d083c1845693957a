/**
 * Headless Chromium plays /watch/NAME (WebCodecs by default where the browser has it) through ingress → intermediate → edge with the WebCodecs
 * player: the picture is drawn on a canvas that a probe reads with drawImage (and it changes), the audio is
 * decoded into the AudioWorklet (which drives the clock), the latency read-out works, the quality menu switches
 * renditions at a keyframe (the canvas takes the new size), a transcoder crash (new inits) and a publisher that stops and starts again plays
 * on without a page reload; pause holds the picture and resume comes back at the live point. ?player=mse
 * plays with MSE.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { publish, stop, waitFor } from '../helpers/network.js';
import { useFixture } from '../helpers/fixture.js';
import { crashTranscoder, startWatchSetup, pictureTime, waitForQuality } from '../helpers/watch-page.js';

const setup = useFixture(() => startWatchSetup({ until: 'listed' }));

interface Stats {
  framesDrawn: number;
  framesDecoded: number;
  framesDropped: number;
  audioReceived: number;
  audioPlayed: number;
  underruns: number;
  audioClock: boolean;
  jitterMs: number | null;
  bufferMs: number | null;
}
const stats = (page: Page) => page.evaluate(() => window.tiercast.webcodecs() as unknown as Stats | null);

/** What a probe outside the player sees: the on-screen canvas read through drawImage, as a checksum. */
const picture = (page: Page) =>
  page.evaluate(() => {
    const src = document.querySelector('canvas#picture');
    if (!(src instanceof HTMLCanvasElement) || src.width === 0) return null;
    const c = document.createElement('canvas');
    c.width = 64;
    c.height = 36;
    const g = c.getContext('2d')!;
    g.drawImage(src, 0, 0, 64, 36);
    const d = g.getImageData(0, 0, 64, 36).data;
    let sum = 0;
    let lit = 0;
    for (let i = 0; i < d.length; i += 4) {
      sum = (sum * 31 + d[i]! + d[i + 1]! * 7 + d[i + 2]! * 13) >>> 0;
      if (d[i]! + d[i + 1]! + d[i + 2]! > 60) lit++;
    }
    return { sum, lit, width: src.width, height: src.height };
  });

async function drawsNewPictures(page: Page, label: string): Promise<void> {
  const seen = new Set<number>();
  await waitFor(
    `${label}: the canvas shows changing pictures`,
    async () => {
      const p = await picture(page);
      if (p && p.lit > 100) seen.add(p.sum);
      return seen.size >= 4;
    },
    20_000,
    150,
  );
}

test(
  'by default where WebCodecs exists: canvas picture, pause and resume at the live point, audio through the worklet, latency, quality switch, transcoder crash, publisher restart',
  { timeout: 180_000 },
  async () => {
    const { page, errors } = await setup.newPage();
    try {
      await page.goto(`${setup.net.edgeUrl}/watch/cam`);
      assert.equal(await page.evaluate(() => window.tiercast.player), 'webcodecs');
      await waitFor('frames drawn', async () => ((await stats(page))?.framesDrawn ?? 0) > 30, 30_000, 200);
      await drawsNewPictures(page, 'initial');
      const box = await page.locator('canvas#picture').boundingBox();
      assert.ok(
        box && box.width > 200 && box.height > 100,
        `the canvas is on screen: ${JSON.stringify(box)}`,
      );
      assert.equal(await page.locator('video').isVisible(), false, 'the <video> is hidden');

      // Audio: the worklet receives and plays decoded samples, and it is the clock.
      const a0 = (await stats(page))!;
      await waitFor(
        'audio samples played',
        async () => ((await stats(page))?.audioPlayed ?? 0) > a0.audioPlayed + 24_000,
        10_000,
        200,
      );
      const s = (await stats(page))!;
      assert.ok(s.audioReceived > 24_000, `worklet received ${s.audioReceived} samples`);
      assert.equal(s.audioClock, true, 'the audio drives the clock');

      await waitFor(
        'latency shown',
        async () => {
          const l = await page.evaluate(() => window.tiercast.latency());
          return typeof l === 'number' && l > 0 && l < 10;
        },
        10_000,
        200,
      );
      assert.match((await page.textContent('#latency')) ?? '', /\d/);
      const latencies: number[] = [];
      for (let i = 0; i < 10; i++) {
        latencies.push((await page.evaluate(() => window.tiercast.latency())) ?? NaN);
        await new Promise((r) => setTimeout(r, 200));
      }
      console.log(`# webcodecs read-out latency ${latencies.map((l) => l.toFixed(3)).join(' ')} s`, {
        jitterMs: s.jitterMs,
        full: await stats(page),
        bufferMs: s.bufferMs,
        dropped: s.framesDropped,
        underruns: s.underruns,
      });

      assert.deepEqual([...(await page.evaluate(() => window.tiercast.renditions()))].sort(), [
        'v240',
        'v360',
      ]);
      await page.selectOption('#quality', 'v240');
      await waitForQuality(page, 'v240', 15_000);
      await waitFor(
        'the canvas takes the 240p size',
        async () => (await picture(page))?.height === 240,
        10_000,
        200,
      );
      await drawsNewPictures(page, 'after the switch');

      // Mute and volume still work through the (hidden) video element's controls.
      await page.click('#unmute');
      assert.equal(await page.evaluate(() => document.querySelector('video')!.muted), false);

      // k pauses: the picture holds and the play button shows; k again comes back at the live point.
      await page.locator('body').focus();
      await page.keyboard.press('k');
      assert.equal(await page.evaluate(() => window.tiercast.paused), true, 'k pauses');
      assert.equal(await page.locator('#play').isVisible(), true, 'the play button shows');
      const held = await picture(page);
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal((await picture(page))?.sum, held?.sum, 'the picture holds while paused');
      await page.keyboard.press('k');
      assert.equal(await page.evaluate(() => window.tiercast.paused), false, 'k resumes');
      await drawsNewPictures(page, 'after resuming');
      await waitFor(
        'back near the live point after resuming',
        async () => ((await page.evaluate(() => window.tiercast.latency())) ?? 99) < 1.5,
        10_000,
        200,
      );

      // A transcoder crash: a new epoch with new init segments; the decoder is reconfigured at a keyframe.
      await page.evaluate(() => ((window as unknown as { mark: number }).mark = 42));
      await crashTranscoder(setup.net);
      const drawn = (await stats(page))!.framesDrawn;
      await waitFor(
        'frames drawn after the transcoder crash',
        async () => ((await stats(page))?.framesDrawn ?? 0) > drawn + 60,
        30_000,
        200,
      );
      await drawsNewPictures(page, 'after the transcoder crash');

      // The publisher stops and starts again: the page waits, then plays the new stream without a reload.
      await stop(setup.pub);
      await waitFor(
        'offline shown',
        async () => (await page.evaluate(() => document.body.dataset.status)) === 'offline',
        20_000,
        200,
      );
      setup.pub = publish(setup.net.rtmpUrl, undefined, 300);
      await waitFor(
        'live again',
        async () => (await page.evaluate(() => document.body.dataset.status)) === 'live',
        30_000,
        200,
      );
      await drawsNewPictures(page, 'after the publisher restart');
      assert.equal(await page.evaluate(() => (window as unknown as { mark: number }).mark), 42, 'no reload');
      assert.equal(await page.evaluate(() => window.tiercast.transport), 'ws');
      assert.equal(await page.evaluate(() => window.tiercast.player), 'webcodecs');
      assert.deepEqual(await page.evaluate(() => window.tiercast.fallbacks), []);
      assert.deepEqual(errors, []);
    } finally {
      await page.close();
    }
  },
);

test(
  '?player=mse plays the WebSocket transport through MSE, on the <video>',
  { timeout: 60_000 },
  async () => {
    const page = await setup.browser.newPage();
    try {
      await page.goto(`${setup.net.edgeUrl}/watch/cam?player=mse`);
      await waitFor('video playing', async () => (await pictureTime(page)) > 1, 30_000, 200);
      assert.equal(await page.evaluate(() => window.tiercast.player), 'mse');
      await new Promise((r) => setTimeout(r, 2000));
      console.log(`# mse read-out latency ${String(await page.evaluate(() => window.tiercast.latency()))} s`);
      assert.equal(await page.locator('canvas#picture').count(), 0);
    } finally {
      await page.close();
    }
  },
);

test(
  'a WebCodecs decoder that refuses the stream: the page falls back to MSE on the same socket',
  { timeout: 90_000 },
  async () => {
    const { page, errors } = await setup.newPage();
    try {
      // This browser's H.264 decoder "cannot" take the stream.
      await page.addInitScript(() => {
        VideoDecoder.prototype.configure = function () {
          throw new DOMException('unsupported', 'NotSupportedError');
        };
      });
      await page.goto(`${setup.net.edgeUrl}/watch/cam`);
      await waitFor(
        'video playing after the fallback',
        async () => (await pictureTime(page)) > 1,
        40_000,
        200,
      );
      assert.equal(await page.locator('video').isVisible(), true);
      assert.equal(await page.locator('canvas#picture').count(), 0);
      assert.equal(await page.evaluate(() => window.tiercast.player), 'mse');
      assert.equal(
        await page.evaluate(() => window.tiercast.transport),
        'ws',
        'MSE over the WebSocket, not HLS',
      );
      const fallbacks = await page.evaluate(() => window.tiercast.fallbacks);
      assert.equal(fallbacks[0]?.transport, 'ws');
      assert.match(fallbacks[0]?.reason ?? '', /cannot decode avc1/);
      assert.deepEqual(errors, []);
    } finally {
      await page.close();
    }
  },
);
