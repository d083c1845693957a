/**
 * Source quality through a real ingress (ffmpeg) and edge, from a publisher sending real H.264 over RTMP
 * (test/helpers/tag-publisher.ts):
 * - `transcode.mode: passthrough`: the publisher's H.264 is the "src" rendition, first in the HLS
 *   multivariant playlist and the MPD, not re-encoded (its own size and High profile, where the ladder
 *   is Main); the segment duration is the source's 1.5 s GOP, and the ladder's segments start at the
 *   same instants, each with a keyframe;
 * - a streamer with `transcode: off`: Source and audio only, no x264 rendition;
 * - a source that stops sending keyframes ends its publish with NO_KEYFRAMES and words for the streamer,
 *   while the other stream plays on;
 * - a source of huge frames and no second keyframe: the ingress holds at most PROBE_MAX_BYTES while it
 *   looks for the GOP, then goes live on the ladder without Source.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { edgeSchema, ingressSchema } from '../../src/common/config/index.js';
import { startEdge, type EdgeNode } from '../../src/edge/main.js';
import { PROBE_MAX_BYTES } from '../../src/ingress/live-stream.js';
import { startIngress, type IngressNode } from '../../src/ingress/main.js';
import { encodeMp4, tagsFromMp4 } from '../helpers/media-tags.js';
import { run, SECRET, waitFor } from '../helpers/network.js';
import { TagPublisher } from '../helpers/tag-publisher.js';
import { TestViewer } from '../helpers/viewer.js';

const KEYS = {
  cam: 'passthrough-cam-key-01',
  bare: 'passthrough-bare-key-02',
  nokey: 'passthrough-nokey-03',
  huge: 'passthrough-huge-04',
};
const logs: string[] = [];
const logger = pino({ level: 'info' }, { write: (s: string) => void logs.push(s) });
let ingress: IngressNode;
let edge: EdgeNode;
let dir: string;
const publishers: TagPublisher[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tiercast-passthrough-'));
  ingress = await startIngress(
    ingressSchema.parse({
      nodeId: 'ingress-passthrough',
      clusterSecret: SECRET,
      rtmp: { host: '127.0.0.1', port: 0 },
      http: { host: '127.0.0.1', port: 0 },
      streamers: [
        { name: 'cam', key: KEYS.cam },
        { name: 'bare', key: KEYS.bare, transcode: 'off' },
        { name: 'nokey', key: KEYS.nokey },
        { name: 'huge', key: KEYS.huge },
      ],
      transcode: {
        mode: 'passthrough',
        preset: 'ultrafast',
        ladder: [{ id: 'v240', height: 240, videoBitrateKbps: 250 }],
        noKeyframeTimeoutMs: 3000,
      },
    }),
    logger,
  );
  edge = await startEdge(
    edgeSchema.parse({
      nodeId: 'edge-passthrough',
      clusterSecret: SECRET,
      http: { host: '127.0.0.1', port: 0 },
      upstream: { parents: [ingress.url], idleUnsubscribeMs: 2000 },
    }),
    pino({ level: 'silent' }),
  );
});

after(async () => {
  for (const p of publishers) await p.stop();
  await edge?.close();
  await ingress?.close();
  if (!process.env.KEEP_PROBES) await rm(dir, { recursive: true, force: true });
});

async function text(path: string): Promise<string> {
  const r = await fetch(`${edge.url}${path}`);
  assert.equal(r.status, 200, path);
  return r.text();
}

async function completeSegments(name: string, id: string, count: number): Promise<number[]> {
  let numbers: number[] = [];
  await waitFor(
    `${name}/${id}: ${count} complete segments`,
    async () => {
      const r = await fetch(`${edge.url}/live/${name}/${id}/playlist.m3u8`);
      if (!r.ok) return false;
      const lines = (await r.text()).split('\n');
      numbers = lines.filter((l) => /^\d+\.m4s$/.test(l)).map((l) => Number.parseInt(l, 10));
      return numbers.length >= count;
    },
    45_000,
    200,
  );
  return numbers;
}

/** ffprobe of init + one segment: the video packets' key flags and decode times, and the stream's description. */
async function probeSegment(name: string, id: string, n: number) {
  const bytes = Buffer.concat(
    await Promise.all(
      [`init.mp4`, `${n}.m4s`].map(async (f) =>
        Buffer.from(await (await fetch(`${edge.url}/live/${name}/${id}/${f}`)).arrayBuffer()),
      ),
    ),
  );
  const file = join(dir, `${name}-${id}-${n}.mp4`);
  await writeFile(file, bytes);
  const frames = await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time,dts_time,flags', '-of', 'csv=p=0', file]); // prettier-ignore
  const stream = await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,profile,width,height', '-of', 'csv=p=0', file]); // prettier-ignore
  const list = frames.stdout
    .trim()
    .split('\n')
    .map((l) => l.split(','))
    .map(([pts, dts, flags]) => ({ key: flags!.startsWith('K'), pts: Number(pts), dts: Number(dts) }));
  return { frames: list, stream: stream.stdout.trim() };
}

async function publish(key: string, tags: Parameters<typeof TagPublisher.start>[2]): Promise<TagPublisher> {
  const p = await TagPublisher.start(ingress.rtmpPort, key, tags, { loops: 40 });
  publishers.push(p);
  assert.equal(p.status.code, 'NetStream.Publish.Start', JSON.stringify(p.status));
  return p;
}

void describe('Source quality (passthrough) and transcoding off', () => {
  let cam: TestViewer;

  void it('passthrough: Source listed first, not re-encoded, segments of the source GOP aligned with the ladder', async (t) => {
    // 640x360 H.264 (High profile, B-frames) with a keyframe every 45 frames at 30 fps: a 1.5 s GOP.
    const tags = tagsFromMp4(await encodeMp4({ video: 'libx264', audio: 'aac', seconds: 6, width: 640, height: 360, gop: 45 })); // prettier-ignore
    const t0 = Date.now();
    await publish(KEYS.cam, tags);
    const src = await completeSegments('cam', 'src', 3);
    t.diagnostic(`Source live at the edge ${Date.now() - t0} ms after publish`);
    const ladder = await completeSegments('cam', 'v240', 3);

    const master = await text('/live/cam/master.m3u8');
    const variants = master.split('\n').filter((l) => l.endsWith('/playlist.m3u8') && !l.startsWith('#'));
    assert.deepEqual(variants, ['src/playlist.m3u8', 'v240/playlist.m3u8'], master);
    assert.match(master, /RESOLUTION=640x360/);
    const mpd = await text('/live/cam/manifest.mpd');
    const reps = [...mpd.matchAll(/<Representation id="([^"]+)"/g)].map((m) => m[1]);
    assert.deepEqual(reps, ['src', 'v240', 'a0']);
    assert.match(mpd, /<SegmentTemplate timescale="90000" duration="135000"/, 'segments of the 1.5 s GOP');
    const playlist = await text('/live/cam/src/playlist.m3u8');
    assert.match(playlist, /#EXTINF:1\.5\d*,\n/);

    // Copied, not encoded again: the publisher's size and High profile, which tiercast's x264 never makes.
    const n = src.filter((x) => ladder.includes(x)).at(-1)!;
    const a = await probeSegment('cam', 'src', n);
    const b = await probeSegment('cam', 'v240', n);
    assert.equal(a.stream, 'h264,High,640,360');
    // (x264's ultrafast, used here to spare the CPU, makes its Main a Constrained Baseline stream.)
    assert.match(b.stream, /^h264,(Main|Constrained Baseline),426,240$/);
    // Both segments start at the same instant with a keyframe, and hold the one GOP.
    for (const s of [a, b]) {
      assert.ok(s.frames[0]!.key, 'a segment starts with a keyframe');
      assert.equal(
        s.frames.filter((f) => f.key).length,
        1,
        'one keyframe per segment: the GOP is the segment',
      );
      assert.equal(s.frames.length, 45);
    }
    // The same picture at the same instant: the segments' keyframes are shown at the same time, so a
    // switch between Source and the ladder does not jump (Source's B-frames decode it a frame or two
    // earlier than it is shown; x264's renditions have none).
    assert.ok(a.frames[0]!.pts - a.frames[0]!.dts > 0.03, 'the source has B-frames');
    assert.ok(
      Math.abs(a.frames[0]!.pts - b.frames[0]!.pts) < 0.002,
      `keyframe shown at ${a.frames[0]!.pts} (Source) vs ${b.frames[0]!.pts} (v240)`,
    );
    assert.ok(logs.some((l) => l.includes('"stream":"cam"') && l.includes('Source quality on')));

    cam = new TestViewer(`${edge.url.replace('http', 'ws')}/live/cam/ws`);
    await cam.opened;
    cam.ws.send(JSON.stringify({ type: 'select', video: 'src' }));
  });

  void it('transcode off for one streamer: Source and audio only, no x264 rendition', async () => {
    const tags = tagsFromMp4(await encodeMp4({ video: 'libx264', audio: 'aac', seconds: 4, width: 640, height: 360, gop: 30 })); // prettier-ignore
    await publish(KEYS.bare, tags);
    await completeSegments('bare', 'src', 2);
    const mpd = await text('/live/bare/manifest.mpd');
    assert.deepEqual(
      [...mpd.matchAll(/<Representation id="([^"]+)"/g)].map((m) => m[1]),
      ['src', 'a0'],
    );
    assert.match(mpd, /duration="90000"/, 'segments of the 1 s GOP');
    const p = await run('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name', '-of', 'csv=p=0', `${edge.url}/live/bare/master.m3u8`]); // prettier-ignore
    assert.deepEqual([...new Set(p.stdout.split('\n').filter(Boolean))].sort(), ['aac', 'h264']);
    await publishers.pop()!.stop();
  });

  void it('a source without keyframes for longer than noKeyframeTimeoutMs is ended with NO_KEYFRAMES', async () => {
    // Keyframes at 0, 1.5 and 3 s, then none for 9 s.
    const tags = tagsFromMp4(await encodeMp4({ video: 'libx264', seconds: 12, width: 320, height: 240, keyframesAt: '0,1.5,3' })); // prettier-ignore
    const p = await publish(KEYS.nokey, tags);
    await completeSegments('nokey', 'src', 1);
    const status = await p.client.nextStatus();
    assert.equal(status.code, 'NetStream.Publish.Failed');
    assert.equal(
      status.description,
      'No keyframe from the encoder for 3 s: set its keyframe interval to 1 or 2 s and publish again',
    );
    assert.ok(logs.some((l) => l.includes('"code":"NO_KEYFRAMES"') && !l.includes(KEYS.nokey)));
    await waitFor(
      'the stream ends',
      async () => !(await fetch(`${edge.url}/live/nokey/master.m3u8`)).ok,
      15_000,
    );
    await publishers.pop()!.stop();
  });

  void it('huge frames and one keyframe: the probe stops at its byte bound and the ladder goes live', async () => {
    // Every frame after the keyframe carries 1 MiB of filler NAL units (type 12, valid H.264 that decoders
    // skip): 24 MiB arrive in under a second, long before the 10 s the probe would wait for a keyframe.
    const filler = Buffer.alloc(4 + 1024 * 1024, 0xff);
    filler.writeUInt32BE(filler.length - 4, 0);
    filler[4] = 0x0c;
    const tags = tagsFromMp4(await encodeMp4({ video: 'libx264', seconds: 12, width: 320, height: 240, keyframesAt: '0' })); // prettier-ignore
    const padded = tags.map((t) =>
      t.type === 9 && t.data[0] === 0x27 ? { ...t, data: Buffer.concat([t.data, filler]) } : t,
    );
    const p = await publish(KEYS.huge, padded);
    await completeSegments('huge', 'v240', 1);
    const master = await text('/live/huge/master.m3u8');
    assert.doesNotMatch(master, /\/src\//, 'no Source rendition');
    const line = logs
      .map((l) => JSON.parse(l) as { code?: string; stream?: string; probedBytes?: number; msg: string })
      .find((l) => l.code === 'KEYFRAME_INTERVAL_UNSUPPORTED' && l.stream === 'huge');
    assert.ok(line, 'the log says why Source is off');
    assert.match(line.msg, /no second keyframe within 10 s or 24 MiB/);
    assert.ok(
      line.probedBytes! >= PROBE_MAX_BYTES && line.probedBytes! < PROBE_MAX_BYTES + 2 * filler.length,
      `held ${line.probedBytes} bytes while probing`,
    );
    assert.notEqual(p.status.code, 'NetStream.Publish.Failed');
    await publishers.pop()!.stop();
  });

  void it('the Source stream played on throughout, without a gap', async () => {
    const before = cam.of('src').length;
    // After the huge-frames publish the ingress is still busy for a while on two shared cores; what matters is
    // that Source comes back on the same socket with nothing missing or repeated.
    await waitFor('Source chunks still arrive', () => cam.of('src').length > before, 20_000);
    assert.deepEqual(cam.continuityProblems('src'), []);
    assert.equal(cam.closed, undefined);
  });
});
