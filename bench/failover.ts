/**
 * 8. Viewer failover between edges: two edges under one ingress know each other (`edgeSelection.peers`);
 * a watch page in Chromium plays from one; that edge's process is killed (SIGKILL: no goodbye to its
 * viewers) and the player moves to the other edge without a reload. Measured per kill: the longest time
 * the video element's clock stood still (sampled every animation frame inside the page, not the player's
 * own report), and whether the page stayed the same page on the same transport. The killed edge is
 * started again on its port before the next round, and the next round kills the other one.
 * Loopback only: a cut link (rather than a dead process) is in test/netns/edge-regions.test.ts.
 */
import type { Page } from 'playwright-core';
import type { BenchContext } from './lib/context.js';
import { launchChromium } from './lib/browser.js';
import { freePort } from './lib/peer.js';
import { onCleanup, startClockPublisher, stop } from './lib/procs.js';
import type { Row, SectionResult } from './lib/report.js';
import { fmt, sleep, summarize } from './lib/stats.js';
import {
  rtmpPublishUrl,
  startEdgeProc,
  startIngressProc,
  STREAM,
  waitLive,
  type NodeProc,
} from './lib/tiercast.js';
import { installStallMeter, readStalls } from '../test/helpers/stall-meter.js';

/** The transports whose players move between edges (the watch page's `?transport=`). */
const TRANSPORTS = ['ws', 'hls', 'dash'] as const;
const PUBLISHER = { width: 640, height: 360, fps: 30, kbps: 1000, preset: 'veryfast' };

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > end) throw new Error(`failover: ${what} not within ${timeoutMs} ms`);
    await sleep(100);
  }
}

const currentTime = (page: Page) => page.evaluate<number>('document.querySelector("video").currentTime');

interface Round {
  transport: string;
  longestMs: number;
  samePage: boolean;
  sameTransport: boolean;
}

export async function edgeFailover(ctx: BenchContext): Promise<Omit<SectionResult, 'seconds'>> {
  const rounds = ctx.pick(10, 2);
  const ingressPort = await freePort();
  const parent = `ws://127.0.0.1:${ingressPort}`;
  const ports = [await freePort(), await freePort()];
  const peerOf = (i: number) => ({ peers: [{ url: `http://127.0.0.1:${ports[1 - i]}`, region: 'local' }] });
  const startEdge = (i: number) => startEdgeProc(parent, { port: ports[i], edgeSelection: peerOf(i) });
  const ingress = await startIngressProc({
    port: ingressPort,
    ladder: [{ id: 'v360', height: 360, videoBitrateKbps: 800 }],
  });
  onCleanup(() => ingress.close());
  const edges: NodeProc[] = [await startEdge(0), await startEdge(1)];
  onCleanup(() => Promise.all(edges.map((e) => e.close())).then(() => undefined));
  const pub = startClockPublisher(PUBLISHER, [rtmpPublishUrl(ingress)]);
  for (const e of edges) await waitLive(e.url);
  const browser = await launchChromium();
  onCleanup(() => browser.close());

  const results: Round[] = [];
  for (const transport of TRANSPORTS)
    for (let r = 0; r < rounds; r++) {
      const victim = r % 2;
      const page = await browser.newPage();
      await page.goto(`${edges[victim]!.url}/watch/${STREAM}?transport=${transport}`);
      await page.evaluate('window.pageMarker = 42');
      await until('playing', async () => (await currentTime(page)) > 3, 30_000);
      await until(
        'the page knows the other edge',
        () => page.evaluate<boolean>(`fetch('/api/edges/${STREAM}').then((r) => r.ok)`),
        5000,
      );
      await installStallMeter(page);
      const killedAt = await currentTime(page);
      const moves0 = await page.evaluate<number>('window.tiercast.edgeMoves()');
      edges[victim]!.proc.kill('SIGKILL');
      await edges[victim]!.proc.exited;
      await until(
        'moved to the other edge',
        async () => (await page.evaluate<number>('window.tiercast.edgeMoves()')) > moves0,
        10_000,
      );
      await until('playing on', async () => (await currentTime(page)) > killedAt + 4, 20_000);
      const stalls = await readStalls(page);
      results.push({
        transport,
        longestMs: stalls.longestMs,
        samePage: (await page.evaluate('window.pageMarker')) === 42,
        sameTransport: (await page.evaluate<string>('window.tiercast.transport')) === transport,
      });
      ctx.log(`failover ${transport} round ${r + 1}/${rounds}: longest stall ${fmt(stalls.longestMs)} ms`);
      await page.close();
      edges[victim] = await startEdge(victim);
      await waitLive(edges[victim].url);
    }
  await browser.close();
  await stop(pub);
  for (const e of edges) await e.close();
  await ingress.close();

  const rows: Row[] = [];
  const notes: string[] = [];
  for (const transport of TRANSPORTS) {
    const mine = results.filter((x) => x.transport === transport);
    const S = summarize(mine.map((x) => x.longestMs));
    const intact = mine.every((x) => x.samePage && x.sameTransport);
    rows.push({
      section: 'edge failover',
      what: `viewer's edge killed: longest stall p50 · p95 · max over ${mine.length} kills (${transport} player, loopback)`,
      tiercast: `${fmt(S.p50)} · ${fmt(S.p95)} · ${fmt(S.max)} ms${intact ? '' : ' (a page reloaded or changed transport)'}`,
      peer: 'n/a (no viewer failover: the load balancer moves viewers)',
      target: '≤ 2 s p95, no reload',
      met: mine.length > 0 && S.p95 <= 2000 && intact,
    });
    notes.push(
      `${transport}: longest stall per kill ${mine.map((x) => fmt(x.longestMs)).join(', ')} ms; ` +
        `${mine.filter((x) => x.samePage).length}/${mine.length} on the same page, ${mine.filter((x) => x.sameTransport).length}/${mine.length} on the same transport.`,
    );
  }
  notes.push(
    `Publisher ${PUBLISHER.width}x${PUBLISHER.height} ${PUBLISHER.fps} fps, ladder v360 + audio; each page played 3 s on its edge before the kill and 4 s of media after it.`,
  );
  return { name: 'edge failover', rows, notes, plots: [] };
}
