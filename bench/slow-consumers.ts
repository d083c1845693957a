/**
 * 7. Slow-consumer isolation. N WebSocket viewers of the 2-rendition stream at one edge; then 10 % more
 * viewers that read at a tenth of the stream's bitrate join. The others' latency (chunk arrival −
 * ingressTime, i.e. ingress → viewer) and drops are compared between the phases: without slow viewers,
 * with them (once the edge is skipping segments for them), and without them again (full run).
 */
import type { BenchContext } from './lib/context.js';
import type { LoadStats } from './lib/load.js';
import { edgeDropped } from './lib/metrics.js';
import type { Row, SectionResult } from './lib/report.js';
import { fmt, sleep } from './lib/stats.js';
import { STREAM } from './lib/tiercast.js';
import type { Rig } from './fanout.js';

export async function slowConsumers(ctx: BenchContext, rig: Rig): Promise<Omit<SectionResult, 'seconds'>> {
  const normal = ctx.pick(180, 45);
  const slow = Math.round(normal / 9);
  const window = ctx.pick(20, 3) * 1000;
  const url = `${rig.edge.url.replace('http', 'ws')}/live/${STREAM}/ws`;
  await rig.load.request('ws', { group: 'normal', url, count: normal });
  await sleep(ctx.pick(3000, 1000));
  const measure = async (label: string): Promise<LoadStats> => {
    await rig.load.stats('normal', true);
    await sleep(window);
    const s = await rig.load.stats('normal', true);
    ctx.log(
      `slow: ${label}: p50 ${fmt(s.latency.p50, 1)} ms, p95 ${fmt(s.latency.p95, 1)} ms, drops ${s.gaps + s.skipped + s.closed}`,
    );
    return s;
  };
  const a = await measure('without slow viewers');
  const bytesPerViewer = a.bytes / (window / 1000) / normal;
  const slowRate = Math.round(bytesPerViewer / 10);
  const dropped0 = await edgeDropped(rig.edge.url);
  await rig.load.request('ws', {
    group: 'slow',
    url,
    count: slow,
    readBytesPerSec: slowRate,
    measure: false,
  });
  const until = Date.now() + ctx.pick(40_000, 6_000);
  while (Date.now() < until && (await edgeDropped(rig.edge.url)) - dropped0 < slow) await sleep(500);
  const skippingAfter = (await edgeDropped(rig.edge.url)) - dropped0;
  ctx.log(`slow: ${slow} slow viewers at ${fmt(slowRate / 1000)} KB/s; edge skips so far: ${skippingAfter}`);
  const b = await measure('with slow viewers');
  const slowStats = await rig.load.stats('slow');
  await rig.load.request('close', { group: 'slow' });
  let a2: LoadStats | undefined;
  if (!ctx.quick) {
    await sleep(2000);
    a2 = await measure('without slow viewers again');
  }
  await rig.load.request('close', { group: 'normal' });
  const base95 = a2 ? (a.latency.p95 + a2.latency.p95) / 2 : a.latency.p95;
  const change = (b.latency.p95 - base95) / base95;
  const drops = (s: LoadStats) => s.gaps + s.skipped + s.closed;
  const rows: Row[] = [
    {
      section: 'slow consumers',
      what: `others' p95 latency without → with 10 % slow viewers (${normal} + ${slow})`,
      tiercast: `${fmt(base95, 1)} → ${fmt(b.latency.p95, 1)} ms (${change >= 0 ? '+' : ''}${fmt(change * 100, 1)} %)`,
      peer: 'n/a (no push path)',
      target: '≤ 5 % change',
      met: Math.abs(change) <= 0.05,
    },
    {
      section: 'slow consumers',
      what: "others' drops without → with slow viewers",
      tiercast: `${drops(a)}${a2 ? ` / ${drops(a2)}` : ''} → ${drops(b)}`,
      peer: 'n/a',
      target: 'no change',
      met: drops(b) === 0 && drops(a) === 0,
    },
  ];
  const notes = [
    `Latency is chunk arrival at the viewer − the chunk's ingressTime (ingress → viewer, transcoding included). Without: p50 ${fmt(a.latency.p50, 1)}, p95 ${fmt(a.latency.p95, 1)}, p99 ${fmt(a.latency.p99, 1)} ms${a2 ? `; again without: p50 ${fmt(a2.latency.p50, 1)}, p95 ${fmt(a2.latency.p95, 1)} ms` : ''}; with: p50 ${fmt(b.latency.p50, 1)}, p95 ${fmt(b.latency.p95, 1)}, p99 ${fmt(b.latency.p99, 1)} ms.`,
    `Edge part only (edge receipt → viewer, ms resolution): p95 ${fmt(a.edgeLatency.p95, 1)} → ${fmt(b.edgeLatency.p95, 1)} ms, p99 ${fmt(a.edgeLatency.p99, 1)} → ${fmt(b.edgeLatency.p99, 1)} ms.`,
    `Slow viewers read ${fmt(slowRate / 1000, 1)} KB/s (a tenth of ${fmt(bytesPerViewer / 1000, 1)} KB/s); the edge skipped ${skippingAfter} segments for them before the measured phase, they saw ${slowStats.skipped} "skipped" notices and ${slowStats.closed} closes in all.`,
  ];
  return { name: 'slow-consumer isolation', rows, notes, plots: [] };
}
