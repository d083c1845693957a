/**
 * The browser ingest socket's WebM format (a page without WebCodecs sends MediaRecorder's chunks) against
 * a real ingress and ffmpeg: a live VP8 + Opus WebM stream and an H.264 + Opus Matroska stream, written by
 * ffmpeg in real time and sent in pieces of random sizes, go live (through the transcoder's Matroska
 * input); bytes that are not WebM, a block above the cap, an unknown format and a stream cut mid-block are
 * each refused or ended with a code and words, closing only that socket, while the other stream stays live.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import WebSocket from 'ws';
import { ingressSchema } from '../../src/common/config/index.js';
import { startIngress, type IngressNode } from '../../src/ingress/main.js';
import { waitFor } from '../helpers/network.js';

const KEY = 'browser_webm_key_0001';
const KEY2 = 'browser_webm_key_0002';
const logs: string[] = [];
const logger = pino({ level: 'info' }, { write: (s: string) => void logs.push(s) });
let node: IngressNode;
const procs: ChildProcess[] = [];
const sockets: WebSocket[] = [];
const CHROMIUM = readFileSync(new URL('../fixtures/webm/chromium-h264-opus.webm', import.meta.url));
const CLUSTER_ID = Buffer.from([0x1f, 0x43, 0xb6, 0x75]);

before(async () => {
  node = await startIngress(
    ingressSchema.parse({
      nodeId: 'ingress-browser-webm',
      clusterSecret: 'browser-webm-secret-0123456789ab',
      rtmp: { host: '127.0.0.1', port: 0 },
      http: { host: '127.0.0.1', port: 0 },
      streamers: [
        { name: 'cam', key: KEY },
        { name: 'other', key: KEY2 },
      ],
      transcode: {
        preset: 'ultrafast',
        ladder: [{ id: 'v240', height: 240, videoBitrateKbps: 300 }],
        restartBackoffMs: 100,
      },
    }),
    logger,
  );
});

after(async () => {
  for (const s of sockets) s.terminate();
  for (const p of procs) p.kill('SIGKILL');
  await node?.close();
  for (const k of [KEY, KEY2]) assert.ok(!logs.some((l) => l.includes(k)), 'a log line holds a stream key');
});

interface Client {
  ws: WebSocket;
  messages: Array<Record<string, unknown>>;
  closed: Promise<{ code: number; reason: string }>;
}

async function hello(key: string, format: unknown = 'webm'): Promise<Client> {
  const ws = new WebSocket(`${node.url}/publish/ws`);
  sockets.push(ws);
  const messages: Array<Record<string, unknown>> = [];
  ws.on('message', (d, isBinary) => {
    if (!isBinary) messages.push(JSON.parse((d as Buffer).toString()) as Record<string, unknown>);
  });
  const closed = new Promise<{ code: number; reason: string }>((r) =>
    ws.on('close', (code, reason) => r({ code, reason: reason.toString() })),
  );
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.send(JSON.stringify({ key, format }));
  await waitFor('the answer to the key', () => messages.find((m) => 'ok' in m), 5000, 20);
  return { ws, messages, closed };
}

/** A live camera as MediaRecorder would send it: ffmpeg -re writing WebM/Matroska, cut into random pieces. */
function sendLive(c: Client, codec: 'vp8' | 'h264'): void {
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
  const p = spawn(
    'ffmpeg',
    [
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
    ],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  procs.push(p);
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
    await waitFor('stream "other" live', () => node.live.get('other')?.isLive, 30_000);
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
    await waitFor('stream "cam" live', () => node.live.get('cam')?.isLive, 30_000);
    c.ws.close();
    await c.closed;
    await waitFor('the stream to end with its socket', () => !node.live.has('cam'), 5000, 20);
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
    assert.equal(node.live.has('cam'), false, 'the refused publish ended');
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
    assert.ok(node.live.has('cam'), 'the publish is on');
    c.ws.terminate();
    await waitFor('the publish to end with its socket', () => !node.live.has('cam'), 5000, 20);
  });

  it('the other stream stayed live through all of it', async () => {
    await sleep(500);
    assert.equal(node.live.get('other')?.isLive, true);
    assert.ok(
      logs.some((l) => l.includes('BROWSER_INGEST_MALFORMED') && l.includes('EBML')),
      'the refusal is logged with its code',
    );
  });
});
