/**
 * 5. Time to first frame for a viewer joining a live stream: from the request to the first decodable
 * video frame having arrived (headless clients on fresh connections, the edge already holding the
 * stream). WebSocket: upgrade → info → init → first chunk (the edge starts every viewer at a segment
 * start, a keyframe). LL-DASH: MPD → init → the live segment's first chunk (moof+mdat). Peer HLS:
 * playlist → newest fragment. Peer RTMP: ffmpeg connecting to nginx-rtmp until it outputs a frame.
 */
import type { BenchContext } from './lib/context.js';
import { HttpConn, newCounters, WsViewer } from './lib/load-clients.js';
import { boxes } from './lib/media-files.js';
import { PEER_STREAM } from './lib/peer.js';
import { start, stop } from './lib/procs.js';
import type { Row, SectionResult } from './lib/report.js';
import { fmt, nowMs, sleep, summarize } from './lib/stats.js';
import { STREAM } from './lib/tiercast.js';
import type { Rig } from './fanout.js';

async function wsJoin(edgeUrl: string): Promise<number> {
  const u = new URL(edgeUrl);
  const t0 = nowMs();
  let first: number | undefined;
  const v = new WsViewer({
    host: u.hostname,
    port: Number(u.port),
    path: `/live/${STREAM}/ws`,
    counters: newCounters(),
    readBytesPerSec: 0,
    measure: false,
    onChunk: (r, _s, _c, at) => void (r.startsWith('v') && first === undefined && (first = at)),
  });
  await v.opened;
  const end = Date.now() + 5000;
  while (first === undefined && Date.now() < end) await sleep(2);
  v.close();
  return first === undefined ? NaN : first - t0;
}

const hasMdat = (body: Buffer[]) => boxes(Buffer.concat(body)).some(([t]) => t === 'mdat');

async function dashJoin(edgeUrl: string): Promise<number> {
  const u = new URL(edgeUrl);
  const c = new HttpConn(u.hostname, Number(u.port), { bytes: 0, errors: 0 });
  const t0 = nowMs();
  const mpd = (await c.get(`/live/${STREAM}/manifest.mpd`, true)).body?.toString() ?? '';
  const ast = Date.parse(/availabilityStartTime="([^"]+)"/.exec(mpd)?.[1] ?? '');
  const d = /<SegmentTemplate[^>]*timescale="(\d+)"[^>]*duration="(\d+)"/.exec(mpd);
  const segMs = d ? (Number(d[2]) / Number(d[1])) * 1000 : 1000;
  await c.get(`/live/${STREAM}/v720/init.mp4`);
  const n = Math.floor((Date.now() - ast) / segMs);
  const r = await c.get(`/live/${STREAM}/v720/${n}.m4s`, true, hasMdat);
  c.close();
  return r.status === 200 ? r.doneAt - t0 : NaN;
}

async function hlsJoin(baseUrl: string): Promise<number> {
  const u = new URL(baseUrl);
  const c = new HttpConn(u.hostname, Number(u.port), { bytes: 0, errors: 0 });
  const t0 = nowMs();
  const text = (await c.get(`/hls/${PEER_STREAM}.m3u8`, true)).body?.toString() ?? '';
  const names = text.split('\n').filter((l) => l.endsWith('.ts'));
  const r = await c.get(`/hls/${names[names.length - 1]}`);
  c.close();
  return r.status === 200 ? r.doneAt - t0 : NaN;
}

async function rtmpJoin(rtmpPort: number): Promise<number> {
  const t0 = nowMs();
  const p = start('ffmpeg', [
    '-hide_banner',
    '-loglevel',
    'error',
    '-nostdin',
    '-fflags',
    'nobuffer',
    '-flags',
    'low_delay',
    '-threads',
    '1',
    '-probesize',
    '32768',
    '-analyzeduration',
    '0',
    '-i',
    `rtmp://127.0.0.1:${rtmpPort}/live/${PEER_STREAM}`,
    '-map',
    '0:v:0',
    '-frames:v',
    '1',
    '-vf',
    'scale=64:36,format=gray',
    '-f',
    'rawvideo',
    'pipe:1',
  ]);
  const at = await new Promise<number>((resolve) => {
    const t = setTimeout(() => resolve(NaN), 8000);
    p.stdout!.once('data', () => {
      clearTimeout(t);
      resolve(nowMs());
    });
  });
  await stop(p, 500);
  return at - t0;
}

export async function ttff(ctx: BenchContext, rig: Rig): Promise<Omit<SectionResult, 'seconds'>> {
  const reps = ctx.pick(20, 3);
  const r = { ws: [] as number[], dash: [] as number[], hls: [] as number[], rtmp: [] as number[] };
  // ffmpeg's own start-up, to tell it apart from nginx-rtmp's part of the RTMP figure.
  const spawnT0 = nowMs();
  await new Promise<void>((resolve) =>
    start('ffmpeg', [
      '-hide_banner',
      '-loglevel',
      'error',
      '-f',
      'lavfi',
      '-i',
      'color=size=64x36',
      '-frames:v',
      '1',
      '-f',
      'null',
      '-',
    ]).once('exit', () => resolve()),
  );
  const ffmpegStartup = nowMs() - spawnT0;
  for (let i = 0; i < reps; i++) {
    await sleep(Math.random() * 1000);
    r.ws.push(await wsJoin(rig.edge.url));
    await sleep(Math.random() * 300);
    r.dash.push(await dashJoin(rig.edge.url));
    await sleep(Math.random() * 300);
    r.hls.push(await hlsJoin(rig.peer.httpUrl));
    if (i < ctx.pick(8, 2)) r.rtmp.push(await rtmpJoin(rig.peer.rtmpPort));
  }
  const S = Object.fromEntries(
    Object.entries(r).map(([k, v]) => [k, summarize(v.filter(Number.isFinite))]),
  ) as Record<keyof typeof r, ReturnType<typeof summarize>>;
  const f = (s: ReturnType<typeof summarize>) => `${fmt(s.p50)} · ${fmt(s.p95)} ms`;
  const rows: Row[] = [
    {
      section: 'time to first frame',
      what: 'WebSocket join → first decodable frame p50 · p95 (peer: RTMP)',
      tiercast: f(S.ws),
      peer: `RTMP ${f(S.rtmp)}`,
      target: '≤ 500 ms',
      met: S.ws.n > 0 && S.ws.p95 <= 500,
    },
    {
      section: 'time to first frame',
      what: 'HTTP join → first decodable frame p50 · p95 (LL-DASH / HLS)',
      tiercast: f(S.dash),
      peer: `HLS ${f(S.hls)}`,
      target: '≤ 500 ms',
      met: S.dash.n > 0 && S.dash.p95 <= 500,
    },
  ];
  const notes = [
    `${reps} joins per path at random moments (peer RTMP: ${r.rtmp.length}); max WS ${fmt(S.ws.max)} ms, LL-DASH ${fmt(S.dash.max)} ms, HLS ${fmt(S.hls.max)} ms, RTMP ${fmt(S.rtmp.max)} ms.`,
    `The RTMP figure includes starting ffmpeg (${fmt(ffmpegStartup)} ms for a trivial ffmpeg run here) and nginx-rtmp waiting for the next keyframe (1 s GOP); HLS counts the whole newest fragment downloaded.`,
  ];
  return { name: 'time to first frame', rows, notes, plots: [] };
}
