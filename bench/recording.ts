/**
 * 12. Recordings (issue 15). Recording cost: the ingress's Node process (its own utime + stime, ffmpeg
 * excluded) publishing one stream with five renditions (v720, v480, v360, v240 + audio), with and without
 * `recording` to a local directory, same clip and window. Clip time: a whole network in one process
 * (`node-role all`, recording by default) with the clock publisher, a viewer account, and "clip the last 30 s" of the live
 * stream three times: the request's wall time, and the MP4's length read by ffprobe. DVR seek: a minute back
 * on the watch page, the first frame of that minute read from the pixels (the publisher's burned-in clock).
 */
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchContext } from './lib/context.js';
import { CLIP } from './lib/context.js';
import { run, sourceClip } from './lib/media-files.js';
import { CpuMeter, onCleanup, startClockPublisher, stop } from './lib/procs.js';
import type { Row, SectionResult } from './lib/report.js';
import { fmt, percentile, sleep } from './lib/stats.js';
import {
  STREAM,
  STREAM_KEY,
  rtmpPublishUrl,
  startAllProc,
  startPair,
  waitLive,
  type Rung,
} from './lib/tiercast.js';
import { publishClip } from './hop-latency.js';
import { PUBLISHER } from './g2g-latency.js';
import { launchChromium, openProbedPage, readProbe } from './lib/browser.js';

/** The default ladder capped at the 720p source: four video rungs, plus the audio rendition. */
const LADDER: Rung[] = [
  { id: 'v720', height: 720, videoBitrateKbps: 2500 },
  { id: 'v480', height: 480, videoBitrateKbps: 1200 },
  { id: 'v360', height: 360, videoBitrateKbps: 700 },
  { id: 'v240', height: 240, videoBitrateKbps: 400 },
];
const CLIP_SECONDS = 30;
/** How far back the DVR seek goes (the issue's target: its first frame in ≤ 1 s). */
const DVR_BACK_S = 60;
const NODE_ROLE = join(import.meta.dirname, '..', 'bin', 'node-role.js');

/** A temporary directory, removed at clean-up. */
function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Bytes under a directory (what the recorder wrote). */
function duBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true }))
    if (e.isFile()) n += statSync(join(e.parentPath, e.name)).size;
  return n;
}

export async function recording(ctx: BenchContext): Promise<Omit<SectionResult, 'seconds'>> {
  const warm = ctx.pick(10, 3) * 1000;
  const window = ctx.pick(60, 15) * 1000;
  const clip = await sourceClip(CLIP.width, CLIP.height, CLIP.seconds, CLIP.kbps);

  // 1. The ingress's own CPU with and without recording: one run each, same clip, same window.
  const ingressRun = async (dir?: string): Promise<{ rate: number; bytes: number }> => {
    const rec = dir ? { enabled: true, storage: { kind: 'local', dir } } : undefined;
    const { ingress, edge } = await startPair({ ladder: LADDER, recording: rec });
    onCleanup(() => ingress.close());
    onCleanup(() => edge.close());
    const pub = publishClip(clip, [rtmpPublishUrl(ingress)]);
    onCleanup(() => stop(pub));
    await waitLive(edge.url);
    await sleep(warm);
    const bytes0 = dir ? duBytes(dir) : 0;
    const node = new CpuMeter(() => [ingress.pid]); // the Node process only: ffmpeg is its child
    node.start();
    await sleep(window);
    const n = node.read();
    const bytes = dir ? duBytes(dir) - bytes0 : 0;
    await stop(pub);
    await edge.close();
    await ingress.close();
    if (dir && bytes === 0) throw new Error(`the ingress recorded nothing into ${dir}`);
    return { rate: n.cpu / n.wall, bytes: bytes / n.wall };
  };
  ctx.log(`recording: ingress without recording, ${window / 1000} s`);
  const off = await ingressRun();
  ctx.log(`recording: ingress recording to a local directory, ${window / 1000} s`);
  const on = await ingressRun(tempDir('tiercast-bench-rec-'));
  const cost = on.rate - off.rate;

  // 2. One network (node-role all: hub, ingress recording to the hub's data directory, intermediate, edge),
  // the clock publisher as streamer "bench": three clips of 30 s, then DVR seeks a minute back in Chromium.
  const dataDir = tempDir('tiercast-bench-hub-');
  const added = await run('node', [
    NODE_ROLE,
    'streamer',
    'add',
    '--name',
    STREAM,
    '--key',
    STREAM_KEY,
    '--data-dir',
    dataDir,
  ]);
  if (added.code !== 0) throw new Error(`streamer add: ${added.stderr}`);
  const net = await startAllProc({ dataDir, ladder: LADDER, demo: false });
  onCleanup(() => net.close());
  startClockPublisher(PUBLISHER, [`${net.rtmpUrl}/${STREAM_KEY}`]);
  await waitLive(net.edgeUrl, 60_000);
  const liveAt = Date.now();
  const csrf = ((await (await fetch(`${net.edgeUrl}/api/auth/csrf`)).json()) as { csrf: string }).csrf;
  const headers = (session?: string) => ({
    'content-type': 'application/json',
    'x-tiercast-csrf': csrf,
    cookie: `tc_csrf=${csrf}${session ? `; tc_session=${session}` : ''}`,
  });
  const reg = await fetch(`${net.edgeUrl}/api/auth/register`, {
    method: 'POST',
    headers: headers(),
    body: JSON.stringify({ name: 'bench-viewer', password: 'bench-viewer-password-0123456789' }),
  });
  if (reg.status !== 201) throw new Error(`register: ${reg.status} ${await reg.text()}`);
  const session = /(?:^|\s)tc_session=([^;]+)/.exec(reg.headers.getSetCookie().join('\n'))?.[1];
  if (!session) throw new Error('register: no tc_session cookie');
  // The recording must hold more than the clip's 30 s.
  await sleep(Math.max(0, liveAt + 36_000 - Date.now()));
  const times: number[] = [];
  const lengths: number[] = [];
  const mp4 = join(tempDir('tiercast-bench-clip-'), 'clip.mp4');
  for (let i = 0; i < 3; i++) {
    if (i > 0) await sleep(ctx.pick(10, 5) * 1000); // spaced; 3 clips per account per minute
    const t0 = performance.now();
    const r = await fetch(`${net.edgeUrl}/api/channels/${STREAM}/clips`, {
      method: 'POST',
      headers: headers(session),
      body: JSON.stringify({ seconds: CLIP_SECONDS }),
    });
    const body = await r.text();
    times.push((performance.now() - t0) / 1000);
    if (r.status !== 201) throw new Error(`clip ${i + 1}: ${r.status} ${body}`);
    const made = (JSON.parse(body) as { clip: { mp4: string } }).clip;
    const file = await fetch(`${net.edgeUrl}${made.mp4}`);
    if (!file.ok) throw new Error(`clip ${i + 1} MP4 ${made.mp4}: ${file.status}`);
    writeFileSync(mp4, Buffer.from(await file.arrayBuffer()));
    const probe = await run('ffprobe', [
      '-v',
      'error',
      '-show_entries',
      'format=duration',
      '-of',
      'csv=p=0',
      mp4,
    ]);
    lengths.push(Number(probe.stdout.toString().trim()));
    ctx.log(`recording: clip ${i + 1} in ${fmt(times.at(-1), 2)} s, ${fmt(lengths.at(-1), 2)} s long`);
  }

  // 3. DVR: the watch page playing live; the seek bar dragged a minute back; the first frame of that
  // minute-old picture read from the pixels (its burned-in clock), then "Live" again. Three times.
  await sleep(Math.max(0, liveAt + DVR_BACK_S * 1000 + 12_000 - Date.now()));
  const seeks = await dvrSeeks(net.edgeUrl, ctx.pick(3, 2), (m) => ctx.log(m));
  await net.close();
  const pct = (v: number) => `${fmt(v * 100, 1)} %`;
  const mb = (v: number) => `${fmt((v * 8) / 1e6, 2)} Mbit/s`;
  const median = percentile(times, 50);
  const slowest = Math.max(...times);
  const rows: Row[] = [
    {
      section: 'recording',
      what: `ingress Node CPU per stream, 5 renditions (${LADDER.map((r) => r.id).join(', ')}, audio): recording vs not`,
      tiercast: `${pct(on.rate)} vs ${pct(off.rate)} of a core (recording ${mb(on.bytes)} to a local directory)`,
      peer: '',
      target: '',
    },
    {
      section: 'recording',
      what: 'recording cost: the difference, in % of one core',
      tiercast: `${cost >= 0 ? '+' : ''}${pct(cost)}`,
      peer: '',
      target: '≤ 3 % of a core',
      met: cost <= 0.03,
    },
    {
      section: 'recording',
      what: `clip the last ${CLIP_SECONDS} s of a live stream: request time (${times.length} clips)`,
      tiercast: `${fmt(median, 2)} s median, ${fmt(slowest, 2)} s max`,
      peer: '',
      target: '≤ 3 s',
      met: slowest <= 3,
    },
    {
      section: 'recording',
      what: `clip length (ffprobe), asked ${CLIP_SECONDS} s`,
      tiercast: lengths.map((l) => `${fmt(l, 1)} s`).join(', '),
      peer: '',
      target: `≈ ${CLIP_SECONDS} s`,
      met: lengths.every((l) => Math.abs(l - CLIP_SECONDS) <= 1.5),
    },
    {
      section: 'recording',
      what: `DVR seek ${DVR_BACK_S} s back on the watch page: drag to the first frame of that minute shown (pixels, ${seeks.length} seeks)`,
      tiercast: `${fmt(
        percentile(
          seeks.map((x) => x.firstFrameS),
          50,
        ),
        2,
      )} s median, ${fmt(Math.max(...seeks.map((x) => x.firstFrameS)), 2)} s max`,
      peer: '',
      target: '≤ 1 s',
      met: Math.max(...seeks.map((x) => x.firstFrameS)) <= 1,
    },
    {
      section: 'recording',
      what: 'where the DVR seek landed: the picture shown is this far behind the moment of the drag (asked 60 s)',
      tiercast: seeks.map((x) => `${fmt(x.landedS, 1)} s`).join(', '),
      peer: '',
      target: `≈ ${DVR_BACK_S} s (segments start on keyframes, 1 s apart)`,
      met: seeks.every((x) => Math.abs(x.landedS - DVR_BACK_S) <= 2),
    },
    {
      section: 'recording',
      what: '"Live" after a DVR seek: click to a picture less than 2 s old',
      tiercast: `${fmt(
        percentile(
          seeks.map((x) => x.backLiveS),
          50,
        ),
        2,
      )} s median, ${fmt(Math.max(...seeks.map((x) => x.backLiveS)), 2)} s max`,
      peer: '',
      target: '',
    },
  ];
  const notes = [
    `Recording cost: one run each of ${window / 1000} s after ${warm / 1000} s of warm-up; the ingress (with an edge on it, no viewer) transcodes a looped ${CLIP.width}x${CLIP.height} ${CLIP.kbps} kbit/s clip into ${LADDER.length} video rungs + audio, all recorded (recording.renditions: all). Only the Node process's own CPU (threads included) is counted; its ffmpeg is not. Other engineers' jobs share the two cores: a difference of a few % is within the noise of one pair of runs.`,
    `Clips: node-role all (hub, ingress recording to the hub's data directory, intermediate, edge in one process) with the clock publisher (${PUBLISHER.width}x${PUBLISHER.height}, ${PUBLISHER.fps} fps) as a streamer, recorded for ≥ 36 s, then ${times.length} clips ${ctx.pick(10, 5)} s apart by one registered account through the edge; request times ${times.map((t) => `${fmt(t, 2)} s`).join(', ')}. The hub cuts at segment boundaries (keyframes, 1 s segments), so a clip may be up to a segment longer or shorter than asked.`,
    `DVR seek: the same network, Chromium on /watch/${STREAM} playing live over WebSocket; the seek bar is set to −${DVR_BACK_S} s (a drag's change event), the live player closes and hls.js plays the broadcast's recording from the edge (/videos/ID/master.m3u8, read through its cache from the local directory). Time: from the drag to the first frame whose burned-in clock is more than ${DVR_BACK_S - 10} s old, by the frame's expected display time. Then "Live", and the next seek once a picture less than 2 s old is shown. Seeks: ${seeks.map((x) => `${fmt(x.firstFrameS, 2)} s to ${fmt(x.landedS, 1)} s back`).join('; ')}.`,
  ];
  return { name: 'recordings', rows, notes, plots: [] };
}

/**
 * DVR seeks on the watch page, timed from the pixels: per seek, the time from the drag to the first frame
 * that is a minute old, how old that frame was at the drag, and the time from "Live" back to a fresh picture.
 */
async function dvrSeeks(
  edgeUrl: string,
  n: number,
  log: (s: string) => void,
): Promise<Array<{ firstFrameS: number; landedS: number; backLiveS: number }>> {
  const browser = await launchChromium();
  onCleanup(() => browser.close());
  const p = await openProbedPage(browser, `${edgeUrl}/watch/${STREAM}`);
  const page = p.page;
  const latest = async () => (await readProbe(page)).samples.at(-1);
  const until = async <T>(what: string, fn: () => Promise<T | undefined>, ms = 20_000): Promise<T> => {
    const end = Date.now() + ms;
    for (;;) {
      const v = await fn();
      if (v !== undefined) return v;
      if (Date.now() > end) throw new Error(`DVR: ${what} not within ${ms / 1000} s`);
      await sleep(20);
    }
  };
  const fresh = async () => {
    const x = await latest();
    return x && Date.now() - x[1] < 2000 ? x : undefined;
  };
  await until('live picture', fresh, 30_000);
  await until(
    'seek bar',
    async () => ((await page.locator('#dvr-seek').isVisible()) ? true : undefined),
    30_000,
  );
  const out: Array<{ firstFrameS: number; landedS: number; backLiveS: number }> = [];
  for (let i = 0; i < n; i++) {
    const t0 = Date.now();
    await page.locator('#dvr-seek').fill(String(-DVR_BACK_S));
    const frame = await until('a minute-old frame', async () =>
      (await readProbe(page)).samples.find(
        ([shown, painted]) => shown >= t0 && painted < t0 - (DVR_BACK_S - 10) * 1000,
      ),
    );
    const seek = { firstFrameS: (frame[0] - t0) / 1000, landedS: (t0 - frame[1]) / 1000 };
    await sleep(3000);
    const t1 = Date.now();
    await page.locator('#dvr-live').click();
    const back = await until('a live picture again', async () => {
      const x = await fresh();
      return x && x[0] >= t1 ? x : undefined;
    });
    out.push({ ...seek, backLiveS: (back[0] - t1) / 1000 });
    log(
      `recording: DVR seek ${i + 1}: first frame in ${fmt(seek.firstFrameS, 2)} s, ${fmt(seek.landedS, 1)} s back; live again in ${fmt(out.at(-1)!.backLiveS, 2)} s`,
    );
    await sleep(3000);
  }
  await p.close();
  await browser.close();
  return out;
}
