/**
 * 3. Edge fan-out efficiency. One 2-rendition stream (v720 2.5 Mbit/s + v360, with audio) at one edge
 * process; N viewers in load-generator processes (load-worker.ts, one per 2,500 clients); server and
 * generator CPU from /proc. Steps up N until a step drops chunks (or a process saturates). The same N as HTTP clients: tiercast's LL-DASH
 * (one request per rendition held on the live segment) and nginx serving nginx-rtmp's HLS fragments of
 * the same source (same bitrate) from disk with sendfile. And tiercast's LL-HLS at the same N: per rendition a
 * blocking playlist reload and a part request every part, as hls.js in lowLatencyMode does.
 */
import type { BenchContext } from './lib/context.js';
import { CLIP } from './lib/context.js';
import { readFileSync } from 'node:fs';
import { LoadGen, LoadPool, type PoolStats } from './lib/load.js';
import { sourceClip } from './lib/media-files.js';
import { edgeDropped, metricSum, scrape } from './lib/metrics.js';
import { startPeer, waitPeerLive, PEER_STREAM, type Peer } from './lib/peer.js';
import { CpuMeter, onCleanup, stop, systemCpuTicks } from './lib/procs.js';
import type { Plot, Row, SectionResult } from './lib/report.js';
import { fmt, sleep } from './lib/stats.js';
import { rtmpPublishUrl, startPair, STREAM, waitLive, type NodeProc } from './lib/tiercast.js';
import { publishClip } from './hop-latency.js';

export const FANOUT_LADDER = [
  { id: 'v720', height: 720, videoBitrateKbps: 2500 },
  { id: 'v360', height: 360, videoBitrateKbps: 700 },
];

export interface StepResult {
  n: number;
  bytes: number;
  serverCpu: number;
  wall: number;
  /** CPU seconds of all load-generator processes, and of each. */
  loadCpu: number;
  loadCpuEach: number[];
  /** Busy fraction of the whole machine (all cores) over the window. */
  machineBusy: number;
  drops: number;
  /** WebSocket handshakes that failed or timed out. */
  failed: number;
  /** WebSocket viewers that got clearly fewer chunks than the median viewer. */
  short: number;
  /** Fewest and most media chunks per second one WebSocket viewer got in the window. */
  minChunkRate: number;
  maxChunkRate: number;
  /** Chunks per second the edge received from upstream (all renditions) in the window. */
  sourceChunkRate: number;
  /** The edge's upstream reconnections from the first viewer's connect to the window's end. */
  reconnects: number;
  /** Seconds from the clients' open to the window's start (the edge's input back at its steady rate). */
  settled: number;
  gaps: number;
  skipped: number;
  closed: number;
  notFound: number;
  /** Bytes per server CPU-second. */
  perCpu: number;
  /** Delivered bytes per second per viewer. */
  perViewerBps: number;
  /** HTTP requests the clients made. */
  requests: number;
  /** Bytes of playlist responses (LL-HLS), included in `bytes`. */
  playlistBytes: number;
}

export interface Rig {
  peer: Peer;
  ingress: NodeProc;
  edge: NodeProc;
  load: LoadGen;
  /** The fan-out's generators; its first process is `load`. */
  pool: LoadPool;
  /** The edge's input in chunks per second (all renditions) at the first fan-out step. */
  chunkRate?: number;
  close(): Promise<void>;
}

/** ingress (2 renditions) + one edge process + the peer, fed by the same clip; a load generator. */
export async function startRig(
  ctx: BenchContext,
  o: { viewer?: Record<string, unknown>; edgeNodeArgs?: string[]; ingressNodeArgs?: string[] } = {},
): Promise<Rig> {
  const clip = await sourceClip(CLIP.width, CLIP.height, CLIP.seconds, CLIP.kbps);
  // ultrafast: the transcoder is not what is measured here, and the two cores are needed by the edge and
  // the load generator.
  const [peer, { ingress, edge }] = await Promise.all([
    startPeer(),
    startPair(
      { ladder: FANOUT_LADDER, preset: 'ultrafast', nodeArgs: o.ingressNodeArgs },
      { viewer: o.viewer, nodeArgs: o.edgeNodeArgs },
    ),
  ]);
  onCleanup(() => peer.close());
  onCleanup(() => ingress.close());
  onCleanup(() => edge.close());
  const pub = publishClip(clip, [rtmpPublishUrl(ingress), peer.publishUrl]);
  onCleanup(() => stop(pub));
  await waitLive(edge.url);
  await waitPeerLive(peer, 3);
  const load = new LoadGen();
  const pool = new LoadPool(load);
  ctx.log('rig: tiercast and the peer live, load generator up');
  return {
    peer,
    ingress,
    edge,
    load,
    pool,
    close: async () => {
      await pool.close();
      await load.close();
      await stop(pub);
      await edge.close();
      await ingress.close();
      await peer.close();
    },
  };
}

type Kind = 'ws' | 'dash' | 'hls' | 'llhls';

/**
 * Clients per load-generator process: one process reading 2,500 WebSocket viewers (~0.8 GB/s) used most
 * of a core before its reads shared one buffer.
 */
const CLIENTS_PER_GENERATOR = 2500;
/** Sockets one client holds: LL-DASH one per rendition, LL-HLS a playlist and a part request per rendition. */
const SOCKETS_PER_CLIENT: Record<Kind, number> = { ws: 1, dash: 2, hls: 1, llhls: 4 };

/** The soft limit on open files of a process (each socket is one). */
function openFilesLimit(pid: number): number {
  const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'));
  return !m || m[1] === 'unlimited' ? Infinity : Number(m[1]);
}

export async function step(
  rig: Rig,
  kind: Kind,
  n: number,
  seconds: number,
  settleMs: number,
): Promise<StepResult> {
  const group = `${kind}-${n}`;
  const procs = Math.ceil(n / CLIENTS_PER_GENERATOR);
  const sockets = n * SOCKETS_PER_CLIENT[kind];
  const serverPid = kind === 'hls' ? rig.peer.masterPid : rig.edge.pid;
  // A socket refused for want of a descriptor would show as a failed viewer, not as the edge's limit.
  if (sockets + 256 > openFilesLimit(serverPid) || sockets / procs + 256 > openFilesLimit(process.pid))
    throw new Error(
      `fanout ${kind} N=${n}: ${sockets} sockets exceed the open-files limit (server ${openFilesLimit(serverPid)}, generators ${openFilesLimit(process.pid)}); raise ulimit -n`,
    );
  const edgeMetric = async (name: string) => metricSum(await scrape(rig.edge.url), name);
  const reconnects0 = await edgeMetric('tiercast_relay_upstream_reconnects_total');
  const ws = `${rig.edge.url.replace('http', 'ws')}/live/${STREAM}/ws`;
  let failed = 0;
  const tOpen = performance.now();
  if (kind === 'ws') {
    const opened = await rig.pool.open('ws', { group, url: ws, count: n, concurrency: 128 }, procs);
    failed = opened.reduce((a, o) => a + (o.failed ?? 0), 0);
  } else if (kind === 'dash' || kind === 'llhls')
    await rig.pool.open(
      kind,
      { group, edgeUrl: rig.edge.url, stream: STREAM, count: n, renditions: ['v720', 'a0'] },
      procs,
    );
  else await rig.pool.open('hls', { group, baseUrl: rig.peer.httpUrl, stream: PEER_STREAM, count: n }, procs);
  await sleep(settleMs);
  // Thousands of joins at once hold the edge's loop and its upstream input queues up; the window starts once
  // the edge takes in chunks at the stream's rate again (at most 30 s more), not while it catches up.
  const edgeChunks = () => edgeMetric('tiercast_relay_chunks_total');
  if (kind === 'ws' && rig.chunkRate)
    for (let t = 0; t < 30; t++) {
      const c0 = await edgeChunks();
      await sleep(1000);
      const rate = (await edgeChunks()) - c0;
      if (rate < 1.3 * rig.chunkRate && rate > 0.7 * rig.chunkRate) break;
    }
  const settled = (performance.now() - tOpen) / 1000;
  const server =
    kind === 'hls'
      ? new CpuMeter(() => [rig.peer.masterPid, ...rig.peer.workerPids()])
      : new CpuMeter(() => [rig.edge.pid]);
  const before = await rig.pool.stats(group, true);
  const gens = before.map((b) => new CpuMeter(() => [b.pid]));
  const dropped0 = kind === 'hls' ? 0 : await edgeDropped(rig.edge.url);
  const chunks0 = await edgeChunks();
  const busy0 = systemCpuTicks();
  server.start();
  for (const g of gens) g.start();
  await sleep(seconds * 1000);
  const { cpu, wall } = server.read();
  const loadCpuEach = gens.map((g) => g.read().cpu);
  const after: PoolStats = await rig.pool.stats(group, true);
  const busy1 = systemCpuTicks();
  const dropped = kind === 'hls' ? 0 : (await edgeDropped(rig.edge.url)) - dropped0;
  const sourceChunkRate = ((await edgeChunks()) - chunks0) / wall;
  const reconnects = (await edgeMetric('tiercast_relay_upstream_reconnects_total')) - reconnects0;
  await rig.pool.closeGroup(group);
  // Each generator's counters cover its own window (between its two answers, which a busy generator gives
  // late); its bytes per second over that window, summed and taken over the server's window.
  const windows = after.map((a, i) => Math.max(1, a.at - before[i]!.at) / 1000);
  const sum = (f: (a: PoolStats[number]) => number) => after.reduce((acc, a) => acc + f(a), 0);
  const bytes = after.reduce((acc, a, i) => acc + a.bytes / windows[i]!, 0) * wall;
  const s = {
    gaps: sum((a) => a.gaps),
    skipped: sum((a) => a.skipped),
    closed: sum((a) => a.closed),
    notFound: sum((a) => a.notFound),
    requests: sum((a) => a.requests),
    playlistBytes: sum((a) => a.playlistBytes),
  };
  const short = kind === 'ws' ? sum((a) => a.short) : 0;
  const drops = s.gaps + s.skipped + s.closed + dropped + failed + short;
  const chunkRates = after.flatMap((a, i) =>
    Number.isFinite(a.minChunks) ? [a.minChunks / windows[i]!, a.maxChunks / windows[i]!] : [],
  );
  return {
    n,
    bytes,
    serverCpu: cpu,
    wall,
    loadCpu: loadCpuEach.reduce((a, c) => a + c, 0),
    loadCpuEach,
    machineBusy: (busy1.busy - busy0.busy) / Math.max(1, busy1.total - busy0.total),
    drops,
    failed,
    short,
    minChunkRate: chunkRates.length ? Math.min(...chunkRates) : NaN,
    maxChunkRate: chunkRates.length ? Math.max(...chunkRates) : NaN,
    sourceChunkRate,
    reconnects,
    settled,
    gaps: s.gaps,
    skipped: s.skipped,
    closed: s.closed,
    notFound: s.notFound,
    perCpu: cpu > 0 ? bytes / cpu : NaN,
    perViewerBps: bytes / wall / n,
    requests: s.requests,
    playlistBytes: s.playlistBytes,
  };
}

/** Steps up N until a step drops, a process saturates, or the list ends. */
export async function ramp(
  ctx: BenchContext,
  rig: Rig,
  kind: Kind,
  ns: number[],
  seconds: number,
): Promise<{ steps: StepResult[]; maxClean: number; stoppedBy: string }> {
  const steps: StepResult[] = [];
  let maxClean = 0;
  let stoppedBy = 'end of the list';
  for (const n of ns) {
    const r = await step(rig, kind, n, seconds, ctx.pick(2500, 1000));
    steps.push(r);
    rig.chunkRate ??= r.sourceChunkRate;
    ctx.log(
      `fanout ${kind} N=${n}: ${fmt(r.bytes / r.wall / 1e6, 1)} MB/s, server ${fmt((r.serverCpu / r.wall) * 100)} % CPU, load gen ${genCpu(r)}, machine ${fmt(r.machineBusy * 100)} %, ${fmt(r.perCpu / 1e9, 2)} GB/CPU-s, drops ${r.drops}${kind === 'ws' ? `, chunks/s per viewer ${fmt(r.minChunkRate, 1)}–${fmt(r.maxChunkRate, 1)} (edge in: ${fmt(r.sourceChunkRate, 1)}), settled in ${fmt(r.settled, 1)} s, upstream reconnects ${r.reconnects}` : `, ${fmt(r.requests / r.wall)} requests/s`}`,
    );
    // Say whether the machine had a core to spare: on two cores a saturated box drops for want of CPU
    // anywhere (generators reading late make the edge skip), not necessarily at the edge.
    const busy = r.machineBusy > 0.95 ? `, machine ${fmt(r.machineBusy * 100)} % busy` : '';
    if (r.drops > 0) {
      stoppedBy = `drops at N=${n}${busy}`;
      break;
    }
    // Nothing lost yet, but every viewer getting clearly fewer chunks per second than at the first step is
    // a backlog growing somewhere (edge send buffers, or the edge's own input): not a clean step.
    if (kind === 'ws' && steps.length > 1 && r.maxChunkRate < 0.95 * steps[0]!.maxChunkRate) {
      stoppedBy = `viewers falling behind the edge's input at N=${n}${busy}`;
      break;
    }
    maxClean = n;
    if (r.serverCpu / r.wall > 0.9) {
      stoppedBy = `server process saturated at N=${n}`;
      break;
    }
    if (Math.max(...r.loadCpuEach) / r.wall > 0.9) {
      stoppedBy = `a load generator saturated at N=${n}`;
      break;
    }
  }
  return { steps, maxClean, stoppedBy };
}

/** The generators' CPU: the sum in % of a core, and each process's when there are several. */
const genCpu = (s: StepResult) =>
  `${fmt((s.loadCpu / s.wall) * 100)} % of a core${s.loadCpuEach.length > 1 ? ` (${s.loadCpuEach.length} processes: ${s.loadCpuEach.map((c) => fmt((c / s.wall) * 100)).join(' + ')} %)` : ''}`;

const best = (steps: StepResult[]) =>
  steps
    .filter((s) => s.drops === 0)
    .reduce<StepResult | undefined>((a, s) => (!a || s.n > a.n ? s : a), undefined) ??
  steps[steps.length - 1];

export async function fanout(ctx: BenchContext, rig: Rig): Promise<Omit<SectionResult, 'seconds'>> {
  const seconds = ctx.pick(8, 3);
  const wsNs = ctx.pick([100, 500, 1000, 2500, 3500, 5000, 7500, 10000], [200]);
  const httpNs = ctx.pick([100, 500, 1000, 1500], [200]);
  const dash = await ramp(ctx, rig, 'dash', httpNs, seconds);
  const hls = await ramp(ctx, rig, 'hls', httpNs, seconds);
  const llhls = await ramp(ctx, rig, 'llhls', httpNs, seconds);
  // Last: its top step may hold both cores for a minute, which leaves the transcoder behind for a while
  // (LL-DASH clients then asked for segments not there yet, 404 on every try, in a step right after it).
  const ws = await ramp(ctx, rig, 'ws', wsNs, seconds);

  const bw = best(ws.steps);
  const bd = best(dash.steps);
  const bh = best(hls.steps);
  // Compare the HTTP paths at the same N: the largest N both served without a drop.
  const commonN = Math.max(
    0,
    ...dash.steps
      .filter((d) => d.drops === 0 && hls.steps.some((h) => h.n === d.n && h.drops === 0))
      .map((d) => d.n),
  );
  const dN = dash.steps.find((s) => s.n === commonN) ?? bd;
  const hN = hls.steps.find((s) => s.n === commonN) ?? bh;
  const gb = (v: number | undefined) => (v === undefined ? '—' : `${fmt(v / 1e9, 2)} GB/CPU-s`);
  const cpuPerGb = (s: StepResult | undefined) =>
    s ? `${fmt((s.serverCpu / s.bytes) * 1e9, 2)} CPU-s/GB` : '—';
  const ratio = dN && hN ? dN.perCpu / hN.perCpu : NaN;
  // LL-HLS against LL-DASH, both from the edge: the largest N both served without a drop.
  const llN = Math.max(
    0,
    ...llhls.steps
      .filter((l) => l.drops === 0 && dash.steps.some((d) => d.n === l.n && d.drops === 0))
      .map((l) => l.n),
  );
  const lL = llhls.steps.find((s) => s.n === llN) ?? best(llhls.steps);
  const lD = dash.steps.find((s) => s.n === llN) ?? bd;
  const llRatio = lL && lD ? lL.perCpu / lD.perCpu : NaN;
  const rows: Row[] = [
    {
      section: 'fan-out',
      what: `WebSocket: bytes per server CPU-second (N=${bw?.n})`,
      tiercast: `${gb(bw?.perCpu)} (${cpuPerGb(bw)})`,
      peer: 'n/a (no push path)',
      target: '≥ 4 GB/CPU-s',
      met: bw !== undefined && bw.perCpu >= 4e9,
    },
    {
      section: 'fan-out',
      what: 'WebSocket: largest N with no drop (one edge process)',
      tiercast: `${ws.maxClean} (${ws.stoppedBy}; load generators in ${Math.ceil(Math.max(ws.maxClean, 1) / CLIENTS_PER_GENERATOR)} process(es))`,
      peer: 'n/a',
      target: '',
    },
    {
      section: 'fan-out',
      what: `HTTP: bytes per server CPU-second, same N=${dN?.n} (LL-DASH vs HLS)`,
      tiercast: `${gb(dN?.perCpu)} (${cpuPerGb(dN)})`,
      peer: `${gb(hN?.perCpu)} (${cpuPerGb(hN)})`,
      target: '≥ 0.5 × nginx',
      met: Number.isFinite(ratio) ? ratio >= 0.5 : undefined,
    },
    {
      section: 'fan-out',
      what: 'HTTP: largest N with no drop',
      tiercast: `${dash.maxClean} (${dash.stoppedBy})`,
      peer: `${hls.maxClean} (${hls.stoppedBy})`,
      target: '',
    },
    {
      section: 'fan-out',
      what: `HTTP: bytes per server CPU-second, same N=${lL?.n} (LL-HLS parts vs LL-DASH)`,
      tiercast: `LL-HLS ${gb(lL?.perCpu)} (${cpuPerGb(lL)}) vs LL-DASH ${gb(lD?.perCpu)} (${cpuPerGb(lD)})`,
      peer: 'n/a (no low-latency HLS)',
      target: '≥ LL-DASH',
      met: Number.isFinite(llRatio) ? llRatio >= 1 : undefined,
    },
    {
      section: 'fan-out',
      what: 'HTTP: LL-HLS largest N with no drop',
      tiercast: `${llhls.maxClean} (${llhls.stoppedBy})`,
      peer: 'n/a',
      target: '',
    },
  ];
  const line = (k: string, s: StepResult) =>
    `${k} N=${s.n}: ${fmt(s.bytes / s.wall / 1e6, 1)} MB/s delivered (${fmt((s.perViewerBps * 8) / 1e6, 2)} Mbit/s per viewer), server ${fmt(s.serverCpu, 2)} CPU-s in ${fmt(s.wall, 1)} s → ${fmt(s.perCpu / 1e9, 2)} GB/CPU-s; load generator ${genCpu(s)}; machine ${fmt(s.machineBusy * 100)} % busy; drops ${s.drops} (gaps ${s.gaps}, skipped ${s.skipped}, closed ${s.closed}, 404 ${s.notFound}${Number.isFinite(s.minChunkRate) ? `, failed handshakes ${s.failed}, short viewers ${s.short}; media chunks per viewer ${fmt(s.minChunkRate, 1)}–${fmt(s.maxChunkRate, 1)}/s, edge input ${fmt(s.sourceChunkRate, 1)}/s; window from ${fmt(s.settled, 1)} s after the open; edge upstream reconnects ${s.reconnects}` : ''})`;
  const notes = [
    `HTTP ratio tiercast/nginx at N=${dN?.n}: ${fmt(ratio, 2)}.`,
    ...ws.steps.map((s) => line('WebSocket', s)),
    ...dash.steps.map((s) => line('tiercast LL-DASH', s)),
    ...hls.steps.map((s) => line('nginx HLS', s)),
    `LL-HLS/LL-DASH bytes per server CPU-second at N=${lL?.n}: ${fmt(llRatio, 2)}.`,
    ...llhls.steps.map((s) => {
      const d = dash.steps.find((x) => x.n === s.n);
      return `${line('tiercast LL-HLS', s)}; ${fmt(s.requests / s.wall)} requests/s (LL-DASH at this N: ${d ? fmt(d.requests / d.wall) : '—'}), playlists ${fmt((s.playlistBytes / s.bytes) * 100, 1)} % of the bytes`;
    }),
    'Server CPU is the edge process (tiercast) or nginx master + worker (peer; its worker also ingests RTMP and writes the fragments). Bytes are what the clients read from their sockets, headers included.',
    `Load generators: one process per ${fmt(CLIENTS_PER_GENERATOR)} clients, each one's CPU (from /proc, over the server's window) listed; machine % is both cores. A busy generator answers the counter reads late, so its bytes are taken per second of its own window. A WebSocket drop is also a failed handshake, or a viewer with clearly fewer media chunks than its process's median viewer (short).`,
  ];
  const plots: Plot[] = [
    {
      file: 'bench-fanout-cpu-per-gb.svg',
      title: 'Server CPU-seconds per delivered GB',
      xLabel: 'concurrent viewers',
      yLabel: 'CPU-s per GB',
      series: [
        {
          name: 'tiercast edge, WebSocket',
          points: ws.steps.map((s) => [s.n, (s.serverCpu / s.bytes) * 1e9]),
        },
        {
          name: 'tiercast edge, LL-DASH HTTP',
          points: dash.steps.map((s) => [s.n, (s.serverCpu / s.bytes) * 1e9]),
        },
        { name: 'nginx, HLS fragments', points: hls.steps.map((s) => [s.n, (s.serverCpu / s.bytes) * 1e9]) },
        {
          name: 'tiercast edge, LL-HLS parts',
          points: llhls.steps.map((s) => [s.n, (s.serverCpu / s.bytes) * 1e9]),
        },
      ],
    },
  ];
  return { name: 'edge fan-out', rows, notes, plots };
}
