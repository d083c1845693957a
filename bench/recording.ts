/**
 * 12. Recordings (issue 15). Recording cost: the ingress's Node process (its own utime + stime, ffmpeg
 * excluded) publishing one stream with five renditions (v720, v480, v360, v240 + audio), with and without
 * `recording` to a local directory, same clip and window. Clip time: a whole network in one process
 * (`node-role all --demo`, recording by default), a viewer account, and "clip the last 30 s" of the live
 * demo stream three times: the request's wall time, and the MP4's length read by ffprobe. DVR seek is
 * not built yet.
 */
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchContext } from './lib/context.js';
import { CLIP } from './lib/context.js';
import { run, sourceClip } from './lib/media-files.js';
import { CpuMeter, onCleanup, stop } from './lib/procs.js';
import type { Row, SectionResult } from './lib/report.js';
import { fmt, percentile, sleep } from './lib/stats.js';
import { rtmpPublishUrl, startAllProc, startPair, waitLive, type Rung } from './lib/tiercast.js';
import { publishClip } from './hop-latency.js';

/** The default ladder capped at the 720p source: four video rungs, plus the audio rendition. */
const LADDER: Rung[] = [
  { id: 'v720', height: 720, videoBitrateKbps: 2500 },
  { id: 'v480', height: 480, videoBitrateKbps: 1200 },
  { id: 'v360', height: 360, videoBitrateKbps: 700 },
  { id: 'v240', height: 240, videoBitrateKbps: 400 },
];
const CLIP_SECONDS = 30;

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

  // 2. Clips: node-role all --demo (records the demo stream), one viewer account, three clips of 30 s.
  const net = await startAllProc({ dataDir: tempDir('tiercast-bench-hub-'), ladder: LADDER });
  onCleanup(() => net.close());
  await waitLive(net.edgeUrl, 60_000, 'demo');
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
    const r = await fetch(`${net.edgeUrl}/api/channels/demo/clips`, {
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
      what: 'DVR seek (back into the live window)',
      tiercast: 'not built yet (issue 15, DVR)',
      peer: '',
      target: '',
    },
  ];
  const notes = [
    `Recording cost: one run each of ${window / 1000} s after ${warm / 1000} s of warm-up; the ingress (with an edge on it, no viewer) transcodes a looped ${CLIP.width}x${CLIP.height} ${CLIP.kbps} kbit/s clip into ${LADDER.length} video rungs + audio, all recorded (recording.renditions: all). Only the Node process's own CPU (threads included) is counted; its ffmpeg is not. Other engineers' jobs share the two cores: a difference of a few % is within the noise of one pair of runs.`,
    `Clips: node-role all --demo (hub, ingress recording to the hub's data directory, intermediate, edge, demo publisher in one process), the demo stream recorded for ≥ 36 s, then ${times.length} clips ${ctx.pick(10, 5)} s apart by one registered account through the edge; request times ${times.map((t) => `${fmt(t, 2)} s`).join(', ')}. The hub cuts at segment boundaries (keyframes, 1 s segments), so a clip may be up to a segment longer or shorter than asked.`,
  ];
  return { name: 'recordings', rows, notes, plots: [] };
}
