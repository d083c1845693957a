/**
 * 3. Edge fan-out efficiency. One 2-rendition stream (v720 2.5 Mbit/s + v360, with audio) at one edge
 * process; N viewers in the load-generator process (load-worker.ts); server CPU from /proc. Steps up N
 * until a step drops chunks (or a process saturates). The same N as HTTP clients: tiercast's LL-DASH
 * (one request per rendition held on the live segment) and nginx serving nginx-rtmp's HLS fragments of
 * the same source (same bitrate) from disk with sendfile. And tiercast's LL-HLS at the same N: per rendition a
 * blocking playlist reload and a part request every part, as hls.js in lowLatencyMode does.
 */
import type { BenchContext } from './lib/context.js';
import { CLIP } from './lib/context.js';
import { LoadGen, type LoadStats } from './lib/load.js';
import { sourceClip } from './lib/media-files.js';
import { edgeDropped } from './lib/metrics.js';
import { startPeer, waitPeerLive, PEER_STREAM, type Peer } from './lib/peer.js';
import { CpuMeter, onCleanup, stop } from './lib/procs.js';
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
  loadCpu: number;
  drops: number;
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
  ctx.log('rig: tiercast and the peer live, load generator up');
  return {
    peer,
    ingress,
    edge,
    load,
    close: async () => {
      await load.close();
      await stop(pub);
      await edge.close();
      await ingress.close();
      await peer.close();
    },
  };
}

type Kind = 'ws' | 'dash' | 'hls' | 'llhls';

export async function step(
  rig: Rig,
  kind: Kind,
  n: number,
  seconds: number,
  settleMs: number,
): Promise<StepResult> {
  const group = `${kind}-${n}`;
  const ws = `${rig.edge.url.replace('http', 'ws')}/live/${STREAM}/ws`;
  if (kind === 'ws') await rig.load.request('ws', { group, url: ws, count: n, concurrency: 128 });
  else if (kind === 'dash' || kind === 'llhls')
    await rig.load.request(kind, {
      group,
      edgeUrl: rig.edge.url,
      stream: STREAM,
      count: n,
      renditions: ['v720', 'a0'],
    });
  else await rig.load.request('hls', { group, baseUrl: rig.peer.httpUrl, stream: PEER_STREAM, count: n });
  await sleep(settleMs);
  const server =
    kind === 'hls'
      ? new CpuMeter(() => [rig.peer.masterPid, ...rig.peer.workerPids()])
      : new CpuMeter(() => [rig.edge.pid]);
  const before: LoadStats = await rig.load.stats(group, true);
  const dropped0 = kind === 'hls' ? 0 : await edgeDropped(rig.edge.url);
  server.start();
  await sleep(seconds * 1000);
  const { cpu, wall } = server.read();
  // load-worker.ts reports these two besides LoadStats.
  const s = (await rig.load.stats(group, true)) as LoadStats & { requests: number; playlistBytes: number };
  const dropped = kind === 'hls' ? 0 : (await edgeDropped(rig.edge.url)) - dropped0;
  await rig.load.request('close', { group });
  const drops = s.gaps + s.skipped + s.closed + dropped + (kind === 'ws' ? 0 : 0);
  return {
    n,
    bytes: s.bytes,
    serverCpu: cpu,
    wall,
    loadCpu: s.cpuSeconds - before.cpuSeconds,
    drops,
    gaps: s.gaps,
    skipped: s.skipped,
    closed: s.closed,
    notFound: s.notFound,
    perCpu: cpu > 0 ? s.bytes / cpu : NaN,
    perViewerBps: s.bytes / wall / n,
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
    ctx.log(
      `fanout ${kind} N=${n}: ${fmt(r.bytes / r.wall / 1e6, 1)} MB/s, server ${fmt((r.serverCpu / r.wall) * 100)} % CPU, load gen ${fmt((r.loadCpu / r.wall) * 100)} %, ${fmt(r.perCpu / 1e9, 2)} GB/CPU-s, drops ${r.drops}${kind === 'ws' ? '' : `, ${fmt(r.requests / r.wall)} requests/s`}`,
    );
    if (r.drops > 0) {
      stoppedBy = `drops at N=${n}`;
      break;
    }
    maxClean = n;
    if (r.serverCpu / r.wall > 0.9) {
      stoppedBy = `server process saturated at N=${n}`;
      break;
    }
    if (r.loadCpu / r.wall > 0.9) {
      stoppedBy = `load generator saturated at N=${n}`;
      break;
    }
  }
  return { steps, maxClean, stoppedBy };
}

const best = (steps: StepResult[]) =>
  steps
    .filter((s) => s.drops === 0)
    .reduce<StepResult | undefined>((a, s) => (!a || s.n > a.n ? s : a), undefined) ??
  steps[steps.length - 1];

export async function fanout(ctx: BenchContext, rig: Rig): Promise<Omit<SectionResult, 'seconds'>> {
  const seconds = ctx.pick(8, 3);
  const wsNs = ctx.pick([100, 500, 1000, 2000, 2500], [200]);
  const httpNs = ctx.pick([100, 500, 1000, 1500], [200]);
  const ws = await ramp(ctx, rig, 'ws', wsNs, seconds);
  const dash = await ramp(ctx, rig, 'dash', httpNs, seconds);
  const hls = await ramp(ctx, rig, 'hls', httpNs, seconds);
  const llhls = await ramp(ctx, rig, 'llhls', httpNs, seconds);

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
      target: '≥ 1.2 GB/CPU-s',
      met: bw !== undefined && bw.perCpu >= 1.2e9,
    },
    {
      section: 'fan-out',
      what: 'WebSocket: largest N with no drop (one edge process)',
      tiercast: `${ws.maxClean} (${ws.stoppedBy})`,
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
    `${k} N=${s.n}: ${fmt(s.bytes / s.wall / 1e6, 1)} MB/s delivered (${fmt((s.perViewerBps * 8) / 1e6, 2)} Mbit/s per viewer), server ${fmt(s.serverCpu, 2)} CPU-s in ${fmt(s.wall, 1)} s → ${fmt(s.perCpu / 1e9, 2)} GB/CPU-s; load generator ${fmt((s.loadCpu / s.wall) * 100)} % of a core; drops ${s.drops} (gaps ${s.gaps}, skipped ${s.skipped}, closed ${s.closed}, 404 ${s.notFound})`;
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
