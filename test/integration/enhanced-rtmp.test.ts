/**
 * Every codec OBS 30+ sends goes live through a real ingress and edge, from a publisher that really
 * sends Enhanced RTMP (test/helpers/tag-publisher.ts with ffmpeg-encoded elementary streams):
 * - H.264 + Opus (the browser's codecs): the ingress writes Matroska to ffmpeg, the ladder plays with AAC;
 * - HEVC (with AAC, as OBS 30 sends it), AV1 and VP9 over Enhanced RTMP: live, and the edge serves H.264
 *   renditions ffmpeg decodes (and keeps serving after ffmpeg is killed);
 * - an unknown FourCC, a truncated sequence header and a codec change mid-stream each end that publish
 *   with a NetStream.Publish.Failed the streamer reads (no transcoder restart loop);
 * and the H.264 + Opus stream keeps playing on the same ingress throughout.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { edgeSchema, ingressSchema } from '../../src/common/config/index.js';
import { ChunkFlags } from '../../src/common/media.js';
import { startEdge, type EdgeNode } from '../../src/edge/main.js';
import { startIngress, type IngressNode } from '../../src/ingress/main.js';
import { decodeAmf0All } from '../../src/ingress/rtmp/amf0.js';
import type { FlvTag } from '../../src/ingress/flv/flv-tag.js';
import { encodeMp4, exVideoBody, tagsFromMp4 } from '../helpers/media-tags.js';
import { run, SECRET, waitFor } from '../helpers/network.js';
import { TagPublisher } from '../helpers/tag-publisher.js';
import { TestViewer } from '../helpers/viewer.js';

const KEYS = { cam: 'enhanced-cam-key-0001', other: 'enhanced-other-key-0002' };
const logs: string[] = [];
const logger = pino({ level: 'info' }, { write: (s: string) => void logs.push(s) });
let ingress: IngressNode;
let edge: EdgeNode;
let otherPublisher: TagPublisher;
let otherViewer: TestViewer;
const publishers: TagPublisher[] = [];

before(async () => {
  ingress = await startIngress(
    ingressSchema.parse({
      nodeId: 'ingress-enhanced',
      clusterSecret: SECRET,
      rtmp: { host: '127.0.0.1', port: 0 },
      http: { host: '127.0.0.1', port: 0 },
      streamers: [
        { name: 'cam', key: KEYS.cam, title: 'Enhanced cam', category: 'Testing' },
        { name: 'other', key: KEYS.other, title: 'Other cam', category: 'Testing' },
      ],
      transcode: {
        preset: 'ultrafast',
        ladder: [
          { id: 'v360', height: 360, videoBitrateKbps: 500 },
          { id: 'v240', height: 240, videoBitrateKbps: 250 },
        ],
        restartBackoffMs: 100,
      },
    }),
    logger,
  );
  edge = await startEdge(
    edgeSchema.parse({
      nodeId: 'edge-enhanced',
      clusterSecret: SECRET,
      http: { host: '127.0.0.1', port: 0 },
      upstream: { parents: [ingress.url], idleUnsubscribeMs: 2000 },
    }),
    pino({ level: 'silent' }),
  );
});

after(async () => {
  otherViewer?.close();
  for (const p of [...publishers, otherPublisher]) await p?.stop();
  await edge?.close();
  await ingress?.close();
});

async function playlistReady(name: string, ids: string[]): Promise<void> {
  await waitFor(
    `${name}: the edge lists media for ${ids.join(', ')}`,
    async () => {
      for (const id of ids) {
        const r = await fetch(`${edge.url}/live/${name}/${id}/playlist.m3u8`);
        if (!r.ok || !(await r.text()).includes('#EXTINF')) return false;
      }
      return true;
    },
    45_000,
    200,
  );
}

/** ffmpeg decodes two seconds of a rendition from the edge; returns its codec as ffprobe names it. */
async function decodesFromEdge(name: string, id: string): Promise<string> {
  const url = `${edge.url}/live/${name}/${id}/playlist.m3u8`;
  // The decode waits on the live edge (two seconds of real time): ffprobe reads the same playlist meanwhile.
  const [r, p] = await Promise.all([
    run('ffmpeg', ['-v', 'error', '-i', url, '-t', '2', '-f', 'null', '-'], 60_000),
    run('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_name', '-of', 'csv=p=0', url]),
  ]);
  assert.equal(r.code, 0, `${name}/${id}: ${r.stderr}`);
  assert.equal(r.stderr.trim(), '', `${name}/${id} decodes without errors`);
  return p.stdout.trim().split('\n')[0]!;
}

function connectReply(p: TagPublisher): Record<string, unknown> {
  const reply = p.client.messages
    .filter((m) => m.typeId === 20)
    .map((m) => decodeAmf0All(m.payload))
    .find((v) => v[0] === '_result' && v[1] === 1);
  return (reply?.[2] ?? {}) as Record<string, unknown>;
}

async function publishUntilLive(key: string, tags: FlvTag[], name: string, ids: string[]): Promise<number> {
  const t0 = Date.now();
  const p = await TagPublisher.start(ingress.rtmpPort, key, tags, { loops: 30 });
  publishers.push(p);
  assert.equal(p.status.code, 'NetStream.Publish.Start', JSON.stringify(p.status));
  await playlistReady(name, ids);
  return Date.now() - t0;
}

async function endPublish(p: TagPublisher | undefined): Promise<void> {
  if (!p) return;
  await p.stop();
  await waitFor('the stream ends', async () => !(await fetch(`${edge.url}/live/cam/master.m3u8`)).ok, 15_000);
}

void describe('Enhanced RTMP and Matroska input', () => {
  void it('H.264 + Opus (Enhanced RTMP audio): the ladder plays, with AAC audio', async (t) => {
    const tags = tagsFromMp4(await encodeMp4({ video: 'libx264', audio: 'libopus', seconds: 4, width: 640, height: 360 })); // prettier-ignore
    const t0 = Date.now();
    otherPublisher = await TagPublisher.start(ingress.rtmpPort, KEYS.other, tags, { loops: 100 });
    assert.equal(otherPublisher.status.code, 'NetStream.Publish.Start');
    await playlistReady('other', ['v360', 'v240', 'a0']);
    t.diagnostic(`H.264 + Opus: live at the edge ${Date.now() - t0} ms after publish`);
    // Each decode waits on the live edge, not the CPU: the renditions are read side by side.
    const codecs = await Promise.all(['v360', 'a0'].map((id) => decodesFromEdge('other', id)));
    assert.deepEqual(codecs, ['h264', 'aac']);
    otherViewer = new TestViewer(`${edge.url.replace('http', 'ws')}/live/other/ws`);
    await otherViewer.opened;
    assert.ok(logs.some((l) => l.includes('"stream":"other"') && l.includes('stream is live')));
  });

  void it('the connect reply advertises the FourCCs the ingress takes', () => {
    const props = connectReply(otherPublisher);
    assert.deepEqual(props.fourCcList, ['hvc1', 'av01', 'vp09', 'avc1', 'Opus', 'mp4a']);
  });

  void it('HEVC (hvc1, B-frames) + legacy AAC, as OBS 30 sends them: live, the edge serves H.264 that decodes', async (t) => {
    const tags = tagsFromMp4(await encodeMp4({ video: 'libx265', audio: 'aac', seconds: 4, width: 640, height: 360 })); // prettier-ignore
    const ms = await publishUntilLive(KEYS.cam, tags, 'cam', ['v360', 'v240', 'a0']);
    t.diagnostic(`HEVC over Enhanced RTMP: live at the edge ${ms} ms after publish`);
    const codecs = await Promise.all(['v360', 'v240', 'a0'].map((id) => decodesFromEdge('cam', id)));
    assert.deepEqual(codecs, ['h264', 'h264', 'aac']);
    assert.equal(restartsOf('cam'), 0, 'ffmpeg never restarted');
    // A crashed ffmpeg is restarted on Matroska too: the stream goes on, a discontinuity marks the gap.
    const viewer = new TestViewer(`${edge.url.replace('http', 'ws')}/live/cam/ws`);
    await viewer.opened;
    const pid = ingress.live.get('cam')!.transcoderPid!;
    process.kill(pid, 'SIGKILL');
    await waitFor('a new ffmpeg', () => {
      const now = ingress.live.get('cam')?.transcoderPid;
      return now !== undefined && now !== pid;
    });
    await waitFor(
      'chunks after the restart',
      () =>
        viewer.of('v360').some((c) => (c.flags & ChunkFlags.DISCONTINUITY) !== 0) &&
        viewer.of('v360').length > 15,
      20_000,
    );
    assert.deepEqual(viewer.continuityProblems('v360'), []);
    assert.equal(restartsOf('cam'), 1);
    viewer.close();
    await endPublish(publishers.pop());
  });

  void it('AV1 (av01) over Enhanced RTMP, video only: live, the edge serves H.264 that decodes', async (t) => {
    const tags = tagsFromMp4(await encodeMp4({ video: 'libsvtav1', seconds: 4, width: 640, height: 360 }));
    const ms = await publishUntilLive(KEYS.cam, tags, 'cam', ['v360', 'v240']);
    t.diagnostic(`AV1 over Enhanced RTMP: live at the edge ${ms} ms after publish`);
    assert.equal(await decodesFromEdge('cam', 'v360'), 'h264');
    assert.equal(restartsOf('cam'), 1, "ffmpeg never restarted (the one restart is the HEVC test's kill)");
    await endPublish(publishers.pop());
  });

  void it('VP9 (vp09) + Opus over Enhanced RTMP: live, the edge serves H.264 that decodes', async (t) => {
    const tags = tagsFromMp4(await encodeMp4({ video: 'libvpx-vp9', audio: 'libopus', seconds: 4, width: 640, height: 360 })); // prettier-ignore
    const ms = await publishUntilLive(KEYS.cam, tags, 'cam', ['v360', 'a0']);
    t.diagnostic(`VP9 over Enhanced RTMP: live at the edge ${ms} ms after publish`);
    assert.equal(await decodesFromEdge('cam', 'v240'), 'h264');
    await endPublish(publishers.pop());
  });

  void it('an unknown FourCC is refused at its first tag with the reason, without starting ffmpeg', async () => {
    const before = transcoderStarts('cam');
    const p = await TagPublisher.start(ingress.rtmpPort, KEYS.cam, []);
    publishers.push(p);
    assert.equal(p.status.code, 'NetStream.Publish.Start');
    p.sendTag({ type: 9, timestamp: 0, data: exVideoBody('xxxx', 0, true, Buffer.alloc(40, 1)) });
    const status = await p.client.nextStatus();
    assert.equal(status.code, 'NetStream.Publish.Failed');
    assert.equal(
      status.description,
      "Unsupported codec video (Enhanced RTMP 'xxxx'): publish H.264, HEVC, AV1 or VP9 video with AAC, Opus or MP3 audio",
    );
    await Promise.race([p.client.closed, sleep(3000)]);
    assert.ok(p.client.isClosed, 'the server closed the connection');
    assert.equal(transcoderStarts('cam'), before, 'no ffmpeg was started for it');
    publishers.pop();
  });

  void it('a truncated HEVC sequence header is refused with a clear error', async () => {
    const p = await TagPublisher.start(ingress.rtmpPort, KEYS.cam, []);
    publishers.push(p);
    p.sendTag({ type: 9, timestamp: 0, data: exVideoBody('hvc1', 0, true, Buffer.from([1, 1, 0x60, 0, 0, 0, 0x90, 0, 0])) }); // prettier-ignore
    const status = await p.client.nextStatus();
    assert.equal(status.code, 'NetStream.Publish.Failed');
    assert.match(
      status.description as string,
      /^The encoder sent a truncated or malformed HEVC sequence header \(HEVCDecoderConfigurationRecord, 9 bytes\)/,
    );
    await Promise.race([p.client.closed, sleep(3000)]);
    assert.ok(p.client.isClosed);
    assert.ok(logs.some((l) => l.includes('"code":"MALFORMED_MEDIA_TAG"')));
    publishers.pop();
  });

  void it('a codec change mid-stream (HEVC, then H.264) ends the publish with a message, no restart loop', async () => {
    const hevc = tagsFromMp4(await encodeMp4({ video: 'libx265', seconds: 4, width: 640, height: 360 }));
    const avc = tagsFromMp4(await encodeMp4({ video: 'libx264', seconds: 1, width: 640, height: 360 }));
    await publishUntilLive(KEYS.cam, hevc, 'cam', ['v360']);
    const p = publishers.at(-1)!;
    const restarts = restartsOf('cam');
    const key = avc.find((t) => t.type === 9 && t.data[0] === 0x17 && t.data[1] === 1)!;
    p.sendTag({ ...key, timestamp: p.lastTimestamp + 33 });
    const status = await p.client.nextStatus();
    assert.equal(status.code, 'NetStream.Publish.Failed');
    assert.equal(
      status.description,
      'The video codec changed mid-stream from HEVC to H.264; publish again to switch codecs',
    );
    await waitFor(
      'the stream ends',
      async () => !(await fetch(`${edge.url}/live/cam/master.m3u8`)).ok,
      15_000,
    );
    await sleep(1500);
    assert.equal(restartsOf('cam'), restarts, 'ffmpeg was not restarted');
    assert.equal(transcoderRunning('cam'), false);
    await p.stop();
    publishers.pop();
  });

  void it('Opus that starts 500 ms after the first keyframe (metadata announced it) still picks Matroska and is heard', async () => {
    const tags = tagsFromMp4(await encodeMp4({ video: 'libx264', audio: 'libopus', seconds: 4, width: 640, height: 360 })); // prettier-ignore
    const late = tags.flatMap((t) => {
      if (t.type !== 8) return [t];
      if (t.data[0] === 0x90) return [{ ...t, timestamp: 500 }]; // the OpusHead, sent with the first frame
      return t.timestamp >= 500 ? [t] : [];
    });
    late.sort((a, b) => a.timestamp - b.timestamp || (a.type === 8 && a.data[0] === 0x90 ? -1 : 0));
    await publishUntilLive(KEYS.cam, late, 'cam', ['v360', 'a0']);
    assert.equal(await decodesFromEdge('cam', 'a0'), 'aac');
    await endPublish(publishers.pop());
  });

  void it('the other stream (H.264 + Opus) played on throughout, without a gap', async () => {
    const before = otherViewer.of('v360').length;
    await waitFor('chunks still arrive', () => otherViewer.of('v360').length > before, 5_000);
    assert.equal(otherViewer.closed, undefined);
    for (const id of ['v360', 'v240', 'a0']) assert.deepEqual(otherViewer.continuityProblems(id), [], id);
    assert.ok(otherViewer.of('a0').length > 20, `audio chunks: ${otherViewer.of('a0').length}`);
    assert.equal(restartsOf('other'), 0);
    // The log lines the restart checks above count are really there (HEVC, AV1, VP9, codec change, late Opus).
    assert.equal(transcoderStarts('cam'), 5);
  });
});

const streamLogs = (name: string): string[] => logs.filter((l) => l.includes(`"stream":"${name}"`));
const restartsOf = (name: string): number => streamLogs(name).filter((l) => l.includes('ffmpeg restarted')).length; // prettier-ignore
const transcoderStarts = (name: string): number => streamLogs(name).filter((l) => l.includes('transcoder started')).length; // prettier-ignore
const transcoderRunning = (name: string): boolean => {
  const lines = streamLogs(name);
  return transcoderStarts(name) > lines.filter((l) => l.includes('transcoder closed')).length;
};
