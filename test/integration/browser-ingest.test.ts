/**
 * The browser ingest socket (/publish/ws on the ingress) against a real ingress and ffmpeg: H.264 tags sent
 * as a page sends them go live; a wrong key, garbage, media before the key, an oversize frame and media
 * faster than real time are each refused with a code and words, closing only that socket, while another
 * stream published the same way stays live. A second socket with the same key takes the stream over (a
 * browser reconnecting before its old socket is known dead). No log line holds a key.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import WebSocket from 'ws';
import { ingressSchema } from '../../src/common/config/index.js';
import { startIngress, type IngressNode } from '../../src/ingress/main.js';
import { FlvReader } from '../../src/ingress/flv/flv-reader.js';
import { encodeIngestTag } from '../../src/ingress/browser-ingest/ingest-protocol.js';
import { waitFor } from '../helpers/network.js';

const KEY = 'browser_ingest_key_0001';
const KEY2 = 'browser_ingest_key_0002';
const logs: string[] = [];
const logger = pino({ level: 'info' }, { write: (s: string) => void logs.push(s) });
let node: IngressNode;
const procs: ChildProcess[] = [];
const sockets: WebSocket[] = [];

before(async () => {
  node = await startIngress(
    ingressSchema.parse({
      nodeId: 'ingress-browser',
      clusterSecret: 'browser-ingest-secret-0123456789',
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

async function connect(): Promise<Client> {
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
  return { ws, messages, closed };
}

async function hello(key: string): Promise<Client> {
  const c = await connect();
  c.ws.send(JSON.stringify({ key }));
  await waitFor('the answer to the key', () => c.messages.find((m) => 'ok' in m), 5000, 20);
  return c;
}

/** A real H.264 source (video only, as a page sends until Opus is taken) paced by ffmpeg -re. */
function sendCamera(c: Client): void {
  const p = spawn(
    'ffmpeg',
    [
      ...['-hide_banner', '-loglevel', 'error', '-nostdin', '-re', '-f', 'lavfi'],
      ...['-i', 'testsrc2=size=320x240:rate=25', '-t', '60', '-an'],
      ...['-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '25'],
      ...['-pix_fmt', 'yuv420p', '-f', 'flv', 'pipe:1'],
    ],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  procs.push(p);
  const reader = new FlvReader();
  p.stdout.on('data', (d: Buffer) => {
    for (const t of reader.push(d)) {
      if (t.type !== 9 || c.ws.readyState !== WebSocket.OPEN) continue;
      c.ws.send(encodeIngestTag({ type: 9, timestamp: t.timestamp, body: t.data }));
    }
  });
}

describe('browser ingest socket', () => {
  it('a page sending H.264 tags goes live; stats and pongs come back', async () => {
    const c = await hello(KEY2);
    assert.deepEqual(
      c.messages[0],
      { ok: true, name: 'other', audio: true },
      'Opus is taken: the page sends sound',
    );
    sendCamera(c);
    await waitFor('stream "other" live', () => node.live.get('other')?.isLive, 30_000);
    c.ws.send(JSON.stringify({ type: 'ping', t: 42 }));
    await waitFor('pong', () => c.messages.some((m) => m.type === 'pong' && m.t === 42), 3000, 20);
    const stats = await waitFor(
      'stats saying live',
      () => c.messages.find((m) => m.type === 'stats' && m.live === true),
      5000,
    );
    assert.ok((stats.kbps as number) > 0, 'the page is told the rate the ingress receives');
  });

  it('a wrong key is refused with words and 4001', async () => {
    const c = await hello('not-the-key-123');
    assert.deepEqual(c.messages[0], {
      ok: false,
      code: 'BAD_STREAM_KEY',
      message: 'That stream key is not right.',
    });
    const { code } = await c.closed;
    assert.equal(code, 4001);
  });

  it('media before the key, and garbage after it, close with 4003 and a reason', async () => {
    const early = await connect();
    early.ws.send(Buffer.from([9, 0, 0, 0, 0, 0x17, 1, 0, 0, 0]));
    const e = await early.closed;
    assert.equal(e.code, 4003);
    assert.match(e.reason, /BROWSER_INGEST_MALFORMED: media arrived before the stream key/);

    const c = await hello(KEY);
    c.ws.send(Buffer.from('this is not an FLV tag at all'));
    const g = await c.closed;
    assert.equal(g.code, 4003);
    const err = c.messages.find((m) => m.type === 'error');
    assert.equal(err?.code, 'BROWSER_INGEST_MALFORMED');
    assert.match(String(err?.message), /neither audio \(8\) nor video \(9\)/);
    assert.equal(node.live.has('cam'), false, 'the refused publish ended');
  });

  it('an oversize frame closes with 1009 and PAYLOAD_TOO_LARGE', async () => {
    const c = await hello(KEY);
    const big = Buffer.alloc(4 * 1024 * 1024 + 16);
    big.set([9, 0, 0, 0, 0, 0x17, 1, 0, 0, 0]);
    c.ws.send(big);
    const { code, reason } = await c.closed;
    assert.equal(code, 1009);
    assert.match(reason, /^PAYLOAD_TOO_LARGE/);
  });

  it('media faster than real time is refused with 4429', async () => {
    const c = await hello(KEY);
    const frame = (ts: number) =>
      encodeIngestTag({ type: 9, timestamp: ts, body: Buffer.from([0x27, 1, 0, 0, 0, 0, 0, 0, 1, 0x41]) });
    for (let ts = 0; ts <= 10_000; ts += 40) c.ws.send(frame(ts));
    const { code } = await c.closed;
    assert.equal(code, 4429);
    const err = c.messages.find((m) => m.type === 'error');
    assert.equal(err?.code, 'BROWSER_INGEST_TOO_FAST');
    assert.match(String(err?.message), /faster than real time/);
  });

  it('a browser reconnecting before its old socket is known dead takes its stream over', async () => {
    const old = await hello(KEY);
    assert.equal(old.messages[0]?.ok, true);
    const fresh = await hello(KEY);
    assert.deepEqual(fresh.messages[0], { ok: true, name: 'cam', audio: true });
    const { code } = await old.closed;
    assert.equal(code, 4409);
    const err = old.messages.find((m) => m.type === 'error');
    assert.equal(err?.code, 'STREAM_ALREADY_LIVE');
    assert.match(String(err?.message), /newer connection from a browser took this stream over/);
    assert.ok(node.live.has('cam'), 'the new socket carries the stream');
    fresh.ws.close();
    await fresh.closed;
    await waitFor('the stream to end with its socket', () => !node.live.has('cam'), 3000, 20);
  });

  it('the other stream stayed live through all of it', async () => {
    await sleep(500);
    assert.equal(node.live.get('other')?.isLive, true);
    assert.ok(
      logs.some((l) => l.includes('BROWSER_INGEST_TOO_FAST')),
      'the refusal is logged with its code',
    );
  });
});
