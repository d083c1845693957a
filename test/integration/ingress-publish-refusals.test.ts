/**
 * Publishes the ingress cannot turn into a watchable stream are refused clearly and never listed:
 * a codec the transcoder cannot take (real ffmpeg sending Sorenson H.263; a hand-made Enhanced RTMP tag
 * with an unknown FourCC), garbage that claims to be H.264 (the transcoder gives up), and malformed stream keys (refused
 * without asking the hub). A stream is listed in the directory only once it produces media.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { ingressSchema } from '../../src/common/config/index.js';
import { startIngress, type IngressNode } from '../../src/ingress/main.js';
import { encodeAmf0 } from '../../src/ingress/rtmp/amf0.js';
import { RtmpTestClient } from '../helpers/rtmp-client.js';

const KEY = 'publish-refusals-key';
const logs: string[] = [];
const logger = pino({ level: 'info' }, { write: (s: string) => void logs.push(s) });
let node: IngressNode;
let hub: http.Server;
let authorizeCalls = 0;
/** Every name the directory ever listed. */
const listed = new Set<string>();
const clients: RtmpTestClient[] = [];

before(async () => {
  // A stand-in hub: counts key checks (any key but KEY is refused) and accepts live reports.
  hub = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      if (req.url === '/internal/publish/authorize') {
        authorizeCalls++;
        const ok = (JSON.parse(body) as { key: string }).key === KEY;
        res.writeHead(ok ? 200 : 403, { 'content-type': 'application/json' });
        res.end(ok ? JSON.stringify({ name: 'cam' }) : '{}');
        return;
      }
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => hub.listen(0, '127.0.0.1', r));
  node = await startIngress(
    ingressSchema.parse({
      nodeId: 'ingress-refusals',
      clusterSecret: 'refusals-secret-0123456789abcdef',
      rtmp: { host: '127.0.0.1', port: 0 },
      http: { host: '127.0.0.1', port: 0 },
      hub: { url: `http://127.0.0.1:${(hub.address() as AddressInfo).port}` },
      transcode: {
        preset: 'ultrafast',
        ladder: [{ id: 'v240', height: 240, videoBitrateKbps: 300 }],
        restartBackoffMs: 100,
        stallTimeoutMs: 1000,
      },
    }),
    logger,
  );
  node.relay.onDirectoryChange((entries) => entries.forEach((e) => listed.add(e.name)));
});

after(async () => {
  for (const c of clients) c.close();
  await node.close();
  hub.close();
});

async function publisher(): Promise<RtmpTestClient> {
  const c = await RtmpTestClient.connect(node.rtmpPort);
  clients.push(c);
  await c.handshake();
  return c;
}

async function noStreamLeft(): Promise<void> {
  for (let i = 0; i < 100 && node.live.size > 0; i++) await sleep(50);
  assert.equal(node.live.size, 0, 'the stream is gone');
}

void describe('publishes that cannot be watched', { timeout: 90_000 }, () => {
  void it('real ffmpeg sending Sorenson H.263 (-c:v flv): ffmpeg exits with the reason, nothing is listed', async () => {
    // prettier-ignore
    const child = spawn('ffmpeg', [
      '-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=30', '-t', '20',
      '-c:v', 'flv', '-f', 'flv', `rtmp://127.0.0.1:${node.rtmpPort}/live/${KEY}`,
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const t0 = Date.now();
    const code = await new Promise<number | null>((r) => child.once('close', r));
    assert.notEqual(code, 0);
    assert.match(stderr, /Unsupported codec Sorenson H\.263: publish H\.264, HEVC, AV1 or VP9 video/);
    assert.ok(Date.now() - t0 < 10_000, 'ffmpeg is told at once, not after minutes');
    await noStreamLeft();
    assert.ok(!listed.has('cam') && node.relay.directory.length === 0, 'never listed');
    assert.match(logs.join(''), /"code":"UNSUPPORTED_CODEC"/);
  });

  void it('an Enhanced RTMP tag with an unknown FourCC: NetStream.Publish.Failed naming it, then the connection closes', async () => {
    const c = await publisher();
    const start = await c.publish(KEY);
    assert.equal(start.code, 'NetStream.Publish.Start');
    await sleep(200);
    assert.equal(node.relay.directory.length, 0, 'accepted but not listed before media comes out');
    // IsExHeader | keyframe, PacketType SequenceStart, FourCC 'xxxx', then a (fake) configuration record.
    c.send(9, 1, Buffer.concat([Buffer.from([0x90]), Buffer.from('xxxx'), Buffer.alloc(32, 1)]), 0, 6);
    const status = await c.nextStatus();
    assert.equal(status.code, 'NetStream.Publish.Failed');
    assert.equal(status.level, 'error');
    assert.match(status.description as string, /Unsupported codec video \(Enhanced RTMP 'xxxx'\)/);
    await Promise.race([c.closed, sleep(3000)]);
    assert.ok(c.isClosed, 'the server closed the session');
    await noStreamLeft();
    assert.ok(!listed.has('cam'));
  });

  void it('garbage claiming to be H.264: the transcoder gives up, the publisher is told and disconnected', async () => {
    const c = await publisher();
    assert.equal((await c.publish(KEY)).code, 'NetStream.Publish.Start');
    c.send(18, 1, encodeAmf0('@setDataFrame', 'onMetaData', { width: 320, height: 240 }), 0, 4);
    let ts = 0;
    const feed = setInterval(() => {
      // AVC keyframes (0x17, NALU) full of noise: ffmpeg decodes nothing from them.
      c.send(
        9,
        1,
        Buffer.concat([Buffer.from([0x17, 1, 0, 0, 0]), Buffer.alloc(2000, ts & 0xff)]),
        (ts += 33),
        6,
      );
    }, 33);
    try {
      const status = await c.nextStatus(40_000);
      assert.equal(status.code, 'NetStream.Publish.Failed');
      assert.match(status.description as string, /could not be transcoded/);
      await Promise.race([c.closed, sleep(3000)]);
      assert.ok(c.isClosed);
    } finally {
      clearInterval(feed);
    }
    await noStreamLeft();
    assert.ok(!listed.has('cam'), 'never listed');
  });

  void it('a 10 KB stream key is an invalid key: BadName "Invalid stream key" without asking the hub', async () => {
    const before = authorizeCalls;
    const c = await publisher();
    const status = await c.publish('k'.repeat(10_000));
    assert.equal(status.code, 'NetStream.Publish.BadName');
    assert.equal(status.description, 'Invalid stream key');
    assert.equal(authorizeCalls, before, 'the hub was not asked');
    const c2 = await publisher();
    assert.equal((await c2.publish('bad\u0000key')).description, 'Invalid stream key');
    assert.equal(authorizeCalls, before);
    assert.ok(!logs.join('').includes('HUB_UNAVAILABLE'));
  });

  void it('a real H.264 publish is listed once it produces media, and unlisted when it ends', async () => {
    // prettier-ignore
    const child = spawn('ffmpeg', [
      '-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=30', '-t', '6',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '30', '-f', 'flv', `rtmp://127.0.0.1:${node.rtmpPort}/live/${KEY}`,
    ], { stdio: ['ignore', 'ignore', 'ignore'] });
    for (let i = 0; i < 200 && !node.relay.directory.some((e) => e.name === 'cam'); i++) await sleep(50);
    assert.ok(node.live.get('cam')?.isLive, 'live');
    assert.ok(
      node.relay.directory.some((e) => e.name === 'cam'),
      'listed',
    );
    await new Promise((r) => child.once('close', r));
    await noStreamLeft();
    assert.equal(node.relay.directory.length, 0);
  });
});
