/**
 * Unauthenticated RTMP connections (no accepted publish yet) are bounded: what each may buffer, how many
 * there may be per address and in total, and how long they may take. Real sockets on port 0; the hostile
 * peers use other loopback addresses (127.0.0.x) so a legitimate ffmpeg on 127.0.0.1 is another address.
 */
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { RtmpServer, type PendingLimits, type PublishSink } from '../../src/ingress/rtmp/rtmp-server.js';
import { PENDING_MAX_MESSAGE_BYTES } from '../../src/ingress/rtmp/rtmp-session.js';
import { TiercastError } from '../../src/common/errors/index.js';
import { RtmpTestClient } from '../helpers/rtmp-client.js';

const KEY = 'goodkey-pending';
const servers: RtmpServer[] = [];
const clients: RtmpTestClient[] = [];
const children: ChildProcess[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const c of children.splice(0)) c.kill('SIGKILL');
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function startServer(pending: Partial<PendingLimits>) {
  const logs: string[] = [];
  let tags = 0;
  const server = await RtmpServer.create({
    host: '127.0.0.1',
    port: 0,
    maxMessageBytes: 8 * 1024 * 1024,
    pending,
    logger: pino({ level: 'info' }, { write: (s: string) => void logs.push(s) }),
    onPublish: (req) => {
      if (req.publishName !== KEY)
        return Promise.reject(new TiercastError('BAD_STREAM_KEY', 'invalid stream key'));
      const sink: PublishSink = { onTag: () => void tags++, close: () => undefined };
      return Promise.resolve(sink);
    },
  });
  servers.push(server);
  return { server, logs, tags: () => tags };
}

async function client(port: number, from = '127.0.0.1'): Promise<RtmpTestClient> {
  const c = await RtmpTestClient.connect(port, from);
  clients.push(c);
  return c;
}

function ffmpegPublish(port: number, seconds: number): Promise<{ code: number | null; stderr: string }> {
  // prettier-ignore
  const child = spawn('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=30', '-t', String(seconds),
    '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '30', '-f', 'flv', `rtmp://127.0.0.1:${port}/live/${KEY}`,
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stderr })));
}

/** Starts a message of `declared` bytes on a new chunk stream and sends `send` bytes of it (128-byte chunks). */
function partialMessage(c: RtmpTestClient, csid: number, declared: number, send: number): void {
  const header = Buffer.alloc(12);
  header[0] = csid; // fmt 0
  header.writeUIntBE(declared, 4, 3);
  header[7] = 9; // video
  const parts: Buffer[] = [header];
  for (let sent = 0; sent < send; sent += 128) {
    if (sent > 0) parts.push(Buffer.from([0xc0 | csid])); // fmt 3 continuation
    parts.push(Buffer.alloc(Math.min(128, send - sent), 0xab));
  }
  c.socket.write(Buffer.concat(parts));
}

void describe('unauthenticated RTMP connections', { timeout: 60_000 }, () => {
  void it('may not buffer large partial messages: closed with RTMP_MESSAGE_TOO_LARGE, memory held stays small', async () => {
    const h = await startServer({ maxConnections: 64, maxPerAddress: 64 });
    const hostile: RtmpTestClient[] = [];
    for (let i = 0; i < 20; i++) {
      const c = await client(h.server.port, '127.0.0.2');
      await c.handshake();
      hostile.push(c);
    }
    // Before the fix each of these could hold 16 MiB (2 x rtmpMaxMessageBytes) of partial messages.
    for (const c of hostile.slice(0, 10)) partialMessage(c, 4, 8 * 1024 * 1024 - 1, 200_000);
    // Messages under the limit on many chunk streams: the partial ceiling (2 x 64 KiB) holds.
    for (const c of hostile.slice(10))
      for (let csid = 4; csid < 12; csid++) partialMessage(c, csid, 60_000, 50_000);
    await Promise.race([Promise.all(hostile.map((c) => c.closed)), sleep(5000)]);
    assert.deepEqual(
      hostile.map((c) => c.isClosed),
      hostile.map(() => true),
      'every hostile connection closed',
    );
    assert.equal(h.server.pendingCount, 0);
    assert.match(h.logs.join(''), /"code":"RTMP_MESSAGE_TOO_LARGE"/);

    // What the open ones hold is bounded: 30 connections each just under the ceiling.
    const holders: RtmpTestClient[] = [];
    for (let i = 0; i < 30; i++) {
      const c = await client(h.server.port, '127.0.0.3');
      await c.handshake();
      partialMessage(c, 4, 60_000, 59_000);
      holders.push(c);
    }
    await sleep(300);
    assert.ok(holders.every((c) => !c.isClosed));
    assert.ok(
      h.server.pendingBufferedBytes <= 30 * 2 * PENDING_MAX_MESSAGE_BYTES,
      `held ${h.server.pendingBufferedBytes}`,
    );
  });

  void it('caps connections per address and in total; a legitimate ffmpeg publish from another address still works', async () => {
    const h = await startServer({ maxConnections: 12, maxPerAddress: 4, timeoutMs: 20_000 });
    const fromOne = await Promise.all(Array.from({ length: 10 }, () => client(h.server.port, '127.0.0.4')));
    await sleep(300);
    assert.equal(fromOne.filter((c) => !c.isClosed).length, 4, 'per-address cap');
    const others = await Promise.all(
      Array.from({ length: 10 }, (_, i) => client(h.server.port, `127.0.1.${i + 1}`)),
    );
    await sleep(300);
    assert.equal(h.server.pendingCount, 12, 'total cap');
    assert.ok(others.filter((c) => c.isClosed).length >= 2);
    assert.match(h.logs.join(''), /"code":"RTMP_TOO_MANY_CONNECTIONS"/);

    // Free a few slots (a peer gives up); a real publisher gets in and, once publishing, no longer counts.
    for (const c of others) c.close();
    await sleep(200);
    const result = await ffmpegPublish(h.server.port, 2);
    assert.equal(result.code, 0, result.stderr);
    assert.ok(h.tags() > 30, `tags delivered: ${h.tags()}`);
    // The refusal log is rate-limited per address: 10 refusals do not make 10 lines forever.
    const refusalLines = h.logs.filter((l) => l.includes('"code":"RTMP_TOO_MANY_CONNECTIONS"')).length;
    assert.ok(refusalLines <= 5 + 5, `refusal lines ${refusalLines}`);
  });

  void it('closes a connection that does not get a publish accepted in time (RTMP_PUBLISH_TIMEOUT)', async () => {
    const h = await startServer({ timeoutMs: 1500 });
    const silent = await client(h.server.port); // connects, says nothing
    const slow = await client(h.server.port); // handshake and connect, never publishes
    await slow.handshake();
    slow.command(0, 'connect', 1, { app: 'live', type: 'nonprivate', tcUrl: 'rtmp://127.0.0.1/live' });
    const t0 = Date.now();
    const publisher = await client(h.server.port); // publishes in time and stays
    await publisher.handshake();
    const status = await publisher.publish(KEY);
    assert.equal(status.code, 'NetStream.Publish.Start');
    await Promise.race([Promise.all([silent.closed, slow.closed]), sleep(6000)]);
    assert.ok(silent.isClosed && slow.isClosed, 'both closed');
    assert.ok(Date.now() - t0 < 5000);
    assert.match(h.logs.join(''), /"code":"RTMP_PUBLISH_TIMEOUT"/);
    await sleep(1000);
    assert.equal(publisher.isClosed, false, 'an accepted publish is not subject to the deadline');
  });
});
