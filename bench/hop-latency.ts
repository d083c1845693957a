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
  const [ingress, i1, i2, i3, e0, e1, e3] = await Promise.all([
    startIngressProc({ ladder: LIGHT_LADDER, preset: 'ultrafast', port: ports[0] }),
    startIntermediateProc(url(0), { port: ports[1] }),
    startIntermediateProc(url(1), { port: ports[2] }),
    startIntermediateProc(url(2), { port: ports[3] }),
    startEdgeProc(url(0)),
    startEdgeProc(url(1)),
    startEdgeProc(url(3)),
  ]).then((l) => l.map(keep));
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
  /** One window: the differences of every chunk seen on E0 and on E1 / E3. */
  const measure = async (): Promise<{ one: number[]; three: number[]; seconds: number }> => {
    for (const a of arrivals) a.clear();
    recording = true;
    const t0 = nowMs();
    await sleep(window);
    recording = false;
    const one: number[] = [];
    const three: number[] = [];
    for (const [k, t] of arrivals[0]!) {
      const a1 = arrivals[1]!.get(k);
      const a3 = arrivals[2]!.get(k);
      if (a1 !== undefined) one.push(a1 - t);
      if (a3 !== undefined) three.push(a3 - t);
    }
    return { one, three, seconds: (nowMs() - t0) / 1000 };
  };
  const { one, three, seconds } = await measure();

  for (const v of viewers) v.close();
  // The relays' own part: the time each intermediate spent in its code from a chunk's arrival callback
  // to its last send (tiercast_relay_forward_seconds), without the wait for a core that the differences
  // above include (7 Node processes and ffmpeg on 2 cores). Pinning the relays to one core and the rest to
  // the other was tried: it serialised six processes on one core and made the tail worse.
  const read = async (metric: string) =>
    mergeBuckets(await Promise.all([i1!, i2!, i3!].map((n) => forwardHistogram(n, metric))));
  const merged = await read('tiercast_relay_forward_seconds');
  const f50 = bucketQuantile(merged, 0.5);
  const f99 = bucketQuantile(merged, 0.99);
  const cpu = await read('tiercast_relay_forward_cpu_seconds');
  const c50 = bucketQuantile(cpu, 0.5);
  const c99 = bucketQuantile(cpu, 0.99);
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
    {
      section: 'relay tier',
      what: "the relay's own work per chunk, arrival → last send (3 intermediates): CPU time p50 · p99 (wall time p50 · p99)",
      tiercast: `≤ ${fmt(c50 * 1000, 2)} · ≤ ${fmt(c99 * 1000, 2)} ms (≤ ${fmt(f50 * 1000, 2)} · ≤ ${fmt(f99 * 1000, 2)} ms)`,
      peer: 'n/a',
      target: '≤ 1 ms p99',
      met: cpu.count > 0 && c99 <= 0.001,
    },
  ];
  const notes = [
    `${s1.n} chunks compared over ${fmt(seconds)} s (ladder ${LIGHT_LADDER.map((r) => r.id).join('+')}+audio, ~${fmt(one.length / (window / 1000), 1)} chunks/s per viewer); 0 tiers is the baseline every difference is taken from.`,
    `1 tier: min ${fmt(s1.min, 2)} ms, p50 ${fmt(s1.p50, 2)}, p95 ${fmt(s1.p95, 2)}, p99 ${fmt(s1.p99, 2)}, max ${fmt(s1.max, 2)} ms. 3 tiers: min ${fmt(s3.min, 2)}, p50 ${fmt(s3.p50, 2)}, p95 ${fmt(s3.p95, 2)}, p99 ${fmt(s3.p99, 2)}, max ${fmt(s3.max, 2)} ms.`,
    'Each relay is a process of its own (7 Node processes and ffmpeg on 2 cores): a p99 above a millisecond is mostly a relay waiting for a core, see the analysis.',
    `The relays' own work per chunk, from a chunk's arrival callback to its last send (histograms of i1, i2, i3, upper bucket bounds, ${merged.count} chunks): CPU time (tiercast_relay_forward_cpu_seconds) p50 ≤ ${fmt(c50 * 1e6, 0)} µs, p99 ≤ ${fmt(c99 * 1e6, 0)} µs; wall time (tiercast_relay_forward_seconds, which also counts being preempted in the middle) p50 ≤ ${fmt(f50 * 1e6, 0)} µs, p99 ≤ ${fmt(f99 * 1e6, 0)} µs. The rest of a tier's latency is the kernel's loopback and the wait for a core.`,
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

interface Buckets {
  /** Upper bounds (s) with cumulative counts, ascending; +Inf last. */
  le: Array<[number, number]>;
  count: number;
}

/** One of a relay's histograms (tiercast_relay_forward_seconds, …_cpu_seconds), read from its /metrics. */
async function forwardHistogram(n: NodeProc, metric: string): Promise<Buckets> {
  const base = n.url.replace(/^ws/, 'http');
  const text = await (await fetch(`${base}/metrics`)).text();
  const le: Array<[number, number]> = [];
  const line = new RegExp(`^${metric}_bucket\\{(?:[^}]*,)?le="([^"]+)"[^}]*\\} (\\d+)`, 'gm');
  for (const m of text.matchAll(line)) le.push([m[1] === '+Inf' ? Infinity : Number(m[1]), Number(m[2])]);
  le.sort((a, b) => a[0] - b[0]);
  return { le, count: le.at(-1)?.[1] ?? 0 };
}

function mergeBuckets(all: Buckets[]): Buckets {
  const le = (all[0]?.le ?? []).map(([b]) => [b, 0] as [number, number]);
  for (const h of all) h.le.forEach(([, c], i) => le[i] && (le[i][1] += c));
  return { le, count: le.at(-1)?.[1] ?? 0 };
}

/** The upper bound of the bucket that holds quantile q. */
function bucketQuantile(h: Buckets, q: number): number {
  const rank = q * h.count;
  return h.le.find(([, c]) => c >= rank)?.[0] ?? NaN;
}
