/**
 * Source quality (`transcode.mode: passthrough`): glass-to-glass of the publisher's own H.264, copied into
 * CMAF without a second encode, next to the ladder's top rung (encoded again by x264) in the same run and
 * from the same publisher (the clock publisher of the g2g section, 1 s keyframe interval: 1 s segments).
 * (a) decodable by a headless WebSocket client; (b) shown in Chromium with `?quality=src` / `?quality=v480`.
 * tiercast only: the peer's RTMP (section g2g) is its pass-through.
 */
import type { BenchContext } from './lib/context.js';
import { launchChromium } from './lib/browser.js';
import { CpuMeter, onCleanup, startClockPublisher, stop } from './lib/procs.js';
import { fmp4FrameLatencies, WsRecorder } from './lib/recorders.js';
import type { Row, SectionResult } from './lib/report.js';
import { fmt, nowMs, sleep, summarize, type Summary } from './lib/stats.js';
import { childPids, rtmpPublishUrl, startPair, STREAM, waitLive } from './lib/tiercast.js';
import { G2G_LADDER, measurePages, PUBLISHER, type PageResult } from './g2g-latency.js';

const s = (v: Summary) => `${fmt(v.p50 / 1000, 3)} s · ${fmt(v.p95 / 1000, 3)} s`;

export async function sourceG2g(ctx: BenchContext): Promise<Omit<SectionResult, 'seconds'>> {
  const warmup = ctx.pick(8, 3) * 1000;
  const window = ctx.pick(40, 3) * 1000;
  const notes: string[] = [];
  const { ingress, edge } = await startPair({ ladder: G2G_LADDER, mode: 'passthrough' });
  onCleanup(() => edge.close());
  onCleanup(() => ingress.close());
  const pub = startClockPublisher(PUBLISHER, [rtmpPublishUrl(ingress)]);
  await waitLive(edge.url);
  const mpd = await (await fetch(`${edge.url}/live/${STREAM}/manifest.mpd`)).text();
  const reps = [...mpd.matchAll(/<Representation id="([^"]+)"/g)].map((m) => m[1]).join(', ');
  if (!reps.startsWith('src')) throw new Error(`no Source rendition first in the MPD: ${reps}`);
  ctx.log(`source: live with ${reps}`);

  // The WebSocket's default video is the first of the highest: Source (as tall as v480, listed first).
  const wsRec = new WsRecorder(`${edge.url.replace('http', 'ws')}/live/${STREAM}/ws`);
  const headlessFrom = nowMs() + warmup;
  const cpu = new CpuMeter(() => [ingress.pid, ...childPids(ingress.pid)]);
  cpu.start();
  const browser = await launchChromium();
  onCleanup(() => browser.close());
  const top = G2G_LADDER[0]!.id;
  const pages = await measurePages(
    ctx,
    browser,
    [
      ['tiercast Source, WebSocket player', `${edge.url}/watch/${STREAM}?transport=ws&quality=src`],
      ['tiercast Source, dash.js', `${edge.url}/watch/${STREAM}?transport=dash&quality=src`],
      [`tiercast ${top} (x264), WebSocket player`, `${edge.url}/watch/${STREAM}?transport=ws&quality=${top}`],
    ],
    { warmup, window },
    notes,
  );
  const headlessTo = nowMs();
  const used = cpu.read();
  wsRec.close();
  await browser.close();
  await stop(pub);
  await sleep(200);
  const wsA = await fmp4FrameLatencies(wsRec.init, wsRec.units, headlessFrom, headlessTo);
  const A = summarize(wsA.latencies);
  const [pSrcWs, pSrcDash, pTopWs] = pages as [PageResult, PageResult, PageResult];
  const played = (p: PageResult, t: string) => p.summary.n > 0 && p.transport === t;
  const rows: Row[] = [
    {
      section: 'glass-to-glass',
      what: '(a) Source (copied, no second encode) decodable by a headless WebSocket client p50 · p95',
      tiercast: s(A),
      peer: 'n/a (its RTMP, section g2g, is its pass-through)',
      target: '',
    },
    {
      section: 'glass-to-glass',
      what: `(b) shown in Chromium, Source: WebSocket player / dash.js p50 · p95 (stalls); same run, ${top} (x264) WebSocket`,
      tiercast: `${s(pSrcWs.summary)} (${pSrcWs.stalls}) / ${s(pSrcDash.summary)} (${pSrcDash.stalls}); ${top} ${s(pTopWs.summary)} (${pTopWs.stalls})`,
      peer: 'n/a',
      target: '',
    },
  ];
  for (const p of pages)
    notes.push(
      `${p.label}: ${p.summary.n} frames shown in the ${window / 1000} s window, p50 ${fmt(p.summary.p50)} ms, p95 ${fmt(p.summary.p95)} ms; ` +
        `${p.stalls} waiting events, ${p.freezes} freezes > 250 ms${p.transport ? `; played: ${p.transport}` : ''}${played(p, p.transport ?? '') ? '' : ' (nothing measured)'}`,
    );
  notes.push(
    `tiercast renditions: ${reps} (transcode.mode passthrough, ladder ${G2G_LADDER.map((r) => r.id).join(' + ')} keyed on the source's keyframes); publisher ${PUBLISHER.width}x${PUBLISHER.height} ${PUBLISHER.fps} fps x264 ${PUBLISHER.preset}, keyframe every second; headless WebSocket recorded ${wsRec.rendition ?? '(nothing)'}, ${A.n} frames.`,
    `ingress (node + ffmpeg) CPU while the pages played: ${fmt((used.cpu / used.wall) * 100, 1)} % of a core (Source copy + ${G2G_LADDER.length} x264 rungs + AAC); the transcode section has ffmpeg alone with and without the ladder.`,
  );
  return { name: 'source', rows, notes, plots: [] };
}
