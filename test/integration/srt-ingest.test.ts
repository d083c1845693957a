/**
 * SRT ingest as OBS, vMix and ffmpeg do it: a real ffmpeg caller (`-f mpegts srt://HOST:PORT?streamid=KEY`,
 * libsrt) publishes to a real ingress; the edge serves the ladder and ffmpeg decodes it, its time advancing.
 * A wrong key is refused inside the handshake (ffmpeg's connect fails with the SRT rejection; nothing goes
 * live; no ffmpeg is started for it); the access-control form `#!::r=KEY,m=publish` works; a flood of
 * garbage and forged handshakes on the port leaves a publish in progress untouched; HEVC is refused with
 * UNSUPPORTED_CODEC; the key is in no log line.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { edgeSchema, ingressSchema } from '../../src/common/config/index.js';
import { startEdge, type EdgeNode } from '../../src/edge/main.js';
import { startIngress, type IngressNode } from '../../src/ingress/main.js';
import { run, SECRET, waitFor } from '../helpers/network.js';

const KEYS = {
  cam: 'srt-cam-key-000000001',
  other: 'srt-other-key-00000002',
  hevc: 'srt-hevc-key-000000003',
};
const logs: string[] = [];
const logger = pino({ level: 'debug' }, { write: (s: string) => void logs.push(s) });
let ingress: IngressNode;
let edge: EdgeNode;
const callers = new Set<ChildProcess>();

before(async () => {
  ingress = await startIngress(
    ingressSchema.parse({
      nodeId: 'ingress-srt',
      clusterSecret: SECRET,
      rtmp: { host: '127.0.0.1', port: 0 },
      http: { host: '127.0.0.1', port: 0 },
      srt: { enabled: true, host: '127.0.0.1', port: 0 },
      streamers: [
        { name: 'cam', key: KEYS.cam },
        { name: 'other', key: KEYS.other },
        { name: 'hevc', key: KEYS.hevc },
      ],
      transcode: {
        preset: 'ultrafast',
        ladder: [{ id: 'v240', height: 240, videoBitrateKbps: 300 }],
        restartBackoffMs: 100,
      },
    }),
    logger,
  );
  edge = await startEdge(
    edgeSchema.parse({
      nodeId: 'edge-srt',
      clusterSecret: SECRET,
      http: { host: '127.0.0.1', port: 0 },
      upstream: { parents: [ingress.url], idleUnsubscribeMs: 2000 },
    }),
    pino({ level: 'silent' }),
  );
});

after(async () => {
  // TIERCAST_TEST_DUMP=FILE keeps the ingress's log lines of the run for a look afterwards.
  if (process.env.TIERCAST_TEST_DUMP) writeFileSync(process.env.TIERCAST_TEST_DUMP, logs.join(''));
  for (const c of callers) c.kill('SIGKILL');
  await edge?.close();
  await ingress?.close();
});

/** A real SRT caller: ffmpeg encoding a test pattern and tone, MPEG-TS over SRT, as OBS sends it. */
function srtCaller(streamId: string, o: { video?: string; seconds?: number } = {}) {
  const url = `srt://127.0.0.1:${ingress.srtPort}?streamid=${streamId}&latency=120000`;
  const p = spawn(
    'ffmpeg',
    [
      ...['-hide_banner', '-loglevel', 'error', '-nostdin', '-re'],
      ...['-f', 'lavfi', '-i', `testsrc=size=320x240:rate=30:duration=${o.seconds ?? 180}`],
      ...['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${o.seconds ?? 180}`],
      ...(o.video === 'hevc'
        ? ['-c:v', 'libx265', '-preset', 'ultrafast', '-x265-params', 'log-level=error']
        : ['-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency']),
      ...['-g', '30', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '64k'],
      ...['-f', 'mpegts', url],
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  callers.add(p);
  let stderr = '';
  p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; stderr: string; ms: number }>((resolve) => {
    const t0 = Date.now();
    p.once('exit', (code) => {
      callers.delete(p);
      resolve({ code, stderr, ms: Date.now() - t0 });
    });
  });
  return { proc: p, exited, stop: () => p.kill('SIGTERM') };
}

async function liveOnEdge(name: string): Promise<void> {
  await waitFor(
    `${name} is served by the edge`,
    async () => {
      const r = await fetch(`${edge.url}/live/${name}/v240/playlist.m3u8`);
      return r.ok && (await r.text()).includes('#EXTINF');
    },
    30_000,
    200,
  );
}

/**
 * Presentation time of the newest video ffmpeg reads from the edge's HLS rendition, in seconds, after
 * decoding two seconds of it without an error. A read may land on the moment a segment is being replaced:
 * it is tried three times.
 */
async function edgeVideoTime(name: string): Promise<number> {
  const url = `${edge.url}/live/${name}/v240/playlist.m3u8`;
  let last = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const r = await run('ffmpeg', ['-v', 'error', '-i', url, '-t', '2', '-f', 'null', '-'], 60_000);
    const p = await run('ffprobe', [
      ...['-v', 'error', '-read_intervals', '%+2', '-select_streams', 'v:0'],
      ...['-show_entries', 'packet=pts_time', '-of', 'csv=p=0', url],
    ]);
    const times = p.stdout
      .trim()
      .split('\n')
      .map(Number)
      .filter((t) => Number.isFinite(t));
    if (r.code === 0 && times.length > 10) return Math.max(...times);
    last = `decode: ${r.code} ${r.stderr.slice(0, 300)}; packets: ${times.length}`;
    await sleep(500);
  }
  assert.fail(`${name} does not play from the edge: ${last}`);
}

/** ffmpeg processes the SRT front started (SupervisedProcess logs each spawn with its arguments). */
function srtFfmpegSpawns(): string[] {
  return logs.filter((l) => l.includes('"module":"ingress/srt"') && l.includes('ffmpeg spawned'));
}

async function publishRejected(code: string): Promise<number> {
  const text = await ingress.metrics.registry.metrics();
  const re = new RegExp(`tiercast_ingress_publish_rejected_total\\{[^}]*code="${code}"[^}]*\\} (\\d+)`);
  return Number(re.exec(text)?.[1] ?? 0);
}

describe('SRT ingest', () => {
  it('a publish with the key as streamid goes live, plays from the edge, and its time advances', async () => {
    const c = srtCaller(KEYS.cam);
    const t0 = Date.now();
    await liveOnEdge('cam');
    const liveAfterMs = Date.now() - t0;
    const first = await edgeVideoTime('cam');
    await sleep(2000);
    const second = await edgeVideoTime('cam');
    assert.ok(second > first + 1, `the edge's video time advances (${first} → ${second})`);
    assert.ok(liveAfterMs < 15_000, `live within 15 s (took ${liveAfterMs} ms)`);
    const spawns = srtFfmpegSpawns();
    assert.equal(spawns.length, 1, 'one ffmpeg listener for the publish');
    assert.match(spawns[0]!, /mode=listener/);
    assert.equal(spawns[0]!.includes(KEYS.cam), false, "the key is not in ffmpeg's arguments");
    c.stop();
    const gone = await c.exited;
    assert.notEqual(gone.stderr.includes('rejected'), true, gone.stderr);
    await waitFor('cam ends when the caller hangs up', () => !ingress.live.has('cam'), 15_000);
  });

  it('a wrong key is refused in the handshake: the caller fails at once, nothing goes live', async () => {
    const before = await publishRejected('BAD_STREAM_KEY');
    const spawnsBefore = srtFfmpegSpawns().length;
    const c = srtCaller('not-a-key-of-anyone-0000');
    const r = await c.exited;
    assert.notEqual(r.code, 0, 'the SRT caller fails');
    assert.match(r.stderr, /reject/i, `the caller is told it was rejected: ${r.stderr}`);
    assert.ok(r.ms < 3000, `refused at once (${r.ms} ms), not by a timeout`);
    assert.equal(ingress.live.size, 0);
    assert.equal(srtFfmpegSpawns().length, spawnsBefore, 'no ffmpeg was started for a wrong key');
    assert.equal(
      await publishRejected('BAD_STREAM_KEY'),
      before + 1,
      'counted once (retransmits answered the same)',
    );
    const forPlayer = srtCaller(`#!::r=${KEYS.cam},m=request`);
    assert.notEqual((await forPlayer.exited).code, 0, 'm=request (a player) is not a publish');
    assert.equal(ingress.live.size, 0);
    assert.equal(srtFfmpegSpawns().length, spawnsBefore);
  });

  it('the access-control form #!::r=KEY,m=publish works too', async () => {
    const c = srtCaller(`#!::r=${KEYS.other},m=publish`);
    await liveOnEdge('other');
    assert.ok((await edgeVideoTime('other')) > 0);
    c.stop();
    await c.exited;
    await waitFor('other ends', () => !ingress.live.has('other'), 15_000);
  });

  it('a flood of garbage and forged handshakes does not disturb a publish in progress', async () => {
    const c = srtCaller(KEYS.cam);
    await liveOnEdge('cam');
    const first = await edgeVideoTime('cam');
    const flood = dgram.createSocket('udp4');
    const induction = Buffer.alloc(64);
    induction.writeUInt32BE(0x80000000, 0);
    induction.writeUInt32BE(4, 16);
    induction.writeUInt32BE(2, 20);
    induction.writeUInt32BE(1, 36);
    const forged = Buffer.from(induction);
    forged.writeUInt32BE(5, 16);
    forged.writeUInt32BE(0xffffffff, 36);
    forged.writeUInt32BE(0x12345678, 44); // a cookie it never got
    const t0 = Date.now();
    let sent = 0;
    while (Date.now() - t0 < 3000) {
      for (let i = 0; i < 60; i++) {
        const kind = i % 3;
        flood.send(
          kind === 0 ? Buffer.from([i, 1, 2, 3, 4, 5]) : kind === 1 ? induction : forged,
          ingress.srtPort,
          '127.0.0.1',
        );
        sent++;
      }
      await sleep(10);
    }
    flood.close();
    const second = await edgeVideoTime('cam');
    assert.ok(second > first + 2, `cam kept going through ${sent} flood datagrams (${first} → ${second})`);
    assert.ok(ingress.live.get('cam')?.isLive, 'still live');
    const metrics = await ingress.metrics.registry.metrics();
    assert.match(metrics, /tiercast_protocol_errors_total\{[^}]*code="SRT_HANDSHAKE_FAILED"[^}]*\} [1-9]/);
    c.stop();
    await c.exited;
    await waitFor('cam ends', () => !ingress.live.has('cam'), 15_000);
  });

  it('HEVC over SRT is refused with UNSUPPORTED_CODEC', async () => {
    const c = srtCaller(KEYS.hevc, { video: 'hevc', seconds: 20 });
    await waitFor(
      'UNSUPPORTED_CODEC logged',
      () => logs.some((l) => l.includes('UNSUPPORTED_CODEC') && l.includes('hevc')),
      20_000,
    );
    await waitFor('hevc is not live', () => !ingress.live.has('hevc'), 10_000);
    c.stop();
    await c.exited;
  });

  it('the stream keys appear in no log line', () => {
    const all = logs.join('\n');
    assert.ok(all.includes('SRT publisher connected'), 'the ingress logged the SRT publishes');
    for (const k of Object.values(KEYS)) assert.equal(all.includes(k), false, `key ${k} in the logs`);
  });
});
