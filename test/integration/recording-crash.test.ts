/**
 * Crash safety of recordings (issue 15): an ingress process killed with SIGKILL mid-broadcast leaves a
 * recording that plays up to its last whole segment. Nothing half-written is visible, the hub closes the
 * broadcast from what was recorded (its ingress never reported the end), and the edge plays it as a past
 * broadcast: its HLS decodes with ffmpeg, and so does the MP4 the operator's export makes of it.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { edgeSchema } from '../../src/common/config/index.js';
import { exportMp4 } from '../../src/common/recording/export.js';
import { readRecording, recordedSeconds } from '../../src/common/recording/playback.js';
import { LocalDirStore } from '../../src/common/storage/object-store.js';
import { startEdge } from '../../src/edge/main.js';
import { cliEnv, freePort } from '../helpers/hub-process.js';
import { KEY, SECRET, logger, publish, run, startTestHub, stop, waitFor } from '../helpers/network.js';

const dir = mkdtempSync(join(tmpdir(), 'tiercast-crash-'));
const recordings = join(dir, 'recordings');
after(() => rmSync(dir, { recursive: true, force: true }));

/** Every file under `d`, walked (the directory as the disk has it, not as the store lists it). */
function files(d: string): string[] {
  return readdirSync(d, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

test('an ingress killed with SIGKILL leaves a recording that plays up to its last whole segment', async () => {
  const storage = { kind: 'local', dir: recordings };
  const hub = await startTestHub({
    extra: { recordings: { storage, staleAfterMs: 2000 }, liveReportTimeoutMs: 8000 },
  });
  hub.store.streamers.add({ name: 'cam', key: KEY, title: 'Crash cam' });
  const [httpPort, rtmpPort] = [await freePort(), await freePort()];
  const config = join(dir, 'ingress.json');
  writeFileSync(
    config,
    JSON.stringify({
      nodeId: 'ingress-crash',
      http: { host: '127.0.0.1', port: httpPort },
      rtmp: { host: '127.0.0.1', port: rtmpPort },
      hub: { url: hub.url },
      transcode: {
        preset: 'ultrafast',
        ladder: [{ id: 'v240', height: 240, videoBitrateKbps: 300 }],
        restartBackoffMs: 100,
      },
      thumbnailIntervalMs: 1000,
      recording: { enabled: true, storage },
    }),
  );
  const ingress = spawn(process.execPath, ['bin/node-role.js', 'ingress', '-c', config], {
    env: cliEnv,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const edge = await startEdge(
    edgeSchema.parse({
      nodeId: 'edge-crash',
      clusterSecret: SECRET,
      http: { host: '127.0.0.1', port: 0 },
      upstream: { parents: [`ws://127.0.0.1:${httpPort}`] },
      hub: { url: hub.url, reconnectBackoffMaxMs: 300 },
      recordings: { storage },
    }),
    logger,
  );
  const store = new LocalDirStore(recordings);
  let pub;
  try {
    await waitFor(
      'the ingress',
      async () => (await fetch(`http://127.0.0.1:${httpPort}/healthz`).catch(() => undefined))?.ok,
      20_000,
    );
    pub = publish(`rtmp://127.0.0.1:${rtmpPort}/live`, KEY, 60);
    // Six whole segments of the rung recorded, then the ingress dies mid-segment, without a word.
    const indexed = async () =>
      (await store.list('cam/')).filter((o) => /\/v240\/\d{8}\.m4s$/.test(o.key)).length;
    await waitFor('six segments recorded', async () => (await indexed()) >= 6, 30_000);
    ingress.kill('SIGKILL');
    await new Promise((r) => ingress.once('exit', r));
    await stop(pub);
    pub = undefined;

    assert.ok(
      !(await store.list('')).some((o) => o.key.endsWith('.tmp')),
      'nothing half-written is an object',
    );
    const [id] = readdirSync(join(recordings, 'cam'));
    const t = (await readRecording(store, 'cam', id!))!;
    assert.equal(t.manifest.endedAt, undefined, 'the ingress never wrote the end');
    const seconds = recordedSeconds(t);
    assert.ok(seconds >= 5, `${seconds} s recorded`);
    const leftovers = files(recordings).filter((f) => f.endsWith('.tmp'));
    assert.ok(
      leftovers.length <= 4,
      `at most the writes in flight are left as temporary files (${leftovers.length})`,
    );

    // The hub hears nothing more from that ingress: it closes the broadcast from the recording.
    const listed = await waitFor(
      'the hub closes the broadcast',
      () => {
        const b = hub.store.broadcasts.get(id!);
        return b?.endedAt ? b : undefined;
      },
      30_000,
    );
    assert.equal(listed.title, 'Crash cam');
    assert.ok(Math.abs(listed.durationMs / 1000 - seconds) < 0.01, `listed ${listed.durationMs} ms`);

    // It plays: through the edge as a past broadcast, and as the operator's MP4.
    const r = await run(
      'ffmpeg',
      [
        '-hide_banner',
        '-v',
        'error',
        '-i',
        `${edge.url}/videos/${id}/master.m3u8`,
        '-map',
        '0:v:0',
        '-f',
        'null',
        '-',
        '-progress',
        'pipe:1',
      ],
      60_000,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr.trim(), '', 'decodes without errors');
    const decoded = Number([...r.stdout.matchAll(/^out_time_us=(\d+)$/gm)].at(-1)?.[1] ?? 0) / 1e6;
    assert.ok(Math.abs(decoded - seconds) < 1, `decoded ${decoded} s of ${seconds} s`);
    const mp4 = join(dir, 'crash.mp4');
    const e = await exportMp4({ store, base: `cam/${id}`, timeline: t, out: mp4 });
    assert.ok(Math.abs(e.seconds - seconds) < 1);
    const probe = await run('ffprobe', [
      '-v',
      'error',
      '-show_entries',
      'stream=codec_type',
      '-of',
      'csv=p=0',
      mp4,
    ]);
    assert.deepEqual(probe.stdout.trim().split('\n').sort(), ['audio', 'video']);
  } finally {
    if (pub) await stop(pub);
    if (ingress.exitCode === null && ingress.signalCode === null) ingress.kill('SIGKILL');
    store.close();
    await edge.close();
    await hub.close();
  }
});
