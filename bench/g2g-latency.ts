/**
 * 1. Glass-to-glass latency, measured on the pictures: the clock publisher paints the wall-clock time
 * into each frame as it hands it to x264 and publishes one encode to tiercast's ingress and to the peer
 * (ffmpeg's tee). Two moments are measured per frame:
 *  (a) decodable by a headless client: the arrival of the chunk/fragment that carries it (decoded
 *      afterwards, frame by frame), or, for RTMP, ffmpeg handing out the decoded frame;
 *  (b) shown by the player in headless Chromium: requestVideoFrameCallback → canvas → clock.
 * The sound carries the clock too (a tone burst at every whole second, av-probe.ts): on the WebSocket
 * pages and the peer's hls.js page, the bursts heard against the pictures of the same seconds give the
 * audio/video offset.
 * tiercast runs its default configuration (default ladder and preset, 200 ms chunks, 1 s segments).
 */
import type { BenchContext } from './lib/context.js';
import { matchBursts, type AvResult } from './lib/av-probe.js';
import { launchChromium, openProbedPage, readAvProbe, readProbe, type ProbeData } from './lib/browser.js';
import { startPeer, waitPeerLive, PEER_STREAM, type Peer } from './lib/peer.js';
import { stop, onCleanup, startClockPublisher } from './lib/procs.js';
import {
  fmp4FrameLatencies,
  tsFrameLatencies,
  DashRecorder,
  HlsRecorder,
  RtmpReader,
  WsRecorder,
} from './lib/recorders.js';
import { cdf, type Plot, type Row, type SectionResult } from './lib/report.js';
import { fmt, nowMs, percentile, sleep, summarize, type Summary } from './lib/stats.js';
import { rtmpPublishUrl, startPair, STREAM, waitLive } from './lib/tiercast.js';
import { metricSum, scrape } from './lib/metrics.js';

/**
 * The publisher stands for the streamer's own computer: its x264 runs at ultrafast and 480p so that it
 * takes as little as possible of the two cores the system under test shares with Chromium.
 */
export const PUBLISHER = { width: 854, height: 480, fps: 30, kbps: 1500, preset: 'ultrafast' };
/**
 * Two renditions at the default preset (veryfast). On the 2-core AMD EPYC of 2026-11-30, a 720p source
 * with v720 + v360 did not keep real time next to Chromium (ffmpeg speed 0.93-0.97, latency growing to
 * seconds; the 2-core Xeon of 2026-11-22 managed it at 1.00), and a transcoder behind real time measures
 * the CPU shortage, not the delivery path: hence 480p in, v480 + v240 out.
 */
export const G2G_LADDER = [
  { id: 'v480', height: 480, videoBitrateKbps: 1200 },
  { id: 'v240', height: 240, videoBitrateKbps: 400 },
];

export interface PageResult {
  label: string;
  latencies: number[];
  summary: Summary;
  stalls: number;
  freezes: number;
  unreadable: number;
  firstFrameMs: number | undefined;
  /** tiercast pages: what played at the end (`window.tiercast.transport`/`hlsPlayer`: ws, dash, hls/hls.js, hls/native). */
  transport?: string;
  error?: string;
  /** Pages opened with `av`: the bursts heard in the window against the pictures. */
  av?: AvResult;
}

/** A page to measure: label, URL, and whether to hear its sound too (the A/V offset). */
export type PageTarget = [label: string, url: string, options?: { av?: boolean }];

/** The A/V sync target (issue 12): |sound − picture| within 45 ms at p95. */
const AV_TARGET_MS = 45;

const s = (v: Summary, k: 'p50' | 'p95') => `${fmt(v[k] / 1000, 3)} s`;
const signed = (v: number) => (v > 0 ? `+${fmt(v)}` : fmt(v));
const avAbsP95 = (a: AvResult | undefined) => (a ? percentile(a.offsets.map(Math.abs), 95) : NaN);
/** Signed p50 and p95 of |offset| (ms), with the bursts matched. */
const avCell = (p: PageResult) =>
  p.av && p.av.matched > 0
    ? `${signed(percentile(p.av.offsets, 50))} ms · ${fmt(avAbsP95(p.av))} ms (${p.av.matched})`
    : `— (${p.av?.heard ?? 0} heard, none matched)`;

export async function g2gLatency(
  ctx: BenchContext,
  shared: { peer?: Peer },
): Promise<Omit<SectionResult, 'seconds'>> {
  const warmup = ctx.pick(8, 3) * 1000;
  const window = ctx.pick(60, 3) * 1000;
  const notes: string[] = [];
  const [peer, { ingress, edge }] = await Promise.all([
    shared.peer ?? startPeer(),
    startPair({ ladder: G2G_LADDER }),
  ]);
  if (!shared.peer) onCleanup(() => peer.close());
  onCleanup(() => edge.close());
  onCleanup(() => ingress.close());
  const pub = startClockPublisher(PUBLISHER, [rtmpPublishUrl(ingress), peer.publishUrl]);
  await waitLive(edge.url);
  await waitPeerLive(peer, 3);
  ctx.log('g2g: both systems live; headless recorders on');

  const wsRec = new WsRecorder(`${edge.url.replace('http', 'ws')}/live/${STREAM}/ws`);
  const dashRec = new DashRecorder(edge.url, STREAM, G2G_LADDER[0]!.id);
  const hlsRec = new HlsRecorder(peer.httpUrl, PEER_STREAM);
  const rtmp = new RtmpReader(`rtmp://127.0.0.1:${peer.rtmpPort}/live/${PEER_STREAM}`);
  const headlessFrom = nowMs() + warmup;

  const browser = await launchChromium();
  onCleanup(() => browser.close());
  const av = { av: true };
  const targets: PageTarget[] = [
    ['tiercast WebSocket (ws-player)', `${edge.url}/watch/${STREAM}?transport=ws&player=mse`, av],
    ['tiercast WebSocket, WebCodecs player', `${edge.url}/watch/${STREAM}?transport=ws&player=webcodecs`, av],
    ['tiercast LL-DASH (dash.js)', `${edge.url}/watch/${STREAM}?transport=dash`],
    ['tiercast LL-HLS (hls.js, lowLatencyMode)', `${edge.url}/watch/${STREAM}?transport=hls`],
    ['tiercast HLS, built-in player (no MSE)', `${edge.url}/watch/${STREAM}?transport=native`],
    ['peer HLS (hls.js, liveSyncDurationCount 1)', `${peer.httpUrl}/hls.html`, av],
    ['peer DASH (dash.js, liveDelay 2 s)', `${peer.httpUrl}/dash.html`],
  ];
  // Seconds whose burst the publisher could not keep in step with its frame (a late or dropped frame).
  const skewed = () =>
    new Set(
      pub
        .output()
        .split('\n')
        .filter((l) => l.startsWith('skewed '))
        .map((l) => Number(l.slice(7))),
    );
  const pages = await measurePages(ctx, browser, targets, { warmup, window, skewed }, notes);
  const headlessTo = nowMs();
  const ingressMetrics = await scrape(`http://127.0.0.1:${ingress.port}`);
  const speed = metricSum(ingressMetrics, 'tiercast_transcoder_speed_ratio');
  const pubStats =
    pub
      .output()
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .pop() ?? '';
  wsRec.close();
  dashRec.close();
  hlsRec.close();
  await rtmp.close();
  await browser.close();
  await stop(pub);
  ctx.log('g2g: decoding the recorded media');

  const [wsA, dashA, hlsA] = await Promise.all([
    fmp4FrameLatencies(wsRec.init, wsRec.units, headlessFrom, headlessTo),
    fmp4FrameLatencies(dashRec.init, dashRec.units, headlessFrom, headlessTo),
    tsFrameLatencies(hlsRec.units, headlessFrom, headlessTo),
  ]);
  const rtmpA = rtmp.samples.filter(([at]) => at >= headlessFrom && at <= headlessTo).map(([, l]) => l);
  for (const [name, r] of [
    ['WebSocket', wsA],
    ['LL-DASH', dashA],
  ] as const)
    if (r.mismatch !== 0)
      notes.push(
        `headless ${name}: ${r.mismatch} frames between trun sample counts and decoded frames did not match (mapping kept in order)`,
      );

  const S = {
    wsA: summarize(wsA.latencies),
    dashA: summarize(dashA.latencies),
    hlsA: summarize(hlsA.latencies),
    rtmpA: summarize(rtmpA),
  };
  const [pWs, pWc, pDash, pLlHls, pNative, pHls, pPeerDash] = pages as [
    PageResult,
    PageResult,
    PageResult,
    PageResult,
    PageResult,
    PageResult,
    PageResult,
  ];
  /** The page played the transport its row is about (not a fallback). */
  const played = (p: PageResult, transport: string) => p.summary.n > 0 && p.transport === transport;
  // A/V: at least 80 % of the window's whole seconds heard and matched with their pictures.
  const minBursts = Math.floor((window / 1000) * 0.8);
  const avMet = (p: PageResult, transport: string) =>
    played(p, transport) && (p.av?.matched ?? 0) >= minBursts && avAbsP95(p.av) <= AV_TARGET_MS;
  const rows: Row[] = [
    {
      section: 'glass-to-glass',
      what: '(a) decodable by a headless client, WebSocket / RTMP p50 · p95',
      tiercast: `${s(S.wsA, 'p50')} · ${s(S.wsA, 'p95')}`,
      peer: `RTMP ${s(S.rtmpA, 'p50')} · ${s(S.rtmpA, 'p95')}`,
      target: '',
    },
    {
      section: 'glass-to-glass',
      what: '(a) decodable by a headless client, HTTP (LL-DASH / HLS) p50 · p95',
      tiercast: `${s(S.dashA, 'p50')} · ${s(S.dashA, 'p95')}`,
      peer: `HLS ${s(S.hlsA, 'p50')} · ${s(S.hlsA, 'p95')}`,
      target: '',
    },
    {
      section: 'glass-to-glass',
      what: '(b) shown in Chromium, WebSocket player with MSE p50 · p95 (stalls)',
      tiercast: `${s(pWs.summary, 'p50')} · ${s(pWs.summary, 'p95')} (${pWs.stalls})`,
      peer: `hls.js ${s(pHls.summary, 'p50')} · ${s(pHls.summary, 'p95')} (${pHls.stalls})`,
      target: '≤ 0.3 s p50',
      met: played(pWs, 'ws mse') && pWs.summary.p50 <= 300,
    },
    {
      section: 'glass-to-glass',
      what: '(b) shown in Chromium, WebSocket player with WebCodecs (canvas) p50 · p95 (freezes > 250 ms)',
      tiercast: `${s(pWc.summary, 'p50')} · ${s(pWc.summary, 'p95')} (${pWc.freezes})`,
      peer: `hls.js ${s(pHls.summary, 'p50')} · ${s(pHls.summary, 'p95')} (${pHls.stalls})`,
      target: '≤ 0.2 s p50, ≤ 0.3 s p95, no stall',
      met:
        played(pWc, 'ws webcodecs') && pWc.summary.p50 <= 200 && pWc.summary.p95 <= 300 && pWc.freezes === 0,
    },
    {
      section: 'glass-to-glass',
      what: '(b) shown in Chromium, dash.js p50 · p95 (stalls)',
      tiercast: `${s(pDash.summary, 'p50')} · ${s(pDash.summary, 'p95')} (${pDash.stalls})`,
      peer: `${s(pPeerDash.summary, 'p50')} · ${s(pPeerDash.summary, 'p95')} (${pPeerDash.stalls})`,
      target: '≤ 1.2 s p50, no stall',
      met: played(pDash, 'dash') && pDash.summary.p50 <= 1200 && pDash.stalls === 0,
    },
    {
      section: 'glass-to-glass',
      what: '(b) shown in Chromium, LL-HLS with hls.js p50 · p95 (stalls)',
      tiercast: `${s(pLlHls.summary, 'p50')} · ${s(pLlHls.summary, 'p95')} (${pLlHls.stalls})`,
      peer: `HLS, hls.js ${s(pHls.summary, 'p50')} · ${s(pHls.summary, 'p95')} (${pHls.stalls})`,
      target: '≤ 1.0 s p50, no stall',
      met: played(pLlHls, 'hls/hls.js') && pLlHls.summary.p50 <= 1000 && pLlHls.stalls === 0,
    },
    {
      section: 'glass-to-glass',
      what: "(b) shown in Chromium, HLS in the browser's own player (no MSE) p50 · p95 (stalls)",
      tiercast: `${s(pNative.summary, 'p50')} · ${s(pNative.summary, 'p95')} (${pNative.stalls})`,
      peer: 'n/a (not measured: the peer page uses hls.js)',
      target: '',
    },
    ...(
      [
        ['WebCodecs', pWc, 'ws webcodecs'],
        ['MSE', pWs, 'ws mse'],
      ] as const
    ).map(([player, p, transport]): Row => ({
      section: 'glass-to-glass',
      what: `(b) A/V sync in Chromium, WebSocket player with ${player}: sound − picture per 1 s tone burst, signed p50 · p95 of |offset| (bursts)`,
      tiercast: avCell(p),
      peer: `hls.js ${avCell(pHls)}`,
      target: `|offset| ≤ ${AV_TARGET_MS} ms p95`,
      met: avMet(p, transport),
    })),
    {
      section: 'time to first frame',
      what: 'in Chromium, page load → first frame shown (WS MSE / WS WebCodecs / dash.js / hls.js / built-in HLS vs hls.js / dash.js)',
      tiercast: `${fmt(pWs.firstFrameMs)} / ${fmt(pWc.firstFrameMs)} / ${fmt(pDash.firstFrameMs)} / ${fmt(pLlHls.firstFrameMs)} / ${fmt(pNative.firstFrameMs)} ms`,
      peer: `${fmt(pHls.firstFrameMs)} ms / ${fmt(pPeerDash.firstFrameMs)} ms`,
      // Issue 12's target, for the page a viewer gets by default here (the WebCodecs player).
      target: '≤ 300 ms (WS WebCodecs)',
      met: pWc.firstFrameMs !== undefined && pWc.firstFrameMs <= 300,
    },
  ];
  for (const p of pages) {
    notes.push(
      `${p.label}: ${p.summary.n} frames shown in the ${window / 1000} s window, p50 ${fmt(p.summary.p50)} ms, p95 ${fmt(p.summary.p95)} ms, max ${fmt(p.summary.max)} ms; ` +
        `${p.stalls} waiting events, ${p.freezes} freezes > 250 ms, ${p.unreadable} unreadable frames${p.transport ? `; transport played: ${p.transport}` : ''}${p.error ? `, probe error ${p.error}` : ''}`,
    );
  }
  for (const p of pages) {
    const a = p.av;
    if (!a) continue;
    notes.push(
      `${p.label}, A/V: ${a.heard} bursts heard in the window (via ${a.via}), ${a.matched} matched with their second's picture, ${a.skipped} left out (publisher out of step); ` +
        `sound − picture signed p5 / p50 / p95 ${signed(percentile(a.offsets, 5))} / ${signed(percentile(a.offsets, 50))} / ${signed(percentile(a.offsets, 95))} ms, ` +
        `|offset| p95 ${fmt(avAbsP95(a))} ms, max ${fmt(Math.max(...a.offsets.map(Math.abs)))} ms; ` +
        `the context's outputLatency ${fmt(a.outputLatencyMs)} ms, rendering ahead of the speaker by ${fmt(a.renderAheadMs)} ms (currentTime − getOutputTimestamp().contextTime)`,
    );
  }
  notes.push(
    'A/V: the publisher plays silence and a 40 ms 1 kHz burst whose first sample stands for each whole second of wall-clock time, in the same media time as the frame painted then (its audio goes to ffmpeg with each frame). ' +
      "The page's sound is tapped outside the player: the WebCodecs player's connections to its AudioContext's destination also feed a detector worklet; a <video> (MSE, hls.js) through captureStream() into a context of the probe's own. " +
      'An onset is heard when getOutputTimestamp() says its sample leaves the speaker (that mapping already holds the output latency: adding outputLatency would count it twice). ' +
      'Offset = (heard − the second) − (shown − painted) of the first picture painted at or after that second: positive, the sound is late. ' +
      'A second whose burst\'s frame was followed by a late or dropped one (more than 5 ms off at the publisher, its "skewed" lines) is left out. ' +
      "Through captureStream() the sound reaches the probe's own context after the element's audio sink has taken it, so the MSE and hls.js figures also hold that path's difference to the element's own output (not separated here).",
  );
  notes.push(
    `tiercast ladder: ${G2G_LADDER.map((r) => r.id).join(' + ')} + audio at the default preset; transcoder speed at the end ${fmt(speed, 2)} (1 = real time); publisher ${PUBLISHER.width}x${PUBLISHER.height} ${PUBLISHER.fps} fps x264 ${PUBLISHER.preset} ${PUBLISHER.kbps} kbit/s, counters ${pubStats}.`,
  );
  notes.push(
    `headless: WebSocket ${S.wsA.n} frames (${wsA.unreadable} unreadable), LL-DASH ${S.dashA.n} (${dashA.unreadable}), peer HLS ${S.hlsA.n} (${hlsA.unreadable}), peer RTMP ${S.rtmpA.n} (${rtmp.unreadable}) over ${fmt((headlessTo - headlessFrom) / 1000)} s`,
  );
  const toS = (v: number[]) => v.map((x) => x / 1000);
  const plots: Plot[] = [
    {
      file: 'bench-g2g-latency.svg',
      title: 'Glass-to-glass latency in Chromium (CDF)',
      xLabel: 'latency (s)',
      yLabel: 'fraction of frames shown',
      series: pages.map((p) => ({ name: p.label, points: cdf(toS(p.latencies)) })),
    },
    {
      file: 'bench-g2g-headless.svg',
      title: 'Frame decodable by a headless client (CDF)',
      xLabel: 'latency (s)',
      yLabel: 'fraction of frames',
      series: [
        { name: 'tiercast WebSocket', points: cdf(toS(wsA.latencies)) },
        { name: 'tiercast LL-DASH (HTTP)', points: cdf(toS(dashA.latencies)) },
        { name: 'peer RTMP (ffmpeg decode)', points: cdf(toS(rtmpA)) },
        { name: 'peer HLS (fragment fetched)', points: cdf(toS(hlsA.latencies)) },
      ],
    },
  ];
  await edge.close();
  await ingress.close();
  return { name: 'glass-to-glass latency', rows, notes, plots };
}

/**
 * Each page in turn in one Chromium: opened, `warmup` ms to settle, then every frame shown during `window`
 * ms read off the picture. tiercast pages also say what played (`transport` and, when a `?quality=` was
 * asked for, the quality menu's value).
 */
export async function measurePages(
  ctx: BenchContext,
  browser: Awaited<ReturnType<typeof launchChromium>>,
  targets: PageTarget[],
  { warmup, window, skewed }: { warmup: number; window: number; skewed?: () => ReadonlySet<number> },
  notes: string[],
): Promise<PageResult[]> {
  const pages: PageResult[] = [];
  for (const [label, url, options] of targets) {
    ctx.log(`${label}: ${warmup / 1000} s warm-up + ${window / 1000} s`);
    const p = await openProbedPage(browser, url, options);
    await sleep(warmup);
    const from = nowMs();
    await sleep(window);
    const to = nowMs();
    let data: ProbeData | undefined;
    let transport: string | undefined;
    let av: AvResult | undefined;
    try {
      data = await readProbe(p.page);
      if (options?.av) {
        const heard = await readAvProbe(p.page);
        av = matchBursts(heard?.onsets ?? [], data.samples, from, to, skewed?.());
        if (heard?.errors.length) notes.push(`${label}: sound probe: ${heard.errors.join('; ')}`);
      }
      // Which transport played: a page that fell back to another one measures that one, not its label.
      if (label.startsWith('tiercast'))
        transport = String(
          await p.page.evaluate(
            'window.tiercast ? [window.tiercast.transport, window.tiercast.hlsPlayer].filter(Boolean).join("/") + (window.tiercast.transport === "ws" ? " " + window.tiercast.player : "") + (location.search.includes("quality=") ? " quality " + document.getElementById("quality").value : "") : "(no player)"',
          ),
        );
    } catch (err) {
      notes.push(`${label}: the probe could not be read: ${String(err)}`);
    }
    await p.close();
    const inWindow = (data?.samples ?? []).filter(([shown]) => shown >= from && shown <= to);
    const latencies = inWindow.map(([shown, painted]) => shown - painted);
    pages.push({
      label,
      latencies,
      summary: summarize(latencies),
      stalls: (data?.stalls ?? []).filter((t) => t >= from && t <= to).length,
      freezes: (data?.gaps ?? []).filter(([t]) => t >= from && t <= to).length,
      unreadable: data?.unreadable ?? 0,
      firstFrameMs: data?.firstFrameAt ? data.firstFrameAt - p.navigatedAt : undefined,
      transport,
      error: data?.error,
      av,
    });
  }
  return pages;
}
