/**
 * The browser ingest socket's WebM format (a page without WebCodecs sends MediaRecorder's chunks) against
 * a real ingress and ffmpeg: a live VP8 + Opus WebM stream and an H.264 + Opus Matroska stream, written by
 * ffmpeg in real time and sent in pieces of random sizes, go live (through the transcoder's Matroska
 * input); bytes that are not WebM, a block above the cap, an unknown format and a stream cut mid-block are
 * each refused or ended with a code and words, closing only that socket, while the other stream stays live.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { waitFor } from '../helpers/network.js';
import { useFixture } from '../helpers/fixture.js';
import { startBrowserIngest, type IngestClient } from '../helpers/browser-ingest.js';

const KEY = 'browser_webm_key_0001';
const KEY2 = 'browser_webm_key_0002';
const CHROMIUM = readFileSync(new URL('../fixtures/webm/chromium-h264-opus.webm', import.meta.url));
const CLUSTER_ID = Buffer.from([0x1f, 0x43, 0xb6, 0x75]);

const ingest = useFixture(() =>
  startBrowserIngest({
    nodeId: 'ingress-browser-webm',
    clusterSecret: 'browser-webm-secret-0123456789ab',
    keys: { cam: KEY, other: KEY2 },
  }),
);

const hello = (key: string, format: unknown = 'webm') => ingest.hello({ key, format });

/** A live camera as MediaRecorder would send it: ffmpeg -re writing WebM/Matroska, cut into random pieces. */
function sendLive(c: IngestClient, codec: 'vp8' | 'h264'): void {
  const video =
    codec === 'vp8'
      ? ['-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '500k', '-f', 'webm']
      : [
          '-c:v',
          'libx264',
          '-preset',
          'ultrafast',
          '-tune',
          'zerolatency',
          '-pix_fmt',
          'yuv420p',
          '-f',
          'matroska',
        ];
  const p = ingest.ffmpeg([
    ...['-hide_banner', '-loglevel', 'error', '-nostdin', '-re', '-f', 'lavfi'],
    ...[
      '-i',
      'testsrc2=size=320x240:rate=25',
      '-re',
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=440:sample_rate=48000',
    ],
    ...[
      '-t',
      '60',
      '-g',
      '50',
      '-c:a',
      'libopus',
      ...video,
      '-live',
      '1',
      '-cluster_time_limit',
      '100',
      'pipe:1',
    ],
  ]);
  let seed = codec.length;
  p.stdout.on('data', (d: Buffer) => {
    for (let pos = 0; pos < d.length && c.ws.readyState === WebSocket.OPEN;) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      const n = 1 + (seed % 3000);
      c.ws.send(d.subarray(pos, pos + n));
      pos += n;
    }
  });
}

describe('browser ingest socket, WebM format', () => {
  it('a live VP8 + Opus WebM stream in random pieces goes live; stats come back', async () => {
    const c = await hello(KEY2);
    assert.deepEqual(c.messages[0], { ok: true, name: 'other', audio: true });
    sendLive(c, 'vp8');
    await waitFor('stream "other" live', () => ingest.node.live.get('other')?.isLive, 30_000);
    const stats = await waitFor(
      'stats saying live',
      () => c.messages.find((m) => m.type === 'stats' && m.live === true),
      5000,
    );
    assert.ok((stats.kbps as number) > 0, 'the page is told the rate the ingress receives');
    assert.ok((stats.frames as number) > 25, 'tags were read from the WebM bytes');
  });

  it('an H.264 + Opus Matroska stream goes live too', async () => {
    const c = await hello(KEY);
    sendLive(c, 'h264');
    await waitFor('stream "cam" live', () => ingest.node.live.get('cam')?.isLive, 30_000);
    c.ws.close();
    await c.closed;
    await waitFor('the stream to end with its socket', () => !ingest.node.live.has('cam'), 5000, 20);
  });

  it('bytes that are not WebM close with 4003 BROWSER_INGEST_MALFORMED and words', async () => {
    const c = await hello(KEY);
    c.ws.send(Buffer.from('this is not a WebM stream at all'));
    const { code, reason } = await c.closed;
    assert.equal(code, 4003);
    assert.match(reason, /^BROWSER_INGEST_MALFORMED: not a readable WebM stream/);
    const err = c.messages.find((m) => m.type === 'error');
    assert.equal(err?.code, 'BROWSER_INGEST_MALFORMED');
    assert.match(String(err?.message), /does not begin with an EBML header/);
    assert.equal(ingest.node.live.has('cam'), false, 'the refused publish ended');
  });

  it('a block above the cap closes with 1009 PAYLOAD_TOO_LARGE before its bytes arrive', async () => {
    const c = await hello(KEY);
    const head = CHROMIUM.subarray(0, CHROMIUM.indexOf(CLUSTER_ID));
    const cluster = Buffer.from([
      ...CLUSTER_ID,
      0x01,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0xe7,
      0x81,
      0,
    ]);
    // A SimpleBlock claiming 5 MiB, then a little of it.
    c.ws.send(Buffer.concat([head, cluster, Buffer.from([0xa3, 0x08, 0x50, 0, 0, 0x81, 0, 0, 0x80])]));
    const { code, reason } = await c.closed;
    assert.equal(code, 1009);
    assert.match(reason, /^PAYLOAD_TOO_LARGE: a WebM block is at most 4194304 bytes/);
  });

  it('an unknown format is refused before the key is checked', async () => {
    const c = await hello(KEY, 'mp4');
    assert.deepEqual(c.messages[0], {
      ok: false,
      code: 'BROWSER_INGEST_MALFORMED',
      message: 'the format must be "tags" or "webm"',
    });
    assert.equal((await c.closed).code, 4003);
  });

  it('a stream cut mid-block ends its publish with the socket; nothing stays live', async () => {
    const c = await hello(KEY);
    // The fixture's first half, paced so it is not too fast: the stream may start, then the socket goes.
    const half = CHROMIUM.subarray(0, CHROMIUM.length >> 1);
    for (let pos = 0; pos < half.length; pos += 4000) {
      c.ws.send(half.subarray(pos, pos + 4000));
      await sleep(100);
    }
    assert.equal(c.ws.readyState, WebSocket.OPEN, 'a truncated element is waited for, not refused');
    assert.ok(ingest.node.live.has('cam'), 'the publish is on');
    c.ws.terminate();
    await waitFor('the publish to end with its socket', () => !ingest.node.live.has('cam'), 5000, 20);
  });

  it('the other stream stayed live through all of it', async () => {
    await sleep(500);
    assert.equal(ingest.node.live.get('other')?.isLive, true);
    assert.ok(
      ingest.logs.some((l) => l.includes('BROWSER_INGEST_MALFORMED') && l.includes('EBML')),
      'the refusal is logged with its code',
    );
  });
});
