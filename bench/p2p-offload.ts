/**
 * 11. Peer-assisted delivery (issue 13): N watch pages of a two-rendition stream in one Chromium, one edge
 * with `p2p.enabled`, the clock publisher's pictures read off every page (clock-code.ts). Two phases on the
 * same edge and stream, each a series of windows with P2P on and off on the same pages (the viewer's own
 * switch), alternating on, off, off, on, on, off (ORDER): on this saturated machine a phase run after another
 * measured the machine's drift as much as P2P (added p50 +45 and +164 ms in two runs of the same code).
 *  - steady: what the edge sends (offload is what the edge's socket counter, tiercast_edge_ws_bytes_total,
 *    says P2P saved), the latency shown (the added latency is the difference of the pooled pictures' p50),
 *    stalls;
 *  - churn: a viewer leaving every 5 s (and another joining). The churning pages run in a second browser:
 *    closing a tab stalls the other tabs of the same browser for about half a second, P2P or not (measured
 *    on this machine), which a viewer at home, with a browser of their own, never sees. The longest picture
 *    freeze of the steady pages is the figure; each freeze over FREEZE_MS is logged with its context.
 * All pages ask for the same rendition (?quality=v240): one swarm (the ceiling 1 − 1/N applies). Eight
 * pages decoding, probing and forwarding next to the transcoder and the publisher take both cores of this
 * machine, so the stream is small: a 240p source at 15 frames a second, v240 + v160. At 30 frames a second
 * the machine was 88–92 % busy with P2P off already, and the pages' latency measured the shortage of CPU,
 * not the delivery path (quick runs of 2026-12-01: +49 and +65 ms added p50 at 30 fps, +1 ms at 15 fps).
 * The deadline is 3 frames: 200 ms at 15 fps.
 */
import type { Browser } from 'playwright-core';
import type { BenchContext } from './lib/context.js';
import { launchChromium, openProbedPage, readProbe } from './lib/browser.js';
import {
  chromiumCpu,
  chromiumCpuSpent,
  onCleanup,
  startClockPublisher,
  stop,
  systemCpuTicks,
} from './lib/procs.js';
import type { Row, SectionResult } from './lib/report.js';
import { fmt, nowMs, sleep, summarize } from './lib/stats.js';
import { rtmpPublishUrl, startPair, STREAM, waitLive } from './lib/tiercast.js';
import { metricSum, scrape } from './lib/metrics.js';
import { PUBLISHER } from './g2g-latency.js';

/** A small window: eight pages composited in software at 1280x800 cost more CPU than their decoding. */
const VIEWPORT = { width: 480, height: 400 };
const P2P_PUBLISHER = { ...PUBLISHER, width: 426, height: 240, kbps: 600, fps: 15 };
const P2P_LADDER = [
  { id: 'v240', height: 240, videoBitrateKbps: 400 },
  { id: 'v160', height: 160, videoBitrateKbps: 200 },
];

const P2P_OFF = `try { localStorage.setItem('tiercast.p2p', 'off') } catch {}`;

type Probed = Awaited<ReturnType<typeof openProbedPage>>;

interface Phase {
  /** Bytes the edge wrote to viewer sockets per second, per viewer. */
  edgeBitsPerViewer: number;
  latencies: number[];
  stalls: number;
  /** The longest time between two pictures shown on any page (ms). */
  longestFreezeMs: number;
  /** What the pages received from peers (their own count), as a share of what they received. */
  peerShare: number;
  refetched: number;
  lost: number;
  /** The pages' peer lag (ms after the digest): the median of their p50s, the largest p95. */
  lag: { p50: number; p95: number } | null;
  /** The machine's CPU use over the window (both cores). */
  busy: number;
  /**
   * The browser's CPU per page over the window (ms of CPU per second): its renderers (the pages' script,
   * decoding, WebRTC's data channels) and the rest (browser, network service, GPU process in software).
   */
  pageCpu: { renderer: number; other: number };
}

async function edgeWsBytes(edgeUrl: string): Promise<number> {
  return metricSum(await scrape(edgeUrl), 'tiercast_edge_ws_bytes_total', { stream: STREAM });
}

interface PageP2p {
  peers: number;
  edge: number;
  refetched: number;
  lost: number;
  /** Peer copies after the edge's digest, p50 and p95 of the page's last 512 (ms). */
  lag: { p50: number; p95: number } | null;
}

async function pageP2p(p: Probed): Promise<PageP2p> {
  return p.page.evaluate<PageP2p>(`(() => {
    const x = window.tiercast && window.tiercast.p2p();
    const s = x ? x.stats : null;
    return s ? { peers: s.bytesFromPeers, edge: s.bytesFromEdge, refetched: s.refetched, lost: s.lost, lag: x.lagMs }
      : { peers: 0, edge: 0, refetched: 0, lost: 0, lag: null };
  })()`);
}

/** The longest time between two pictures shown within [from, to] (ms). */
function longestFreeze(samples: Array<[number, number]>, from: number, to: number): number {
  let longest = 0;
  let last: number | undefined;
  for (const [shown] of samples) {
    if (shown < from || shown > to) continue;
    if (last !== undefined) longest = Math.max(longest, shown - last);
    last = shown;
  }
  return longest;
}

async function measure(
  edgeUrl: string,
  pages: Probed[],
  windowMs: number,
  during?: (until: number) => Promise<void>,
): Promise<Phase> {
  const p0 = await Promise.all(pages.map(pageP2p));
  const b0 = await edgeWsBytes(edgeUrl);
  const cpu0 = systemCpuTicks();
  const browser0 = chromiumCpu();
  const from = nowMs();
  if (during) await during(from + windowMs);
  else await sleep(windowMs);
  const to = nowMs();
  const cpu1 = systemCpuTicks();
  const spent = chromiumCpuSpent(browser0, chromiumCpu());
  const perPage = (cpuS: number) => (cpuS * 1000) / ((to - from) / 1000) / pages.length;
  const rendererS = spent.renderer ?? 0;
  const otherS = Object.values(spent).reduce((n, v) => n + v, 0) - rendererS;
  const b1 = await edgeWsBytes(edgeUrl);
  const p1 = await Promise.all(pages.map(pageP2p));
  const latencies: number[] = [];
  let stalls = 0;
  let longestFreezeMs = 0;
  for (const p of pages) {
    const d = await readProbe(p.page);
    for (const [shown, painted] of d.samples)
      if (shown >= from && shown <= to) latencies.push(shown - painted);
    stalls += d.stalls.filter((t) => t >= from && t <= to).length;
    longestFreezeMs = Math.max(longestFreezeMs, longestFreeze(d.samples, from, to));
  }
  let peers = 0;
  let total = 0;
  let refetched = 0;
  let lost = 0;
  for (const [i, a] of p1.entries()) {
    const b = p0[i]!;
    peers += a.peers - b.peers;
    total += a.peers - b.peers + (a.edge - b.edge);
    refetched += a.refetched - b.refetched;
    lost += a.lost - b.lost;
  }
  return {
    edgeBitsPerViewer: ((b1 - b0) * 8) / ((to - from) / 1000) / pages.length,
    latencies,
    stalls,
    longestFreezeMs,
    peerShare: total > 0 ? peers / total : 0,
    refetched,
    lost,
    lag: lagOf(p1),
    busy: (cpu1.busy - cpu0.busy) / Math.max(1, cpu1.total - cpu0.total),
    pageCpu: { renderer: perPage(rendererS), other: perPage(otherS) },
  };
}

function lagOf(pages: ReadonlyArray<{ lag: PageP2p['lag'] }>): { p50: number; p95: number } | null {
  const lags = pages.flatMap((p) => (p.lag ? [p.lag] : []));
  if (lags.length === 0) return null;
  const p50s = lags.map((l) => l.p50).sort((a, b) => a - b);
  return { p50: p50s[Math.floor(p50s.length / 2)]!, p95: Math.max(...lags.map((l) => l.p95)) };
}

async function openPages(browser: Browser, url: string, n: number, init?: string): Promise<Probed[]> {
  const pages: Probed[] = [];
  for (let i = 0; i < n; i++) {
    pages.push(await openProbedPage(browser, url, { init, viewport: VIEWPORT }));
  }
  return pages;
}

/**
 * The windows of a phase, P2P on or off, in the order on, off, off, on, on, off: the same pages throughout,
 * switched by the viewer's own switch, so that a drift of this saturated machine over the phase (a page
 * settling, the transcoder's load) weighs on both sides alike instead of on whichever ran second.
 */
const ORDER = [true, false, false, true, true, false];

/** Flips the viewer's switch (the page's own button) where it is not as wanted, and waits for the edge's answer. */
async function switchP2p(pages: Probed[], on: boolean): Promise<void> {
  await Promise.all(
    pages.map(async (p) => {
      const deadline = nowMs() + 15_000;
      for (;;) {
        const state = await p.page.evaluate((want) => {
          const x = window.tiercast?.p2p();
          const wanted = localStorage.getItem('tiercast.p2p') !== 'off';
          if (wanted !== want) document.getElementById('p2p-toggle')?.click();
          return x ? x.on : null;
        }, on);
        if (state === on || (state === null && !on)) return;
        if (nowMs() > deadline) throw new Error(`a page did not turn P2P ${on ? 'on' : 'off'} in 15 s`);
        await sleep(250);
      }
    }),
  );
}

/** One phase's windows taken together: the same sums and maxima over all of them. */
function pooled(windows: Phase[]): Phase {
  const seconds = windows.length;
  const sum = (f: (w: Phase) => number) => windows.reduce((n, w) => n + f(w), 0);
  return {
    edgeBitsPerViewer: sum((w) => w.edgeBitsPerViewer) / seconds,
    latencies: windows.flatMap((w) => w.latencies),
    stalls: sum((w) => w.stalls),
    longestFreezeMs: Math.max(...windows.map((w) => w.longestFreezeMs)),
    peerShare: sum((w) => w.peerShare) / seconds,
    refetched: sum((w) => w.refetched),
    lost: sum((w) => w.lost),
    lag: lagOf(windows.map((w) => ({ lag: w.lag }))),
    busy: sum((w) => w.busy) / seconds,
    pageCpu: {
      renderer: sum((w) => w.pageCpu.renderer) / seconds,
      other: sum((w) => w.pageCpu.other) / seconds,
    },
  };
}

interface Alternated {
  on: Phase;
  off: Phase;
  /** P2P on minus off, p50 of the pictures' latency, per adjacent pair of windows (ms). */
  pairs: number[];
}

/**
 * Runs `window` for each entry of ORDER, switching the pages first (and letting them settle), and pools the
 * windows of each side. `settleMs` after each switch: links form (on), the last peer copies drain (off).
 */
async function alternate(
  ctx: BenchContext,
  what: string,
  pages: () => Probed[],
  settleMs: number,
  window: (on: boolean) => Promise<Phase>,
  order: readonly boolean[] = ORDER,
): Promise<Alternated> {
  const on: Phase[] = [];
  const off: Phase[] = [];
  const p50s: Array<[boolean, number]> = [];
  for (const [i, want] of order.entries()) {
    ctx.log(`p2p: ${what}, window ${i + 1} of ${order.length}: P2P ${want ? 'on' : 'off'}`);
    await switchP2p(pages(), want);
    await sleep(settleMs);
    const w = await window(want);
    (want ? on : off).push(w);
    p50s.push([want, summarize(w.latencies).p50]);
  }
  const pairs: number[] = [];
  for (let i = 0; i + 1 < p50s.length; i += 2) {
    const [a, b] = [p50s[i]!, p50s[i + 1]!];
    pairs.push(a[0] ? a[1] - b[1] : b[1] - a[1]);
  }
  return { on: pooled(on), off: pooled(off), pairs };
}

/**
 * Half the pages steady (measured), half in a second browser, one of those leaving every 5 s and another
 * joining in its place (with the switch as the window wants it).
 */
async function churnPhase(
  ctx: BenchContext,
  edgeUrl: string,
  browser: Browser,
  url: string,
  n: number,
  warmup: number,
  windowMs: number,
): Promise<Alternated & { left: number; freezes: { on: FreezeTally; off: FreezeTally } }> {
  ctx.log('p2p: churn, a viewer leaving every 5 s');
  const churnBrowser = await launchChromium();
  onCleanup(() => churnBrowser.close());
  const steady = await openPages(browser, url, n / 2);
  const warnings = steady.map(() => [] as Array<[number, string]>);
  steady.forEach((p, i) =>
    p.page.on('console', (m) => {
      if (m.type() === 'warning') warnings[i]!.push([Date.now(), m.text().slice(0, 400)]);
    }),
  );
  const churning = await openPages(churnBrowser, url, n / 2);
  await sleep(warmup);
  let left = 0;
  const freezes = { on: newTally(), off: newTally() };
  const result = await alternate(
    ctx,
    'churn',
    () => [...steady, ...churning],
    5000,
    async (on) => {
      const actions: Array<[number, string]> = [];
      let from = 0;
      const phase = await measure(edgeUrl, steady, windowMs, async (until) => {
        from = nowMs();
        while (nowMs() + 5000 <= until) {
          await sleep(5000);
          actions.push([Date.now(), 'a page leaves']);
          await churning.shift()?.close();
          left++;
          actions.push([Date.now(), 'a page joins']);
          churning.push((await openPages(churnBrowser, url, 1, on ? undefined : P2P_OFF))[0]!);
          actions.push([Date.now(), 'the page is open']);
        }
        await sleep(Math.max(0, until - nowMs()));
      });
      await freezeReport(
        ctx,
        on ? freezes.on : freezes.off,
        steady,
        from,
        from + windowMs,
        actions,
        warnings,
      );
      return phase;
    },
  );
  for (const p of [...steady, ...churning]) await p.close();
  await churnBrowser.close();
  return { ...result, left, freezes };
}

/** Freezes of the steady pages, by what came just before them. */
interface FreezeTally {
  count: number;
  /** Within 1.5 s after a page left. */
  afterLeave: number;
  /** Within 1.5 s after a page began opening (its load takes the machine's CPU for a moment). */
  afterJoin: number;
}

const newTally = (): FreezeTally => ({ count: 0, afterLeave: 0, afterJoin: 0 });

/** A freeze worth a look: a viewer notices a picture held this long (ms). */
const FREEZE_MS = 400;

/**
 * Logs every freeze of the steady pages over FREEZE_MS with what happened around it: the churn (leaves,
 * joins), the page's own delivery events (plans, links, fetches, misses) and its console warnings. What the
 * churn figure is made of, to tell P2P's share from a machine starved by a page opening.
 */
async function freezeReport(
  ctx: BenchContext,
  tally: FreezeTally,
  pages: Probed[],
  from: number,
  to: number,
  actions: Array<[number, string]>,
  warnings: Array<Array<[number, string]>>,
): Promise<void> {
  const rel = (t: number) => `${((t - from) / 1000).toFixed(2)} s`;
  for (const [i, p] of pages.entries()) {
    const probe = await readProbe(p.page);
    const events = await p.page.evaluate<Array<[number, string, string]>>(
      `(() => { const x = window.tiercast && window.tiercast.p2p(); return x ? x.events : []; })()`,
    );
    let last: number | undefined;
    for (const [shown] of probe.samples) {
      if (shown < from || shown > to) continue;
      if (last !== undefined && shown - last >= FREEZE_MS) {
        tally.count++;
        const near = (t: number) => t >= last! - 1500 && t <= shown;
        const acts = actions.filter(([t]) => near(t));
        const evs = events.filter(([t, what]) => near(t) && what !== 'fetched');
        if (acts.some(([, a]) => a === 'a page leaves')) tally.afterLeave++;
        else if (acts.some(([, a]) => a === 'a page joins')) tally.afterJoin++;
        ctx.log(
          [
            `p2p: page ${i} froze ${Math.round(shown - last)} ms from ${rel(last)}`,
            ...acts.map(([t, a]) => `    ${rel(t)} ${a}`),
            ...evs.map(([t, what, d]) => `    ${rel(t)} p2p ${what}: ${d}`),
            ...probe.stalls.filter(near).map((t) => `    ${rel(t)} waiting`),
            ...warnings[i]!.filter(([t]) => near(t)).map(([t, w]) => `    ${rel(t)} ${w}`),
          ].join('\n'),
        );
      }
      last = shown;
    }
  }
}

/** CPU per page, in ms of CPU per second of playing (‰ of one core). */
function cpuText(c: Phase['pageCpu']): string {
  return `${fmt(c.renderer + c.other, 0)} ms/s (${fmt(c.renderer, 0)} + ${fmt(c.other, 0)})`;
}

function tallyText(t: FreezeTally): string {
  return `${t.count} (${t.afterLeave} within 1.5 s of a page leaving, ${t.afterJoin} of one joining)`;
}

export async function p2pOffload(ctx: BenchContext): Promise<Omit<SectionResult, 'seconds'>> {
  const n = 8;
  const warmup = ctx.pick(10, 5) * 1000;
  const window = ctx.pick(20, 4) * 1000;
  const notes: string[] = [];
  const { ingress, edge } = await startPair({ ladder: P2P_LADDER }, { p2p: { enabled: true } });
  onCleanup(() => edge.close());
  onCleanup(() => ingress.close());
  const pub = startClockPublisher(P2P_PUBLISHER, [rtmpPublishUrl(ingress)]);
  await waitLive(edge.url);
  const browser = await launchChromium();
  onCleanup(() => browser.close());
  // The MSE player, as this section has always measured: since WebCodecs became the default player (10cd0f7)
  // a page without `player=mse` decodes and paints in script, and eight such pages took both cores on their
  // own (P2P off at 5.8 s p50), so the section measured the shortage of CPU, not P2P.
  const url = `${edge.url}/watch/${STREAM}?quality=v240&player=mse`;

  ctx.log(`p2p: ${n} pages, ${warmup / 1000} s warm-up, then ${ORDER.length} windows of ${window / 1000} s`);
  const pages = await openPages(browser, url, n);
  await sleep(warmup);
  const steady = await alternate(
    ctx,
    'steady',
    () => pages,
    5000,
    () => measure(edge.url, pages, window),
  );
  for (const p of pages) await p.close();
  // The same with half the pages: room left on the machine, so that what P2P's delivery path adds is not
  // what its extra work (each page hashing and passing chunks on) costs everyone on two saturated cores.
  const few = await openPages(browser, url, n / 2);
  await sleep(warmup);
  const headroom = await alternate(
    ctx,
    `${n / 2} pages`,
    () => few,
    5000,
    () => measure(edge.url, few, window),
    ORDER.slice(0, 4),
  );
  for (const p of few) await p.close();
  const churn = await churnPhase(ctx, edge.url, browser, url, n, warmup, window);
  await browser.close();
  await stop(pub);
  await edge.close();
  await ingress.close();

  const { on, off } = steady;
  const sOff = summarize(off.latencies);
  const sOn = summarize(on.latencies);
  const sChurn = summarize(churn.on.latencies);
  const offload = 1 - on.edgeBitsPerViewer / off.edgeBitsPerViewer;
  const added = sOn.p50 - sOff.p50;
  const kbps = (v: number) => `${fmt(v / 1000, 0)} kbit/s`;
  const lat = (s: ReturnType<typeof summarize>) => `${fmt(s.p50 / 1000, 3)} · ${fmt(s.p95 / 1000, 3)} s`;
  const signed = (v: number) => `${v >= 0 ? '+' : ''}${fmt(v, 0)}`;
  const each = ORDER.filter(Boolean).length;
  const windows = `${each} windows of ${window / 1000} s each way`;
  const rows: Row[] = [
    {
      section: 'p2p',
      what: `${n} viewers, one edge: edge upload per viewer, P2P on vs off (edge socket counter)`,
      tiercast: `${kbps(on.edgeBitsPerViewer)} vs ${kbps(off.edgeBitsPerViewer)}: offload ${fmt(offload * 100, 0)} % (ceiling ${fmt(100 * (1 - 1 / n), 1)} %)`,
      peer: 'p2p-media-loader / PeerTube: 20–70 % at 15–60 s latency',
      target: '≥ 60 %',
      met: offload >= 0.6,
    },
    {
      section: 'p2p',
      what: 'media the pages received from peers (their own count), fetched from the edge instead, given up',
      tiercast: `${fmt(on.peerShare * 100, 0)} %, ${on.refetched} refetched, ${on.lost} given up; a peer's copy ${on.lag ? `${on.lag.p50} ms p50 (median page), ${on.lag.p95} ms p95 (worst page)` : '—'} after the edge's digest`,
      peer: '',
      target: '',
    },
    {
      section: 'p2p',
      what: `glass-to-glass shown in Chromium, the same pages with P2P on vs off (${windows}, alternating), p50 · p95 (added p50; per pair of windows)`,
      tiercast: `${lat(sOn)} vs ${lat(sOff)} (${signed(added)} ms; ${steady.pairs.map(signed).join(', ')})`,
      peer: '',
      target: '≤ +100 ms p50',
      met: sOn.n > 0 && sOff.n > 0 && added <= 100,
    },
    {
      section: 'p2p',
      what: `with room on the machine: ${n / 2} pages, P2P on vs off (2 windows each way): glass-to-glass p50 (added; per pair), stalls, machine busy`,
      tiercast: `${fmt(summarize(headroom.on.latencies).p50 / 1000, 3)} vs ${fmt(summarize(headroom.off.latencies).p50 / 1000, 3)} s (${signed(summarize(headroom.on.latencies).p50 - summarize(headroom.off.latencies).p50)} ms; ${headroom.pairs.map(signed).join(', ')}), ${headroom.on.stalls} vs ${headroom.off.stalls} stalls, ${fmt(headroom.on.busy * 100, 0)} vs ${fmt(headroom.off.busy * 100, 0)} % busy`,
      peer: '',
      target: '',
    },
    {
      section: 'p2p',
      what: `what P2P costs a page: the browser's CPU per page, P2P on vs off, ${n} pages · ${n / 2} pages (renderer + browser, network service and GPU process)`,
      tiercast: `${cpuText(on.pageCpu)} vs ${cpuText(off.pageCpu)} · ${cpuText(headroom.on.pageCpu)} vs ${cpuText(headroom.off.pageCpu)}`,
      peer: '',
      target: '',
    },
    {
      section: 'p2p',
      what: `stalls over ${(each * window) / 1000} s on ${n} pages, P2P on vs off (longest picture freeze)`,
      tiercast: `${on.stalls} (${fmt(on.longestFreezeMs, 0)} ms) vs ${off.stalls} (${fmt(off.longestFreezeMs, 0)} ms)`,
      peer: '',
      target: 'no stall',
      met: on.stalls === 0,
    },
    {
      section: 'p2p',
      what: `churn: a viewer leaving every 5 s (${churn.left} left), longest picture freeze on the steady pages, P2P on vs off (stalls; freezes ≥ ${FREEZE_MS} ms)`,
      tiercast: `${fmt(churn.on.longestFreezeMs, 0)} ms (${churn.on.stalls}; ${churn.freezes.on.count}) vs ${fmt(churn.off.longestFreezeMs, 0)} ms (${churn.off.stalls}; ${churn.freezes.off.count})`,
      peer: '',
      target: '≤ off + one deadline (3 frames: 200 ms)',
      met:
        churn.on.longestFreezeMs <= churn.off.longestFreezeMs + (3 * 1000) / P2P_PUBLISHER.fps &&
        churn.on.lost === 0,
    },
    {
      section: 'p2p',
      what: 'churn, P2P on: glass-to-glass p50 · p95 (vs off), media from peers, chunks given up',
      tiercast: `${lat(sChurn)} (${lat(summarize(churn.off.latencies))}), ${fmt(churn.on.peerShare * 100, 0)} %, ${churn.on.lost}`,
      peer: '',
      target: '',
    },
  ];
  notes.push(
    `Pages: ${n} watch pages in one headless Chromium (each its own browser context), ?quality=v240 of v240 + v160 from a 426x240 source at 15 frames/s, a 480x400 window, the MSE player. P2P on and off are the same pages, switched by the viewer's own switch (the page's button) before each window, ${windows} in the order on, off, off, on, on, off, 5 s after each switch.`,
    `Machine CPU use over the windows (both cores): P2P off ${fmt(off.busy * 100, 0)} %, on ${fmt(on.busy * 100, 0)} %, churn on ${fmt(churn.on.busy * 100, 0)} %, churn off ${fmt(churn.off.busy * 100, 0)} %.`,
    'Offload is read at the edge: every byte it wrote to the viewers’ sockets (media, digests, signalling) per viewer per second, P2P on against off.',
    "The browser's CPU per page is read from /proc for every Chromium process alive at both ends of a window: renderers (the pages' script, decoding, WebRTC) apart from the rest (browser process, network service, GPU process in software).",
    `Churn, freezes of ${FREEZE_MS} ms or more on the steady pages (the bench's log has each with its context: the churn, the page's delivery events, its console): P2P on ${tallyText(churn.freezes.on)}; P2P off ${tallyText(churn.freezes.off)}.`,
  );
  return { name: 'peer-assisted delivery', rows, notes, plots: [] };
}
