/**
 * 13. Restream outputs (issue 16). One network (`node-role all`) with streamer "bench" publishing the 720p
 * clip; one restream output to nginx-rtmp on loopback. Measured: the output's own ffmpeg (`-c copy`, the CPU
 * it costs on top of the ingress, % of one core), the time from the stream being live at the edge to the
 * output reporting live, and, after nginx is killed and started again, the time until the output is live
 * again (its backoff starts at 1 s). nginx-rtmp has no counterpart to compare (its `push` needs the stream
 * to be published to it).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchContext } from './lib/context.js';
import { CLIP } from './lib/context.js';
import { run, sourceClip } from './lib/media-files.js';
import { CpuMeter, childPids, onCleanup, stop } from './lib/procs.js';
import type { Row, SectionResult } from './lib/report.js';
import { fmt, sleep } from './lib/stats.js';
import { STREAM, STREAM_KEY, startAllProc, waitLive } from './lib/tiercast.js';
import { publishClip } from './hop-latency.js';
import { startNginxRtmp } from '../test/helpers/nginx-rtmp.js';

const NODE_ROLE = join(import.meta.dirname, '..', 'bin', 'node-role.js');
const OUTPUT_KEY = 'bench_restream_target_key';

/** The restream ffmpeg among a process tree's descendants (it pushes FLV read from pipe 3). */
function restreamPid(root: number): number | undefined {
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop()!;
    for (const c of childPids(pid)) {
      try {
        const cmd = readFileSync(`/proc/${c}/cmdline`, 'utf8');
        if (cmd.includes('pipe:3') && cmd.includes('-rtmp_live')) return c;
      } catch {
        // gone
      }
      stack.push(c);
    }
  }
  return undefined;
}

export async function restream(ctx: BenchContext): Promise<Omit<SectionResult, 'seconds'>> {
  const window = ctx.pick(40, 8) * 1000;
  const clip = await sourceClip(CLIP.width, CLIP.height, CLIP.seconds, CLIP.kbps);
  const nginx = await startNginxRtmp();
  onCleanup(() => nginx.stop());
  const dataDir = mkdtempSync(join(tmpdir(), 'tiercast-bench-restream-'));
  onCleanup(() => rmSync(dataDir, { recursive: true, force: true }));
  const added = await run('node', [NODE_ROLE, 'streamer', 'add', '--name', STREAM, '--key', STREAM_KEY, '--data-dir', dataDir]); // prettier-ignore
  if (added.code !== 0) throw new Error(`streamer add: ${added.stderr}`);
  const net = await startAllProc({ dataDir, demo: false, hub: { restream: { allowPrivateTargets: true } } });
  onCleanup(() => net.close());
  // One Basic login for a token: Basic credentials are rate-limited like any login, a token is not.
  const basic = { authorization: `Basic ${Buffer.from(`${STREAM}:${STREAM_KEY}`).toString('base64')}` };
  const token = ((await (await fetch(`${net.hubUrl}/api/v1/token`, { method: 'POST', headers: basic })).json()) as { token: string }).token; // prettier-ignore
  const auth = { authorization: `Bearer ${token}` };
  const made = await fetch(`${net.hubUrl}/api/v1/streams/${STREAM}/outputs`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'nginx', url: nginx.appUrl, key: OUTPUT_KEY }),
  });
  if (made.status !== 201) throw new Error(`add output: ${made.status} ${await made.text()}`);
  const state = async () => {
    const res = await fetch(`${net.hubUrl}/api/v1/streams/${STREAM}/outputs`, { headers: auth });
    const r = (await res.json()) as { outputs?: Array<{ state: string; reason?: string }> };
    if (!r.outputs) throw new Error(`list outputs: ${res.status} ${JSON.stringify(r)}`);
    return r.outputs[0];
  };
  const untilLive = async (what: string) => {
    const t0 = Date.now();
    for (;;) {
      if ((await state())?.state === 'live') return (Date.now() - t0) / 1000;
      if (Date.now() - t0 > 60_000)
        throw new Error(`${what}: the output is ${JSON.stringify(await state())}`);
      await sleep(100);
    }
  };

  const pub = publishClip(clip, [`${net.rtmpUrl}/${STREAM_KEY}`]);
  onCleanup(() => stop(pub));
  await waitLive(net.edgeUrl, 60_000);
  const toLive = await untilLive('after go-live');
  ctx.log(`restream: output live ${toLive.toFixed(1)} s after the stream; measuring ${window / 1000} s`);
  await sleep(2000);
  const pid = restreamPid(net.pid);
  if (!pid) throw new Error('no restream ffmpeg found');
  const meter = new CpuMeter(() => [pid]);
  meter.start();
  await sleep(window);
  const m = meter.read();
  const cpu = (m.cpu / m.wall) * 100;

  await nginx.stop();
  await sleep(2000);
  const t0 = Date.now();
  await nginx.start();
  await untilLive('after nginx restarted');
  const back = (Date.now() - t0) / 1000;
  await stop(pub);

  const rows: Row[] = [
    {
      section: 'restream',
      what: 'one output (720p30 top rendition, ffmpeg -c copy): its CPU, % of a core',
      tiercast: `${fmt(cpu, 1)} %`,
      peer: '—',
      target: '',
    },
    {
      section: 'restream',
      what: 'stream live at the edge → output live at the target',
      tiercast: `${fmt(toLive, 1)} s`,
      peer: '—',
      target: '',
    },
    {
      section: 'restream',
      what: 'target down 2 s, started again → output live again',
      tiercast: `${fmt(back, 1)} s`,
      peer: '—',
      target: '',
    },
  ];
  return {
    name: 'restream',
    rows,
    notes: [
      'The output reads the relay like any subscriber; the live path never waits for it. Its retry delay doubles from 1 s (up to 30 s), so the time back after an outage depends on how long the target was gone.',
    ],
    plots: [],
  };
}
