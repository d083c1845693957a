/**
 * Recording at the ingress (issue 15, part 1), with real ffmpeg publishing over RTMP and a real transcoder:
 * a broadcast with a transcoder killed in the middle is written to storage — a local directory, and a real
 * S3-compatible server (s3rver) — as init segments, whole CMAF segments and a timeline. Read back, each epoch
 * of each rendition decodes with ffmpeg from its init and segments, and together they cover the broadcast
 * but for the restart; the manifest names both epochs and how the broadcast ended. Recording never holds
 * the live stream up, and storage that cannot be written stops the ingress at start with a clear error.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ingressSchema } from '../../src/common/config/index.js';
import { accessCookie, deriveKey, signAccess } from '../../src/common/protocol/session-tokens.js';
import type { BroadcastManifest, IndexEntry } from '../../src/common/recording/stream-recorder.js';
import { LocalDirStore, type ObjectStore } from '../../src/common/storage/object-store.js';
import { S3Store } from '../../src/common/storage/s3-store.js';
import { startIngress } from '../../src/ingress/main.js';
import {
  KEY,
  SECRET,
  logger,
  publish,
  run,
  startNetwork,
  startTestHub,
  stop,
  waitFor,
} from '../helpers/network.js';
import { startS3, type TestS3 } from '../helpers/s3.js';
import { cli } from '../helpers/hub-process.js';

const writeJson = (file: string, data: unknown) => {
  writeFileSync(file, JSON.stringify(data));
  return file;
};

const dir = mkdtempSync(join(tmpdir(), 'tiercast-recording-'));
let s3: TestS3;
let endpoint = '';

before(async () => {
  s3 = await startS3(dir);
  endpoint = s3.endpoint;
});

after(async () => {
  await s3.close();
  rmSync(dir, { recursive: true, force: true });
});

const s3Storage = () => ({
  kind: 's3',
  endpoint,
  bucket: 'recordings',
  prefix: 'rec',
  accessKeyId: 'S3RVER',
  secretAccessKey: 'S3RVER',
});

const ingressConfig = (storage: Record<string, unknown>) =>
  ingressSchema.parse({
    nodeId: 'ingress-rec',
    clusterSecret: SECRET,
    rtmp: { host: '127.0.0.1', port: 0 },
    http: { host: '127.0.0.1', port: 0 },
    streamers: [{ name: 'cam', key: KEY }],
    transcode: {
      preset: 'ultrafast',
      ladder: [
        { id: 'v360', height: 360, videoBitrateKbps: 600 },
        { id: 'v180', height: 180, videoBitrateKbps: 200 },
      ],
      restartBackoffMs: 100,
    },
    recording: { enabled: true, storage },
  });

/** Decodes init + segments with ffmpeg; the seconds of media it found. */
async function decodedSeconds(
  store: ObjectStore,
  base: string,
  rendition: string,
  epoch: number,
  entries: IndexEntry[],
) {
  const parts = [(await store.get(`${base}/${rendition}/init-${epoch}.mp4`))!];
  for (const e of entries.filter((x) => x.epoch === epoch))
    parts.push((await store.get(`${base}/${rendition}/${String(e.segment).padStart(8, '0')}.m4s`))!);
  assert.ok(parts.every(Boolean), `every object of ${rendition} epoch ${epoch} is there`);
  const file = join(dir, `${rendition}-${epoch}-${Date.now()}.mp4`);
  writeFileSync(file, Buffer.concat(parts));
  // Decoded to nowhere: fails on a broken file; -progress tells the media time decoded (from 0).
  const r = await run(
    'ffmpeg',
    ['-hide_banner', '-v', 'error', '-i', file, '-map', '0:0', '-f', 'null', '-', '-progress', 'pipe:1'],
    60_000,
  );
  assert.equal(r.code, 0, `${rendition} epoch ${epoch} decodes: ${r.stderr.slice(0, 300)}`);
  assert.equal(r.stderr.trim(), '', `${rendition} epoch ${epoch} decodes without errors`);
  const us = [...r.stdout.matchAll(/^out_time_us=(\d+)$/gm)].at(-1)?.[1];
  return Number(us ?? 0) / 1e6;
}

/** ffmpeg decodes a URL (a playlist or an MPD) to nothing: its stderr must be empty; the seconds decoded. */
async function decodeUrl(url: string, map = '0:v:0'): Promise<number> {
  const r = await run(
    'ffmpeg',
    ['-hide_banner', '-v', 'error', '-i', url, '-map', map, '-f', 'null', '-', '-progress', 'pipe:1'],
    60_000,
  );
  assert.equal(r.code, 0, `${url} decodes: ${r.stderr.slice(0, 300)}`);
  assert.equal(r.stderr.trim(), '', `${url} decodes without errors`);
  const us = [...r.stdout.matchAll(/^out_time_us=(\d+)$/gm)].at(-1)?.[1];
  return Number(us ?? 0) / 1e6;
}

/** A viewer account registered through the edge: the headers its state-changing calls carry. */
async function registerViewer(edge: string, name: string) {
  const csrf = ((await (await fetch(`${edge}/api/auth/csrf`)).json()) as { csrf: string }).csrf;
  const base = { 'content-type': 'application/json', 'x-tiercast-csrf': csrf };
  const reg = await fetch(`${edge}/api/auth/register`, {
    method: 'POST',
    headers: { ...base, cookie: `tc_csrf=${csrf}` },
    body: JSON.stringify({ name, password: 'hunter2hunter2' }),
  });
  assert.equal(reg.status, 201, await reg.clone().text());
  const session = reg.headers
    .getSetCookie()
    .find((c) => c.startsWith('tc_session='))!
    .split(';')[0]!;
  return { csrf, headers: { ...base, cookie: `${session}; tc_csrf=${csrf}` } };
}

const remote = (edge: string, method: string, path: string, body?: unknown) =>
  fetch(`${edge.replace(/\/$/, '')}${path}`, {
    method,
    headers: {
      authorization: `Basic ${Buffer.from(`cam:${KEY}`).toString('base64')}`,
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });

for (const [name, storage, open] of [
  [
    'a local directory',
    () => ({ kind: 'local', dir: join(dir, 'local') }),
    () => new LocalDirStore(join(dir, 'local')),
  ],
  [
    'S3-compatible storage',
    s3Storage,
    () => new S3Store({ ...s3Storage(), region: 'us-east-1', requestTimeoutMs: 5000 }),
  ],
] as const) {
  describe(`recording to ${name}`, () => {
    it('a broadcast with a transcoder restart is recorded whole, listed by the hub and played back by the edge', async () => {
      const hub = await startTestHub({
        extra: { recordings: { storage: storage() }, directoryPushIntervalMs: 1000 },
      });
      hub.store.streamers.add({ name: 'cam', key: KEY, title: 'Test cam', category: 'Testing' });
      const net = await startNetwork({
        hub,
        ingress: { recording: { enabled: true, storage: storage() } },
        edge: { recordings: { storage: storage() } },
      });
      const ingress = net.ingress;
      const store: ObjectStore = open();
      try {
        const pub = publish(net.rtmpUrl, KEY, 30);
        await waitFor('live', () => ingress.live.get('cam')?.isLive, 20_000);
        await new Promise((r) => setTimeout(r, 4000));
        const pid = ingress.live.get('cam')!.transcoderPid!;
        process.kill(pid, 'SIGKILL');
        await waitFor('the transcoder restarted', () => {
          const p = ingress.live.get('cam')?.transcoderPid;
          return p !== undefined && p !== pid;
        });
        await new Promise((r) => setTimeout(r, 5000));
        // A viewer with an account clips the last 8 s while it is live: across the restart, cut at keyframes.
        const viewer = await registerViewer(net.edgeUrl, 'clipper');
        const clipStarted = Date.now();
        const made = await fetch(`${net.edgeUrl}/api/channels/cam/clips`, {
          method: 'POST',
          headers: viewer.headers,
          body: JSON.stringify({ seconds: 8 }),
        });
        assert.equal(made.status, 201, await made.clone().text());
        const clipMs = Date.now() - clipStarted;
        const { clip } = (await made.json()) as {
          clip: { id: string; url: string; mp4: string; durationMs: number };
        };
        assert.match(clip.url, /^\/clips\/[0-9a-f]{12}$/);
        const refused = await fetch(`${net.edgeUrl}/api/channels/cam/clips`, {
          method: 'POST',
          headers: viewer.headers,
          body: JSON.stringify({ seconds: 3600 }),
        });
        assert.equal(refused.status, 400, 'an absurd length is refused');
        const anonymous = await fetch(`${net.edgeUrl}/api/channels/cam/clips`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-tiercast-csrf': viewer.csrf,
            cookie: `tc_csrf=${viewer.csrf}`,
          },
          body: '{}',
        });
        assert.equal(anonymous.status, 401, 'clips need an account');
        // While it is live, its recording so far plays over HLS from the start (a growing EVENT playlist).
        const live = (
          (await (await fetch(`${net.edgeUrl}/api/channels/cam/videos`)).json()) as {
            videos: Array<{ id: string; live: boolean }>;
          }
        ).videos.find((x) => x.live)!;
        const growing = await (await fetch(`${net.edgeUrl}/videos/${live.id}/v240/playlist.m3u8`)).text();
        assert.match(growing, /#EXT-X-PLAYLIST-TYPE:EVENT/);
        assert.ok(!growing.includes('#EXT-X-ENDLIST'), 'no end while live');
        assert.ok((growing.match(/^\d{8}\.m4s$/gm)?.length ?? 0) >= 4, growing);
        const firstSegment = /^(\d{8}\.m4s)$/m.exec(growing)![1]!;
        assert.equal((await fetch(`${net.edgeUrl}/videos/${live.id}/v240/${firstSegment}`)).status, 200);
        const dynamic = await (await fetch(`${net.edgeUrl}/videos/${live.id}/manifest.mpd`)).text();
        assert.match(
          dynamic,
          /type="dynamic"[^>]* timeShiftBufferDepth="PT7200\.000S"/,
          'a DVR window over it',
        );
        // What the watch page's seek bar spans: the recording so far, by the edge's clock.
        const window = (await (await fetch(`${net.edgeUrl}/videos/${live.id}/window.json`)).json()) as {
          live: boolean;
          windowS: number;
          from: number;
          to: number;
          now: number;
        };
        assert.equal(window.live, true);
        assert.equal(window.windowS, 7200);
        assert.ok(window.to - window.from >= 4000, `at least four segments: ${JSON.stringify(window)}`);
        assert.ok(window.to <= window.now && window.now - window.to < 5000, 'it ends near now');
        for (const bad of [
          `/videos/..%2F..%2Fetc/window.json`,
          `/videos/20200101T000000Z-0badc0de/window.json`,
        ])
          assert.equal((await fetch(`${net.edgeUrl}${bad}`)).status, 404, bad);
        await stop(pub);
        await waitFor('the stream to end', () => !ingress.live.has('cam'), 10_000);
        const clipFile = join(dir, `clip-${clip.id}.mp4`);
        const clipRes = await fetch(`${net.edgeUrl}${clip.mp4}`);
        assert.equal(clipRes.status, 200);
        writeFileSync(clipFile, Buffer.from(await clipRes.arrayBuffer()));
        const clipProbe = JSON.parse(
          (
            await run('ffprobe', [
              '-v',
              'error',
              '-show_entries',
              'stream=codec_type:format=duration',
              '-of',
              'json',
              clipFile,
            ])
          ).stdout,
        ) as { streams: Array<{ codec_type: string }>; format: { duration: string } };
        assert.deepEqual(clipProbe.streams.map((x) => x.codec_type).sort(), ['audio', 'video']);
        const clipSeconds = Number(clipProbe.format.duration);
        assert.ok(
          clipSeconds >= 7 && clipSeconds <= 10.5,
          `the clip is ${clipSeconds} s (8 s asked, whole segments)`,
        );
        const part = await fetch(`${net.edgeUrl}${clip.mp4}`, { headers: { range: 'bytes=0-99' } });
        assert.equal(part.status, 206, 'players seek in a clip by ranges');
        assert.equal((await part.arrayBuffer()).byteLength, 100);
        assert.equal(
          (await fetch(`${net.edgeUrl}/clips/${clip.id}`, { headers: { accept: 'text/html' } })).status,
          200,
        );
        logger.info({ clipMs }, 'clip made');
        // The manifest says how the broadcast ended once the queue has written it.
        const manifest = await waitFor(
          'the ended manifest',
          async () => {
            const keys = (await store.list('cam/'))
              .map((o) => o.key)
              .filter((k) => k.endsWith('/broadcast.json'));
            if (keys.length !== 1) return undefined;
            const m = JSON.parse((await store.get(keys[0]!))!.toString()) as BroadcastManifest;
            return m.endedAt ? m : undefined;
          },
          15_000,
        );
        assert.equal(manifest.stream, 'cam');
        assert.match(manifest.id, /^\d{8}T\d{6}Z-[0-9a-f]{8}$/);
        assert.equal(manifest.epochs.length, 2, 'the restart is a new epoch');
        assert.deepEqual(manifest.epochs[0]!.renditions.map((r) => r.id).sort(), ['a0', 'v240', 'v360']);
        const base = `cam/${manifest.id}`;
        const wall = (manifest.endedAt! - manifest.startedAt) / 1000;
        /** Everything but the restart (a second or two) and the last, unfinished instant. */
        const covers = (seconds: number, what: string) =>
          assert.ok(
            seconds > wall - 5 && seconds < wall + 2,
            `${what}: ${seconds.toFixed(1)} s of ${wall.toFixed(1)} s`,
          );
        for (const rendition of ['v360', 'v240', 'a0']) {
          const blocks = (await store.list(`${base}/${rendition}/index-`)).map((o) => o.key);
          const entries: IndexEntry[] = [];
          for (const k of blocks)
            entries.push(...(JSON.parse((await store.get(k))!.toString()) as IndexEntry[]));
          assert.ok(entries.length >= 4, `${rendition}: ${entries.length} segments indexed`);
          const numbers = entries.map((e) => e.segment);
          assert.deepEqual(
            numbers,
            [...new Set(numbers)].sort((a, b) => a - b),
            'each segment once, in order',
          );
          let seconds = 0;
          for (const e of manifest.epochs)
            seconds += await decodedSeconds(store, base, rendition, e.epoch, entries);
          covers(seconds, `${rendition} from storage`);
        }
        assert.equal(
          Number(
            /tiercast_recording_refused_objects_total\S* (\d+)/.exec(
              await ingress.metrics.registry.metrics(),
            )?.[1] ?? 0,
          ),
          0,
        );

        // The hub lists it on the channel once the ingress reported its end.
        const edge = net.edgeUrl;
        const listed = await waitFor('the hub lists the ended broadcast', async () => {
          const r = (await (await fetch(`${edge}/api/channels/cam/videos`)).json()) as {
            videos: Array<Record<string, unknown>>;
          };
          return r.videos.length === 1 && r.videos[0]!.live === false ? r.videos[0] : undefined;
        });
        assert.equal(listed.id, manifest.id);
        assert.equal(listed.title, 'Test cam');
        assert.equal(listed.category, 'Testing');
        assert.ok(
          Math.abs(Number(listed.durationMs) / 1000 - wall) < 5,
          `listed duration ${String(listed.durationMs)} ms`,
        );
        const v = `${edge}/videos/${manifest.id}`;
        // The edge may still hold the hub's "live" answer for a moment: its playlists end once it learns.
        await waitFor('the edge plays it as ended', async () =>
          (await (await fetch(`${v}/v240/playlist.m3u8`)).text()).includes('#EXT-X-ENDLIST'),
        );

        // The edge plays it back: the HLS master (both epochs, a discontinuity between), each rendition, the MPD.
        covers(await decodeUrl(`${v}/master.m3u8`), 'the HLS master through the edge');
        covers(await decodeUrl(`${v}/v240/playlist.m3u8`), 'v240 through the edge');
        covers(await decodeUrl(`${v}/a0/playlist.m3u8`, '0:a:0'), 'audio through the edge');
        const mpd = await (await fetch(`${v}/manifest.mpd`)).text();
        assert.equal(mpd.match(/<Period /g)?.length, 2, 'one Period per epoch');
        assert.ok((await decodeUrl(`${v}/manifest.mpd`)) > 2, 'the MPD decodes');
        const thumb = await fetch(`${v}/thumbnail.jpg`);
        assert.equal(thumb.status, 200, 'the broadcast has a thumbnail');
        assert.deepEqual([...Buffer.from(await thumb.arrayBuffer()).subarray(0, 2)], [0xff, 0xd8]);
        assert.equal((await fetch(v, { headers: { accept: 'text/html' } })).status, 200, 'the video page');

        // Paths that are not the recording's files, and ids that are not this video's, are 404s.
        const other = manifest.id.replace(/.$/, (c) => (c === '0' ? '1' : '0'));
        for (const path of [
          `/videos/${other}/master.m3u8`,
          `/videos/..%2F..%2Fetc/master.m3u8`,
          `/videos/${manifest.id}/v240/99999999.m4s`,
          `/videos/${manifest.id}/v240/init-7.mp4`,
          `/videos/${manifest.id}/v999/playlist.m3u8`,
          `/videos/${manifest.id}/v240/..%2F..%2Fbroadcast.json`,
          `/videos/${manifest.id}/broadcast.json`,
        ]) {
          const r = await fetch(`${edge}${path}`);
          assert.equal(r.status, 404, path);
        }

        // The operator's CLI finds it in the same storage and exports it as one MP4 (no re-encode, faststart).
        const where =
          storage().kind === 'local'
            ? ['--dir', join(dir, 'local')]
            : [
                '-c',
                writeJson(join(dir, 'ingress-s3.json'), { recording: { enabled: true, storage: storage() } }),
              ];
        const listedByCli = await cli(['recording', 'list', ...where, '--json']);
        assert.equal(listedByCli.code, 0, listedByCli.stderr);
        const rows = JSON.parse(listedByCli.stdout) as Array<Record<string, unknown>>;
        assert.deepEqual(
          rows.map((r) => [r.stream, r.id, r.epochs]),
          [['cam', manifest.id, 2]],
        );
        const mp4 = join(dir, `${manifest.id}.mp4`);
        const exported = await cli([
          'recording',
          'export',
          ...where,
          '--name',
          'cam',
          '--id',
          manifest.id,
          '--out',
          mp4,
        ]);
        assert.equal(exported.code, 0, exported.stderr);
        const probe = await run('ffprobe', [
          '-v',
          'error',
          '-show_entries',
          'stream=codec_type,height:format=duration',
          '-of',
          'json',
          mp4,
        ]);
        const info = JSON.parse(probe.stdout) as {
          streams: Array<{ codec_type: string; height?: number }>;
          format: { duration: string };
        };
        assert.deepEqual(info.streams.map((x) => x.codec_type).sort(), ['audio', 'video']);
        assert.equal(info.streams.find((x) => x.codec_type === 'video')?.height, 360, 'the best rendition');
        covers(Number(info.format.duration), 'the exported MP4');
        const head = readFileSync(mp4);
        assert.ok(head.indexOf('moov') < head.indexOf('mdat'), 'faststart: the index comes first');

        // A password on the channel covers its past broadcasts and clips as its live stream.
        hub.store.streamers.update('cam', { password: 'open sesame' });
        await waitFor(
          'the edge refuses without the password',
          async () => (await fetch(`${v}/master.m3u8`)).status === 403,
          15_000,
        );
        assert.equal((await fetch(`${net.edgeUrl}${clip.mp4}`)).status, 403);
        const access = `${accessCookie('cam')}=${signAccess(deriveKey(SECRET, 'stream-access'), 'cam', 60_000)}`;
        assert.equal((await fetch(`${v}/master.m3u8`, { headers: { cookie: access } })).status, 200);
        hub.store.streamers.update('cam', { password: null });
        await waitFor('open again', async () => (await fetch(`${v}/master.m3u8`)).status === 200, 15_000);

        // Hidden: gone for viewers, kept for its owner; deleted: gone with its media, an old link is a 404.
        assert.equal(
          (
            await remote(
              edge === hub.url ? edge : hub.url,
              'PATCH',
              `/api/v1/streams/cam/videos/${manifest.id}`,
              { hidden: true },
            )
          ).status,
          200,
        );
        assert.equal((await fetch(`${edge}/api/videos/${manifest.id}`)).status, 404);
        await waitFor(
          'the edge stops serving the hidden video',
          async () => (await fetch(`${v}/master.m3u8`)).status === 404,
        );
        const owned = (await (await remote(hub.url, 'GET', '/api/v1/streams/cam/videos')).json()) as {
          videos: unknown[];
        };
        assert.equal(owned.videos.length, 1, 'the owner still sees it');
        assert.equal(
          (await remote(hub.url, 'DELETE', `/api/v1/streams/cam/videos/${manifest.id}`)).status,
          204,
        );
        assert.deepEqual(await store.list(`${base}/`), [], 'its media is deleted, clips included');
        assert.equal(
          (await fetch(`${net.edgeUrl}/api/clips/${clip.id}`)).status,
          404,
          'its clips go with it',
        );
        const old = await fetch(v, { headers: { accept: 'text/html' } });
        assert.equal(old.status, 200, 'the page itself loads (and says the video is gone)');
        const gone = await fetch(`${edge}/api/videos/${manifest.id}`);
        assert.equal(gone.status, 404);
        assert.equal(((await gone.json()) as { error: { code: string } }).error.code, 'NOT_FOUND');
      } finally {
        store.close();
        await net.close();
        await hub.close();
      }
    });
  });
}

it("each streamer's choice holds: one records nothing, another only its best rendition", async () => {
  const local = join(dir, 'choices');
  const ingress = await startIngress(
    ingressSchema.parse({
      ...ingressConfig({ kind: 'local', dir: local }),
      streamers: [
        { name: 'quiet', key: 'quiet_key_0123456789', recording: 'off' },
        { name: 'best', key: 'best_key_01234567890', recording: 'source' },
      ],
    }),
    logger,
  );
  const store = new LocalDirStore(local);
  try {
    const url = `rtmp://127.0.0.1:${ingress.rtmpPort}/live`;
    const pubs = [publish(url, 'quiet_key_0123456789', 20), publish(url, 'best_key_01234567890', 20)];
    await waitFor(
      'both live',
      () => ingress.live.get('quiet')?.isLive && ingress.live.get('best')?.isLive,
      30_000,
    );
    await waitFor(
      'segments of best recorded',
      async () => (await store.list('best/')).some((o) => o.key.endsWith('.m4s')),
      15_000,
    );
    for (const p of pubs) await stop(p);
    await waitFor('both ended', () => !ingress.live.has('quiet') && !ingress.live.has('best'), 10_000);
    await ingress.close();
    assert.deepEqual(await store.list('quiet/'), [], 'nothing of the streamer who said no');
    const renditions = new Set(
      (await store.list('best/')).map((o) => o.key.split('/')[2]).filter((r) => r && !r.includes('.')),
    );
    assert.deepEqual([...renditions].sort(), ['a0', 'v360'], 'the best rendition and the audio');
  } finally {
    store.close();
    await ingress.close();
  }
});

it('storage that cannot be used stops the ingress at start with a clear error, never the secret', async () => {
  await assert.rejects(
    startIngress(
      ingressConfig({ ...s3Storage(), accessKeyId: 'NOT-A-KEY', secretAccessKey: 'wrong-secret-value-77' }),
      logger,
    ),
    (err: Error & { code?: string }) => {
      assert.equal(err.code, 'STORAGE_UNAVAILABLE');
      assert.match(err.message, /object storage could not write an object/);
      assert.match(err.message, /InvalidAccessKeyId/);
      assert.ok(!err.message.includes('wrong-secret-value-77') && !err.message.includes('NOT-A-KEY'));
      return true;
    },
  );
  await assert.rejects(startIngress(ingressConfig({ kind: 'local', dir: '/dev/null/x' }), logger), {
    code: 'STORAGE_UNAVAILABLE',
  });
});
