/**
 * The media socket against hostile clients, with a real tree and ffmpeg: a raw TCP client that completes the
 * upgrade and then never reads (but keeps pinging) is closed with 4008 and a reason instead of being held
 * forever; an oversize control message is closed with 1009 and a reason instead of a bare drop (1006).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { edgeSchema } from '../../src/common/config/index.js';
import { startEdge, type EdgeNode } from '../../src/edge/main.js';
import {
  SECRET,
  logger,
  publish,
  startNetwork,
  stop,
  waitFor,
  type TestNetwork,
} from '../helpers/network.js';

const CLIENT = fileURLToPath(new URL('../fixtures/clients/non-reading-ws.py', import.meta.url));
let net: TestNetwork;
let edge: EdgeNode;
let pub: ReturnType<typeof publish> | undefined;

before(async () => {
  // A heavy rendition fills the kernel's socket buffers (megabytes on loopback) in seconds, not a minute.
  net = await startNetwork({
    intermediates: 1,
    ladder: [{ id: 'v360', height: 360, videoBitrateKbps: 8000 }],
  });
  pub = publish(net.rtmpUrl, undefined, 180);
  edge = await startEdge(
    edgeSchema.parse({
      nodeId: 'edge-slow',
      clusterSecret: SECRET,
      http: { host: '127.0.0.1', port: 0 },
      upstream: { parents: [net.intermediates[0]!.url], idleUnsubscribeMs: 2000 },
      // Small ceilings and a short stall time so the test does not wait for 8 MiB and 10 s.
      viewer: {
        maxBackpressureBytes: 64 * 1024,
        closeBackpressureBytes: 4 * 1024 * 1024,
        stallTimeoutMs: 3000,
      },
    }),
    logger,
  );
  await waitFor(
    'cam live on the edge',
    async () => (await fetch(`${edge.url}/live/cam/manifest.mpd`)).status === 200,
    30_000,
  );
});

after(async () => {
  await edge.close();
  if (pub) await stop(pub);
  await net.close();
});

/** Finds the close frame in what the server sent (unmasked frames), if any. */
function closeFrameIn(data: Buffer): { code: number; reason: string } | undefined {
  let i = 0;
  while (i + 2 <= data.length) {
    const opcode = data[i]! & 0x0f;
    let len = data[i + 1]! & 0x7f;
    let at = i + 2;
    if (len === 126) {
      len = data.readUInt16BE(at);
      at += 2;
    } else if (len === 127) {
      len = Number(data.readBigUInt64BE(at));
      at += 8;
    }
    if (at + len > data.length) return undefined;
    if (opcode === 0x8)
      return { code: data.readUInt16BE(at), reason: data.subarray(at + 2, at + len).toString() };
    i = at + len;
  }
  return undefined;
}

async function wsViewers(): Promise<number> {
  const text = await (await fetch(`${edge.url}/metrics`)).text();
  const m = /tiercast_edge_viewers\{[^}]*stream="cam"[^}]*transport="ws"[^}]*\} (\d+)/.exec(text);
  return m ? Number(m[1]) : 0;
}

test('a media socket that never reads but keeps pinging is closed with 4008 and a reason', async () => {
  // A real socket with a small receive buffer (see the client's header), pinging twice a second.
  const client = spawn('python3', [CLIENT, '127.0.0.1', new URL(edge.url).port, '/live/cam/ws'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let out = '';
  client.stdout.setEncoding('utf8');
  client.stdout.on('data', (d: string) => (out += d));
  const exited = new Promise((r) => client.once('exit', r));
  try {
    await waitFor('upgraded', () => out.startsWith('upgraded\n'));
    await waitFor(
      'the edge drops the viewer that reads nothing',
      async () => (await wsViewers()) === 0,
      60_000,
      250,
    );
    // Now it reads what was queued for it: that ends with a close frame giving the code and the reason.
    client.stdin.write('read\n');
    await exited;
  } finally {
    client.kill('SIGKILL');
  }
  const close = closeFrameIn(Buffer.from(out.split('\n')[1] ?? '', 'hex'));
  assert.equal(close?.code, 4008);
  assert.match(close.reason, /^SLOW_CONSUMER: read nothing for \d+ s/);
});

test('an oversize control message is closed with 1009 and a reason; a normal one is answered', async () => {
  const ws = new WebSocket(`${edge.url.replace('http', 'ws')}/live/cam/ws`);
  const texts: Array<{ type: string }> = [];
  ws.on('message', (d: Buffer, isBinary) => {
    if (!isBinary) texts.push(JSON.parse(d.toString()) as { type: string });
  });
  await new Promise<void>((r) => ws.once('open', () => r()));
  ws.send(JSON.stringify({ type: 'ping', t: 1 }));
  await waitFor('pong', () => texts.some((t) => t.type === 'pong'));
  const closed = new Promise<{ code: number; reason: string }>((r) =>
    ws.once('close', (code, reason) => r({ code, reason: reason.toString() })),
  );
  ws.send(JSON.stringify({ type: 'select', video: 'x'.repeat(10_000) }));
  const c = await closed;
  assert.equal(c.code, 1009);
  assert.match(c.reason, /^PAYLOAD_TOO_LARGE: control messages are at most 8192 bytes/);
});
