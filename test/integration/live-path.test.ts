/**
 * The backbone end to end: ffmpeg publishes over RTMP → ingress (ffmpeg ABR ladder) → intermediate →
 * intermediate → edge; ffprobe/ffmpeg read the edge's LL-DASH as real DASH clients.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  publish,
  run,
  startNetwork,
  stop,
  waitFor,
  exited,
  KEY,
  type TestNetwork,
} from '../helpers/network.js';

let net: TestNetwork;
let pub: ReturnType<typeof publish>;

before(async () => {
  net = await startNetwork({ intermediates: 2 });
  pub = publish(net.rtmpUrl);
  await waitFor('stream live at the edge', async () => {
    const r = await fetch(`${net.edgeUrl}/api/streams`);
    const list = (await r.json()) as Array<{ name: string; live: boolean }>;
    return list.some((s) => s.name === 'cam' && s.live);
  });
});

after(async () => {
  await stop(pub);
  await net.close();
});

test('the edge lists the stream under its public name, never the key', async () => {
  const body = await (await fetch(`${net.edgeUrl}/api/streams`)).text();
  const list = JSON.parse(body) as Array<Record<string, unknown>>;
  assert.deepEqual(
    list.find((s) => s.name === 'cam'),
    { name: 'cam', title: 'Test cam', category: 'Testing', live: true, viewers: 0 },
  );
  assert.ok(!body.includes(KEY));
});

test('ffprobe reads every rendition of the MPD through two intermediates', async () => {
  const r = await run('ffprobe', [
    '-v',
    'error',
    '-show_entries',
    'stream=codec_name,width,height',
    '-of',
    'json',
    `${net.edgeUrl}/live/cam/manifest.mpd`,
  ]);
  assert.equal(r.code, 0, r.stderr);
  const streams = (
    JSON.parse(r.stdout) as { streams: Array<{ codec_name: string; width?: number; height?: number }> }
  ).streams;
  assert.deepEqual(
    streams.map((s) => `${s.codec_name}:${s.height ?? '-'}`),
    ['h264:360', 'h264:240', 'aac:-'],
  );
});

const DASH_DECODES = [
  ['v360', '0:v:0'],
  ['v240', '0:v:1'],
  ['audio', '0:a:0'],
] as const;
/** The DASH clients' runs, by label: all three start with the first of their tests (each waits on the live
 * edge, in real time, far more than on the CPU), and each test checks its own. */
const dashRuns = new Map<string, ReturnType<typeof run>>();
function dashDecode(label: string): ReturnType<typeof run> {
  if (dashRuns.size === 0)
    for (const [l, map] of DASH_DECODES) {
      // Count frames rather than use -t: ffmpeg's DASH demuxer opens renditions one after another, so their
      // start times differ by the time it takes to open each (it waits for live segments like a player does).
      const limit = l === 'audio' ? ['-frames:a', '140'] : ['-frames:v', '90'];
      dashRuns.set(
        l,
        run(
          'ffmpeg',
          [
            '-v',
            'error',
            '-i',
            `${net.edgeUrl}/live/cam/manifest.mpd`,
            '-map',
            map,
            ...limit,
            '-f',
            'framemd5',
            '-',
          ],
          40_000,
        ),
      );
    }
  return dashRuns.get(label)!;
}

for (const [label] of DASH_DECODES) {
  test(`ffmpeg as a DASH client decodes ${label} without errors`, async () => {
    const r = await dashDecode(label);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr.trim(), '', 'no decode errors');
    const frames = r.stdout.split('\n').filter((l) => /^\d/.test(l)).length;
    assert.equal(frames, label === 'audio' ? 140 : 90, `decoded ${frames} frames`);
  });
}

test('a wrong key is refused with BadName and the stream is unaffected', async () => {
  const bad = publish(net.rtmpUrl, 'not-a-valid-key', 5);
  const code = await exited(bad);
  assert.notEqual(code, 0);
  assert.match(bad.stderrText(), /Invalid stream key|BadName|error/i);
  const list = (await (await fetch(`${net.edgeUrl}/api/streams`)).json()) as Array<{ name: string }>;
  assert.ok(list.some((s) => s.name === 'cam'));
});

test('a second publish on a live name is refused', async () => {
  const dup = publish(net.rtmpUrl, KEY, 5);
  const code = await exited(dup);
  assert.notEqual(code, 0);
  assert.ok(net.ingress.live.has('cam'));
});

test('unknown streams and paths outside a stream are 404, never a host file', async () => {
  for (const path of [
    '/live/nope/manifest.mpd',
    '/live/cam/v360/999999.m4s',
    '/live/cam/v999/init.mp4',
    '/live/cam/v360/..%2F..%2F..%2Fetc%2Fpasswd',
    '/live/cam/../../etc/passwd',
    '/static/..%2Fmain.ts',
    '/static/../../package.json',
    '/live/cam/v360/1.m4s.bak',
  ]) {
    const r = await fetch(`${net.edgeUrl}${path}`);
    const text = await r.text();
    assert.equal(r.status, 404, path);
    assert.ok(!text.includes('root:') && !text.includes('"dependencies"'), path);
  }
});

test('init and the current segment are served; the segment is a valid CMAF fragment', async () => {
  const mpd = await (await fetch(`${net.edgeUrl}/live/cam/manifest.mpd`)).text();
  const ast = Date.parse(/availabilityStartTime="([^"]+)"/.exec(mpd)![1]!);
  const init = Buffer.from(await (await fetch(`${net.edgeUrl}/live/cam/v360/init.mp4`)).arrayBuffer());
  assert.equal(init.toString('latin1', 4, 8), 'ftyp');
  const n = Math.floor((Date.now() - ast) / 1000) - 2;
  const seg = Buffer.from(await (await fetch(`${net.edgeUrl}/live/cam/v360/${n}.m4s`)).arrayBuffer());
  assert.ok(seg.includes(Buffer.from('moof')) && seg.includes(Buffer.from('mdat')));
});
