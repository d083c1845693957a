/**
 * 4. Memory per connected viewer: the edge's RSS (/proc) as idle WebSocket viewers of a live stream join,
 * 1,000 → 10,000. "Idle": the stream is live and every viewer has its session, init segments and the
 * current segment's backlog, but no new media flows (the ingress's ffmpeg is paused with SIGSTOP while
 * the RTMP publisher keeps the stream up), so send buffers do not count as per-viewer memory.
 */
import type { BenchContext } from './lib/context.js';
import { CLIP } from './lib/context.js';
import { LoadGen } from './lib/load.js';
import { sourceClip } from './lib/media-files.js';
import { childPids, commOf, onCleanup, rssBytes, stop } from './lib/procs.js';
import type { Row, SectionResult } from './lib/report.js';
import { fmt, linearFit, sleep } from './lib/stats.js';
import { rtmpPublishUrl, startPair, STREAM, waitLive } from './lib/tiercast.js';
import { Inspector } from './lib/inspector.js';
import { publishClip } from './hop-latency.js';
import { metricSum, scrape } from './lib/metrics.js';

/** WebSocket viewers the edge itself counts (a handshake the load generator gave up on may still complete). */
async function edgeViewers(url: string): Promise<number> {
  return metricSum(await scrape(url), 'tiercast_edge_viewers', { transport: 'ws' });
}

export async function memory(ctx: BenchContext): Promise<Omit<SectionResult, 'seconds'>> {
  const clip = await sourceClip(CLIP.width, CLIP.height, CLIP.seconds, CLIP.kbps);
  // The edge runs with the inspector (loopback, port chosen by the kernel) so that each step is read
  // after a full GC, with the JS heap apart from the rest of the RSS.
  const { ingress, edge } = await startPair(
    { ladder: [{ id: 'v240', height: 240, videoBitrateKbps: 400 }], preset: 'ultrafast' },
    { nodeArgs: ['--inspect=127.0.0.1:0'] },
  );
  onCleanup(() => ingress.close());
  onCleanup(() => edge.close());
  const pub = publishClip(clip, [rtmpPublishUrl(ingress)]);
  onCleanup(() => stop(pub));
  await waitLive(edge.url);
  const load = new LoadGen();
  // One viewer first so that the edge holds the stream (subscribed, caches filled), then pause media.
  await load.request('ws', {
    group: 'warm',
    url: `${edge.url.replace('http', 'ws')}/live/${STREAM}/ws`,
    count: 1,
  });
  await sleep(ctx.pick(2500, 1500));
  const ffmpeg = childPids(ingress.pid).filter((p) => commOf(p) === 'ffmpeg');
  for (const p of ffmpeg) process.kill(p, 'SIGSTOP');
  onCleanup(() => {
    for (const p of ffmpeg) {
      try {
        process.kill(p, 'SIGCONT');
      } catch {
        // gone
      }
    }
  });
  await sleep(ctx.pick(1500, 500));
  const inspector = await Inspector.attach(() => edge.proc.output());
  onCleanup(() => inspector.close());
  const base = await edgeViewers(edge.url);
  const heap: Array<[number, number]> = [[base, (await inspector.gcAndHeap()).usedSize]];
  const steps = ctx.pick([1000, 2500, 5000, 7500, 10000], [1000, 2000]);
  await inspector.gcAndHeap();
  const points: Array<[number, number]> = [[base, rssBytes(edge.pid)]];
  let connected = 0;
  let failed = 0;
  for (const n of steps) {
    const r = await load.request<{ opened: number; failed: number; ms: number }>('ws', {
      group: `idle-${n}`,
      url: `${edge.url.replace('http', 'ws')}/live/${STREAM}/ws`,
      count: n - connected,
      concurrency: 200,
      measure: false,
    });
    connected = n;
    failed += r.failed;
    await sleep(ctx.pick(3000, 1000));
    const h = await inspector.gcAndHeap();
    await sleep(500);
    const rss = rssBytes(edge.pid);
    // The slope is taken over the viewers the edge holds, not the ones asked for (a few time out on a busy machine).
    const held = await edgeViewers(edge.url);
    points.push([held, rss]);
    heap.push([held, h.usedSize]);
    ctx.log(
      `memory: ${n} idle viewers asked, ${held} held by the edge (+${r.opened} in ${r.ms} ms), edge RSS ${fmt(rss / 2 ** 20, 1)} MiB after a full GC, JS heap ${fmt(h.usedSize / 2 ** 20, 1)} MiB`,
    );
  }
  const s = await load.stats();
  await load.close();
  const fitPts = points.slice(1);
  const fit = linearFit(
    fitPts.map(([n]) => n),
    fitPts.map(([, r]) => r),
  );
  const perViewer = fit.slope;
  const heapPts = heap.slice(1);
  const heapFit = linearFit(
    heapPts.map(([n]) => n),
    heapPts.map(([, b]) => b),
  );
  const rows: Row[] = [
    {
      section: 'memory',
      what: `RSS per idle connected viewer (slope ${steps[0]} → ${steps[steps.length - 1]})`,
      tiercast: `${fmt(perViewer / 1024, 1)} KB`,
      peer: 'n/a (no connected viewers: HTTP polling)',
      target: '≤ 8 KB',
      met: Number.isFinite(perViewer) && perViewer <= 8 * 1024,
    },
  ];
  const notes = [
    `edge RSS: ${points.map(([n, r]) => `${n} → ${fmt(r / 2 ** 20, 1)} MiB`).join(', ')}; viewers as counted by the edge (tiercast_edge_viewers) after each step; least-squares slope ${fmt(perViewer, 0)} bytes/viewer (r² ${fmt(fit.r2, 3)}); ${failed} handshakes timed out in the load generator, ${s.closed} closed by the edge during the ramp.`,
    `of which JS heap (after a full GC): ${heap.map(([n, b]) => `${n} → ${fmt(b / 2 ** 20, 1)} MiB`).join(', ')}; slope ${fmt(heapFit.slope, 0)} bytes/viewer. The rest of the slope is native: uWebSockets.js sockets and their buffers, malloc.`,
    'Each viewer received info, the init segments and the current segment backlog (one 240p rendition + audio) before media stopped; RSS is read after a full GC of the edge (inspector on loopback).',
  ];
  inspector.close();
  await stop(pub);
  await edge.close();
  await ingress.close();
  return {
    name: 'memory per viewer',
    rows,
    notes,
    plots: [
      {
        file: 'bench-memory-rss.svg',
        title: 'Edge RSS vs idle connected WebSocket viewers',
        xLabel: 'viewers',
        yLabel: 'RSS (MiB)',
        series: [{ name: 'tiercast edge', points: points.map(([n, r]) => [n, r / 2 ** 20]) }],
      },
    ],
  };
}
