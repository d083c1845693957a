/**
 * 2. Latency added per relay tier. One chain ingress → i1 → i2 → i3 (each a process of its own) and
 * three edges: E0 on the ingress, E1 on i1, E3 on i3. One WebSocket viewer per edge, all three in this
 * process, timestamps chunk arrivals with performance.now(); for every chunk the differences
 * t(E1) − t(E0) (one tier) and t(E3) − t(E0) (three tiers) are the latency the tiers add: everything
 * else (ingress, edge, delivery, the viewer) is common to the three paths and cancels out.
 */
import type { BenchContext } from './lib/context.js';
import { CLIP } from './lib/context.js';
import { newCounters, WsViewer } from './lib/load-clients.js';
import { sourceClip } from './lib/media-files.js';
import { onCleanup, start, stop } from './lib/procs.js';
import { type Row, type SectionResult } from './lib/report.js';
import { fmt, nowMs, sleep, summarize } from './lib/stats.js';
import {
  rtmpPublishUrl,
  startEdgeProc,
  startIngressProc,
  startIntermediateProc,
  STREAM,
  waitLive,
  type NodeProc,
} from './lib/tiercast.js';
import { freePort } from './lib/peer.js';

export const LIGHT_LADDER = [
  { id: 'v360', height: 360, videoBitrateKbps: 700 },
  { id: 'v240', height: 240, videoBitrateKbps: 400 },
];

/** Publishes the cached clip (copy, no re-encode: the cheapest possible publisher) in a loop. */
export function publishClip(clip: string, urls: string[]) {
  const tee = urls.map((u) => `[f=flv:flvflags=no_duration_filesize:onfail=ignore]${u}`).join('|');
  return start('ffmpeg', [
    '-hide_banner',
    '-loglevel',
    'error',
    '-nostdin',
    '-re',
    '-stream_loop',
    '-1',
    '-i',
    clip,
    '-map',
    '0',
    '-c',
    'copy',
    '-f',
    'tee',
    tee,
  ]);
}

export async function hopLatency(ctx: BenchContext): Promise<Omit<SectionResult, 'seconds'>> {
  const window = ctx.pick(40, 4) * 1000;
  const clip = await sourceClip(CLIP.width, CLIP.height, CLIP.seconds, CLIP.kbps);
  const procs: NodeProc[] = [];
  const keep = (n: NodeProc) => {
    procs.push(n);
    onCleanup(() => n.close());
    return n;
  };
  // The whole chain starts at once on ports chosen beforehand; children retry until their parent is up.
  const ports = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const url = (i: number) => `ws://127.0.0.1:${ports[i]}`;
  const [ingress, , , i3, e0, e1, e3] = await Promise.all([
    startIngressProc({ ladder: LIGHT_LADDER, preset: 'ultrafast', port: ports[0] }),
    startIntermediateProc(url(0), { port: ports[1] }),
    startIntermediateProc(url(1), { port: ports[2] }),
    startIntermediateProc(url(2), { port: ports[3] }),
    startEdgeProc(url(0)),
    startEdgeProc(url(1)),
    startEdgeProc(url(3)),
  ]).then((l) => l.map(keep));
  void i3;
  const pub = publishClip(clip, [rtmpPublishUrl(ingress!)]);
  onCleanup(() => stop(pub));
  await Promise.all([e0!, e1!, e3!].map((e) => waitLive(e.url)));
  ctx.log(`hop: chain of 3 intermediates live; measuring ${window / 1000} s`);

  const arrivals = [new Map<string, number>(), new Map<string, number>(), new Map<string, number>()];
  let recording = false;
  const viewers = [e0!, e1!, e3!].map((e, i) => {
    const u = new URL(e.url);
    return new WsViewer({
      host: u.hostname,
      port: Number(u.port),
      path: `/live/${STREAM}/ws`,
      counters: newCounters(),
      readBytesPerSec: 0,
      measure: false,
      onChunk: (r, s, c, at) => {
        if (recording) arrivals[i]!.set(`${r}/${s}/${c}`, at);
      },
    });
  });
  await Promise.all(viewers.map((v) => v.opened));
  await sleep(ctx.pick(3000, 1000));
  recording = true;
  const t0 = nowMs();
  await sleep(window);
  recording = false;
  for (const v of viewers) v.close();
  const one: number[] = [];
  const three: number[] = [];
  for (const [k, t] of arrivals[0]!) {
    const a1 = arrivals[1]!.get(k);
    const a3 = arrivals[2]!.get(k);
    if (a1 !== undefined) one.push(a1 - t);
    if (a3 !== undefined) three.push(a3 - t);
  }
  const s1 = summarize(one);
  const s3 = summarize(three);
  const perHop = three.map((d) => d / 3);
  const sp = summarize(perHop);
  const rows: Row[] = [
    {
      section: 'relay tier',
      what: 'added by 1 tier (E1 − E0) p50 · p99',
      tiercast: `${fmt(s1.p50, 2)} · ${fmt(s1.p99, 2)} ms`,
      peer: 'n/a (no relay tiers)',
      target: '≤ 1 ms p99',
      met: s1.n > 0 && s1.p99 <= 1,
    },
    {
      section: 'relay tier',
      what: 'added by 3 tiers (E3 − E0) p50 · p99, per tier',
      tiercast: `${fmt(s3.p50, 2)} · ${fmt(s3.p99, 2)} ms (${fmt(sp.p50, 2)} · ${fmt(sp.p99, 2)} ms per tier)`,
      peer: 'n/a',
      target: '≤ 1 ms p99 per tier',
      met: sp.n > 0 && sp.p99 <= 1,
    },
  ];
  const notes = [
    `${s1.n} chunks compared over ${fmt((nowMs() - t0) / 1000)} s (ladder ${LIGHT_LADDER.map((r) => r.id).join('+')}+audio, ~${fmt(one.length / (window / 1000), 1)} chunks/s per viewer); 0 tiers is the baseline every difference is taken from.`,
    `1 tier: min ${fmt(s1.min, 2)} ms, p50 ${fmt(s1.p50, 2)}, p95 ${fmt(s1.p95, 2)}, p99 ${fmt(s1.p99, 2)}, max ${fmt(s1.max, 2)} ms. 3 tiers: min ${fmt(s3.min, 2)}, p50 ${fmt(s3.p50, 2)}, p95 ${fmt(s3.p95, 2)}, p99 ${fmt(s3.p99, 2)}, max ${fmt(s3.max, 2)} ms.`,
    'Each relay is a process of its own (7 Node processes and ffmpeg on 2 cores): a p99 above a millisecond is mostly a relay waiting for a core, see the analysis.',
  ];
  await stop(pub);
  for (const n of procs.reverse()) await n.close();
  return {
    name: 'latency per relay tier',
    rows,
    notes,
    plots: [
      {
        file: 'bench-hop-latency.svg',
        title: 'Latency added by relay tiers (CDF)',
        xLabel: 'added latency (ms)',
        yLabel: 'fraction of chunks',
        series: [
          { name: '1 tier (E1 − E0)', points: cdfPts(one) },
          { name: '3 tiers (E3 − E0)', points: cdfPts(three) },
        ],
      },
    ],
  };
}

function cdfPts(v: number[]): Array<[number, number]> {
  const s = [...v].sort((a, b) => a - b);
  const step = Math.max(1, Math.floor(s.length / 200));
  const out: Array<[number, number]> = [];
  for (let i = 0; i < s.length; i += step) out.push([s[i]!, (i + 1) / s.length]);
  return out;
}
