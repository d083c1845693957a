/**
 * A viewer survives their edge, in a real Chromium: two edges under the same intermediate know each other;
 * the watch page plays from the first over the WebSocket player; that edge stops under it. The player moves
 * to the other edge without a reload and keeps playing: the longest stall (read from the video element's
 * clock), no hole in the buffered media, and the repeats of the new edge's opening burst dropped.
 * (Killed processes and cut links between hosts: test/netns/edge-regions.test.ts.)
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { edgeSchema } from '../../src/common/config/index.js';
import { startEdge, type EdgeNode } from '../../src/edge/main.js';
import {
  SECRET,
  logger,
  publish,
  startNetwork,
  stop,
  waitFor,
  type TestNetwork,
} from '../helpers/network.js';
import { freePort } from '../helpers/hub-process.js';
import { launchChromium } from '../helpers/browser.js';
import { installStallMeter, readStalls } from '../helpers/stall-meter.js';

let net: TestNetwork;
let pub: ReturnType<typeof publish>;
let browser: Browser;
const edges: EdgeNode[] = [];

before(async () => {
  net = await startNetwork({ intermediates: 1 });
  const ports = [await freePort(), await freePort()];
  const urls = ports.map((p) => `http://127.0.0.1:${p}`);
  for (const [i, port] of ports.entries()) {
    edges.push(
      await startEdge(
        edgeSchema.parse({
          nodeId: `edge-${i}`,
          clusterSecret: SECRET,
          http: { host: '127.0.0.1', port },
          upstream: { parents: [net.intermediates[0]!.url] },
          edgeSelection: { peers: [{ url: urls[1 - i]!, region: 'local' }] },
        }),
        logger,
      ),
    );
  }
  pub = publish(net.rtmpUrl, undefined, 300);
  await waitFor(
    'both edges carry the stream',
    async () => {
      for (const e of edges) if (!(await fetch(`${e.url}/live/cam/manifest.mpd`)).ok) return false;
      return true;
    },
    30_000,
  );
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await stop(pub);
  for (const e of edges) await e.close();
  await net?.close();
});

test(
  'when its edge stops, the WebSocket player moves to the other edge without a reload or a long stall',
  { timeout: 120_000 },
  async () => {
    const page = await browser.newPage();
    // The MSE player: the stall meter reads the <video>'s clock. Failover is the same code for the WebCodecs
    // player (WsPlayer's socket logic), which the WebCodecs test drives through a transcoder crash and restart.
    await page.goto(`${edges[0]!.url}/watch/cam?transport=ws&player=mse`);
    await page.evaluate(() => ((window as unknown as { pageMarker: number }).pageMarker = 42));
    await waitFor(
      'playing',
      async () => (await page.evaluate(() => document.querySelector('video')!.currentTime)) > 2,
      40_000,
      200,
    );
    // The list of other edges has arrived (the page asks for it as it starts).
    await waitFor(
      'the page knows the other edge',
      () => page.evaluate(() => fetch('/api/edges/cam').then((r) => r.ok)),
      5000,
    );
    await installStallMeter(page);
    const killedAt = await page.evaluate(() => document.querySelector('video')!.currentTime);
    await edges[0]!.close();
    await waitFor(
      'moved to the other edge',
      async () => (await page.evaluate(() => window.tiercast.edgeMoves())) >= 1,
      10_000,
      100,
    );
    await waitFor(
      'playing on',
      async () => (await page.evaluate(() => document.querySelector('video')!.currentTime)) > killedAt + 5,
      20_000,
      200,
    );
    const stalls = await readStalls(page);
    console.log(`edge failover (loopback): longest stall ${stalls.longestMs.toFixed(0)} ms`);
    assert.ok(stalls.longestMs < 2000, `longest stall ${stalls.longestMs} ms`);
    // Same page (no reload), still on the WebSocket player, live.
    assert.equal(await page.evaluate(() => (window as unknown as { pageMarker?: number }).pageMarker), 42);
    assert.equal(await page.evaluate(() => window.tiercast.transport), 'ws');
    assert.equal(await page.locator('#status').innerText(), 'Live');
    // Nothing missing: the media buffered since before the stop is one range (a hole would be a lost chunk);
    // the player told the new edge its last chunk, and it continued from the next.
    const ranges = await page.evaluate(() => window.tiercast.bufferedRanges());
    console.log(`buffered ${JSON.stringify(ranges)}, edge stopped at ${killedAt.toFixed(2)} s`);
    const since = ranges.filter(([, end]) => end > killedAt);
    assert.equal(since.length, 1, `a hole in the media after the move: ${JSON.stringify(ranges)}`);
    // It resumed after its last chunk: the new edge sent nothing it already had (a repeat would be dropped).
    console.log(`repeats dropped: ${await page.evaluate(() => window.tiercast.repeatsDropped())}`);
    await page.close();
  },
);
