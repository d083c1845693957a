/**
 * 6. Transcoding cost: CPU per stream for the default ladder, tiercast's ingress (the Node process: RTMP,
 * FLV to ffmpeg's stdin, box splitting, CMAF segmenting, relay to one child) plus its ffmpeg, against
 * ffmpeg alone running the same command line (built by the same ladder.ts) reading the same clip at the
 * same real-time pace and writing to /dev/null. Runs alternate plain/tiercast/plain; the overhead is the
 * difference over the plain runs' mean.
 */
import type { BenchContext } from './lib/context.js';
import { CLIP } from './lib/context.js';
import { LoadGen } from './lib/load.js';
import { sourceClip } from './lib/media-files.js';
import { childPids, commOf, CpuMeter, onCleanup, start, stop } from './lib/procs.js';
import type { Row, SectionResult } from './lib/report.js';
import { fmt, sleep } from './lib/stats.js';
import { rtmpPublishUrl, startPair, STREAM, waitLive } from './lib/tiercast.js';
import { publishClip } from './hop-latency.js';
import { buildFfmpegPlan, defaultTranscodeOptions } from '../src/ingress/transcoder/ladder.js';

export async function transcodeCost(ctx: BenchContext): Promise<Omit<SectionResult, 'seconds'>> {
  const warm = ctx.pick(5, 2) * 1000;
  const window = ctx.pick(25, 5) * 1000;
  const clip = await sourceClip(CLIP.width, CLIP.height, CLIP.seconds, CLIP.kbps);
  const plan = buildFfmpegPlan(defaultTranscodeOptions({ sourceHeight: CLIP.height }), {
    hasAudio: true,
    hasVideo: true,
  });
  const toPlain = (planArgs: string[]): string[] => {
    const args = [...planArgs];
    const i = args.indexOf('pipe:0');
    args.splice(i - 1, 2, '-re', '-stream_loop', '-1', '-i', clip);
    return ['-y', ...args.map((a) => (/^pipe:\d+$/.test(a) ? '/dev/null' : a))];
  };
  const plainArgs = toPlain(plan.args);
  const renditions = plan.outputs.map((o) => o.rendition).join(', ');
  // Transcode off: the publisher's H.264 copied as the "src" rendition, only the audio is encoded.
  const offPlan = buildFfmpegPlan(
    defaultTranscodeOptions({ sourceHeight: CLIP.height, passthrough: true, videoTranscodeOff: true }),
    { hasAudio: true, hasVideo: true },
  );

  const plainRun = async (runArgs = plainArgs): Promise<{ cpu: number; wall: number }> => {
    const p = start('ffmpeg', runArgs);
    onCleanup(() => stop(p));
    await sleep(warm);
    const m = new CpuMeter(() => [p.pid!]);
    m.start();
    await sleep(window);
    const r = m.read();
    await stop(p);
    if (p.exitCode !== null && p.exitCode !== 255 && p.exitCode !== 0 && r.cpu === 0)
      throw new Error(`plain ffmpeg failed: ${p.output()}`);
    return r;
  };

  const tiercastRun = async (): Promise<{ cpu: number; node: number; ffmpeg: number; wall: number }> => {
    const { ingress, edge } = await startPair({});
    onCleanup(() => ingress.close());
    onCleanup(() => edge.close());
    const pub = publishClip(clip, [rtmpPublishUrl(ingress)]);
    onCleanup(() => stop(pub));
    await waitLive(edge.url);
    const load = new LoadGen();
    await load.request('ws', {
      group: 'one',
      url: `${edge.url.replace('http', 'ws')}/live/${STREAM}/ws`,
      count: 1,
    });
    await sleep(warm);
    const ff = childPids(ingress.pid).filter((p) => commOf(p) === 'ffmpeg');
    const node = new CpuMeter(() => [ingress.pid]);
    const ffm = new CpuMeter(() => ff);
    node.start();
    ffm.start();
    await sleep(window);
    const n = node.read();
    const f = ffm.read();
    await load.close();
    await stop(pub);
    await edge.close();
    await ingress.close();
    return { cpu: n.cpu + f.cpu, node: n.cpu, ffmpeg: f.cpu, wall: n.wall };
  };

  ctx.log(`transcode: plain ffmpeg, ${window / 1000} s`);
  const p1 = await plainRun();
  ctx.log(`transcode: tiercast ingress, ${window / 1000} s`);
  const t = await tiercastRun();
  const plains = [p1];
  if (!ctx.quick) {
    ctx.log(`transcode: plain ffmpeg again, ${window / 1000} s`);
    plains.push(await plainRun());
  }
  ctx.log(`transcode: plain ffmpeg, passthrough only (transcode off), ${window / 1000} s`);
  const off = await plainRun(toPlain(offPlan.args));
  const offRate = off.cpu / off.wall;
  const plainRate = plains.reduce((a, p) => a + p.cpu / p.wall, 0) / plains.length;
  const tRate = t.cpu / t.wall;
  // tiercast's own overhead: its Node process, measured against ffmpeg alone. The total difference is a
  // cross-check: it also carries the run-to-run spread of x264 (a few % between identical runs here).
  const own = t.node / t.wall / plainRate;
  const total = (tRate - plainRate) / plainRate;
  const pct = (v: number) => `${v >= 0 ? '+' : ''}${fmt(v * 100, 1)} %`;
  const rows: Row[] = [
    {
      section: 'transcoding',
      what: `CPU per stream, default ladder (${CLIP.height}p source): tiercast ingress vs ffmpeg alone`,
      tiercast: `${fmt(tRate * 100, 1)} % of a core (Node ${fmt((t.node / t.wall) * 100, 1)} %, ffmpeg ${fmt((t.ffmpeg / t.wall) * 100, 1)} %)`,
      peer: `ffmpeg alone ${fmt(plainRate * 100, 1)} % (nginx-rtmp does not transcode)`,
      target: '',
    },
    {
      section: 'transcoding',
      what: "tiercast's overhead on ffmpeg: its Node process (total difference)",
      tiercast: `${pct(own)} (${pct(total)})`,
      peer: '',
      target: '≤ 5 %',
      met: own <= 0.05 && total <= 0.05,
    },
    {
      section: 'transcoding',
      what: `CPU per stream: passthrough only (transcode off) vs default ladder, ffmpeg alone (${CLIP.height}p source)`,
      tiercast: `${fmt(offRate * 100, 1)} % of a core vs ${fmt(plainRate * 100, 1)} % (${offPlan.outputs.map((o) => o.rendition).join(', ')} vs ${renditions})`,
      peer: '',
      target: '',
    },
  ];
  const notes = [
    `Renditions: ${renditions} (the default ladder capped at the ${CLIP.height}p source), x264 ${defaultTranscodeOptions().preset}, 1 s segments of 200 ms chunks; source: ${CLIP.width}x${CLIP.height} 30 fps ${CLIP.kbps} kbit/s H.264 + AAC, looped, read in real time.`,
    `ffmpeg alone: ${plains.map((p) => `${fmt((p.cpu / p.wall) * 100, 1)} %`).join(', ')} of a core; tiercast's ffmpeg alone: ${fmt((t.ffmpeg / t.wall) * 100, 1)} %, its Node process: ${fmt((t.node / t.wall) * 100, 1)} %.`,
    "Run-to-run spread of ffmpeg alone is the noise floor of this row (other engineers' jobs share the two cores).",
  ];
  return { name: 'transcoding cost', rows, notes, plots: [] };
}
