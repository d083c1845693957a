/**
 * The HTTP players survive their edge, in a real Chromium: two edges under the same intermediate know each
 * other; the watch page plays from the first with hls.js (LL-HLS) or dash.js (LL-DASH); that edge's process
 * is killed under it (every connection drops, as when a host dies: an edge closing in-process would keep
 * the browser's open keep-alive connections). The player sends its requests to the other edge from then on, on the same page and the same
 * video element: the longest stall (read from the video element's clock), no hole in the buffered media,
 * no seek (a jump over missing media, or back to replay some), and the media coming from the other edge.
 * (The WebSocket player: edge-failover.test.ts.)
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
import { cliEnv, freePort } from '../helpers/hub-process.js';
import { launchChromium } from '../helpers/browser.js';
import { installStallMeter, readStalls } from '../helpers/stall-meter.js';
import { pictureTime } from '../helpers/watch-page.js';

let net: TestNetwork;
let pub: ReturnType<typeof publish>;
let browser: Browser;
const opened: EdgeNode[] = [];
const processes: ChildProcess[] = [];
const dir = mkdtempSync(join(tmpdir(), 'tiercast-edge-failover-'));

before(async () => {
  net = await startNetwork({ intermediates: 1 });
  pub = publish(net.rtmpUrl, undefined, 300);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await stop(pub);
  for (const p of processes) await kill(p);
  for (const e of opened) await e.close();
  await net?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function kill(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  p.kill('SIGKILL');
  await new Promise((r) => p.once('exit', r));
}

/**
 * Two edges that list each other as the place to go: the first a `node-role edge` process (to be killed),
 * the second in this process.
 */
async function edgePair(): Promise<{ first: { url: string; proc: ChildProcess }; second: EdgeNode }> {
  const ports = [await freePort(), await freePort()] as const;
  const urls = ports.map((p) => `http://127.0.0.1:${p}`);
  const config = (i: number) => ({
    nodeId: `edge-${ports[i]}`,
    clusterSecret: SECRET,
    http: { host: '127.0.0.1', port: ports[i] },
    upstream: { parents: [net.intermediates[0]!.url] },
    edgeSelection: { peers: [{ url: urls[1 - i]!, region: 'local' }] },
  });
  const file = join(dir, `edge-${ports[0]}.json`);
  writeFileSync(file, JSON.stringify(config(0)));
  const proc = spawn(process.execPath, ['bin/node-role.js', 'edge', '-c', file], {
    env: cliEnv,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  processes.push(proc);
  const second = await startEdge(edgeSchema.parse(config(1)), logger);
  opened.push(second);
  await waitFor(
    'the first edge carries the stream',
    async () => (await fetch(`${urls[0]}/live/cam/manifest.mpd`).catch(() => undefined))?.ok,
    30_000,
  );
  return { first: { url: urls[0]!, proc }, second };
}

for (const transport of ['hls', 'dash'] as const) {
  test(
    `when its edge stops, the ${transport} player continues from the other edge without a reload or a long stall`,
    { timeout: 120_000 },
    async () => {
      const { first, second } = await edgePair();
      const page = await browser.newPage();
      await page.goto(`${first.url}/watch/cam?transport=${transport}`);
      await page.evaluate(() => ((window as unknown as { pageMarker: number }).pageMarker = 42));
      // Settled: 3 s of playback (dash.js's clock is the stream's, already far from 0 as it starts).
      await waitFor('playing', async () => (await pictureTime(page)) > 0, 40_000, 200);
      const startedAt = await pictureTime(page);
      await waitFor('playing for 3 s', async () => (await pictureTime(page)) > startedAt + 3, 20_000, 200);
      assert.equal(await page.evaluate(() => window.tiercast.transport), transport);
      assert.equal(await page.evaluate(() => window.tiercast.edge()), first.url);
      await waitFor(
        'the page knows the other edge',
        () => page.evaluate(() => fetch('/api/edges/cam').then((r) => r.ok)),
        5000,
      );
      await installStallMeter(page);
      // A seek after the move would be the player jumping over missing media or back to replay some. The
      // resource timings are cleared so that the requests after the move find room (250 by default).
      await page.evaluate(`(() => {
        performance.clearResourceTimings();
        window.seeks = 0;
        document.querySelector('video').addEventListener('seeking', () => window.seeks++);
      })()`);
      const killedAt = await pictureTime(page);
      await kill(first.proc);
      await waitFor(
        'moved to the other edge',
        async () => (await page.evaluate(() => window.tiercast.edgeMoves())) >= 1,
        10_000,
        100,
      );
      // dash.js checks its clock again half a minute after the first check, with a request of its own: it
      // must find this edge's clock, not the dead one's.
      const playOn = transport === 'dash' ? 32 : 6;
      await waitFor('playing on', async () => (await pictureTime(page)) > killedAt + playOn, 45_000, 200);
      const stalls = await readStalls(page);
      console.log(
        `${transport} edge failover (loopback): longest stall ${stalls.longestMs.toFixed(0)} ms ` +
          `(${stalls.samples} samples)`,
      );
      assert.ok(stalls.longestMs < 2000, `longest stall ${stalls.longestMs} ms`);
      // Same page (no reload), same transport, from the other edge, live.
      assert.equal(await page.evaluate(() => (window as unknown as { pageMarker?: number }).pageMarker), 42);
      assert.equal(await page.evaluate(() => window.tiercast.transport), transport);
      assert.equal(await page.evaluate(() => window.tiercast.edge()), second.url);
      assert.equal(await page.evaluate(() => window.tiercast.edgeMoves()), 1);
      assert.equal(await page.evaluate(() => window.tiercast.fallbacks.length), 0);
      assert.equal(await page.locator('#status').innerText(), 'Live');
      const fromSecond = await page.evaluate(
        (origin) =>
          performance.getEntriesByType('resource').filter((e) => e.name.startsWith(`${origin}/live/cam/`))
            .length,
        second.url,
      );
      assert.ok(fromSecond > 5, `${fromSecond} requests to the other edge`);
      const clocks = await page.evaluate(
        (origin) =>
          performance.getEntriesByType('resource').filter((e) => e.name.startsWith(`${origin}/time`)).length,
        second.url,
      );
      // The latency read-out's clock is the edge in use: hls.js's page asks it after the move, dash.js with
      // its MPD refresh, 30 s on.
      assert.ok(clocks >= 1, 'the clock is asked of the edge in use');
      // The other edge's "not here" is readable from this page too (CORS on errors): a 404 is the stream
      // missing there, not the edge gone.
      const missing = await page.evaluate(
        (origin) => fetch(`${origin}/live/cam/v360/999999.m4s`).then((r) => r.status),
        second.url,
      );
      assert.equal(missing, 404);
      // Nothing missing: the media buffered since before the stop is one range (a hole is a lost part);
      // nothing replayed or skipped: no seek.
      const ranges = await page.evaluate(() => window.tiercast.bufferedRanges());
      console.log(`buffered ${JSON.stringify(ranges)}, edge stopped at ${killedAt.toFixed(2)} s`);
      const since = ranges.filter(([, end]) => end > killedAt);
      assert.equal(since.length, 1, `a hole in the media after the move: ${JSON.stringify(ranges)}`);
      assert.equal(await page.evaluate('window.seeks'), 0, 'the player seeked after the move');
      await page.close();
    },
  );
}
