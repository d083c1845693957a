/**
 * RtmpServer against a real ffmpeg publisher over real sockets (port 0).
 */
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { RtmpServer } from '../../src/ingress/rtmp/rtmp-server.js';
import type { FlvTag, PublishRequest, PublishSink } from '../../src/ingress/rtmp/rtmp-server.js';
import { AmfEcmaArray, decodeAmf0All } from '../../src/ingress/rtmp/amf0.js';
import { TiercastError } from '../../src/common/errors/index.js';

const FFMPEG = '/usr/bin/ffmpeg';
const GOOD_KEY = 'goodkey';

class RecordingSink implements PublishSink {
  tags: FlvTag[] = [];
  closes: string[] = [];
  onTag(tag: FlvTag): void {
    this.tags.push(tag);
  }
  close(reason: string): void {
    this.closes.push(reason);
  }
}

interface Harness {
  server: RtmpServer;
  requests: PublishRequest[];
  sinks: RecordingSink[];
  logs: string[];
}

const children = new Set<ChildProcess>();
const servers: RtmpServer[] = [];

afterEach(async () => {
  for (const c of children) c.kill('SIGKILL');
  children.clear();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function startServer(): Promise<Harness> {
  const logs: string[] = [];
  const requests: PublishRequest[] = [];
  const sinks: RecordingSink[] = [];
  const server = await RtmpServer.create({
    host: '127.0.0.1',
    port: 0,
    logger: pino({ level: 'debug' }, { write: (s: string) => void logs.push(s) }),
    onPublish: (req) => {
      requests.push(req);
      if (req.publishName !== GOOD_KEY) {
        return Promise.reject(new TiercastError('BAD_STREAM_KEY', 'unknown stream key', { app: req.app }));
      }
      const sink = new RecordingSink();
      sinks.push(sink);
      return Promise.resolve(sink);
    },
  });
  servers.push(server);
  return { server, requests, sinks, logs };
}

interface FfmpegResult {
  code: number | null;
  stderr: string;
}

function publish(
  port: number,
  key: string,
  seconds = 3,
): { done: Promise<FfmpegResult>; child: ChildProcess } {
  // prettier-ignore
  const args = [
    '-hide_banner', '-loglevel', 'error', '-re',
    '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=30',
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', String(seconds),
    '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '30',
    '-c:a', 'aac', '-f', 'flv', `rtmp://127.0.0.1:${port}/live/${key}`,
  ];
  const child = spawn(FFMPEG, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  children.add(child);
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const done = new Promise<FfmpegResult>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      children.delete(child);
      resolve({ code, stderr });
    });
  });
  return { done, child };
}

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

function assertNonDecreasing(tags: FlvTag[], label: string): void {
  for (let i = 1; i < tags.length; i++) {
    assert.ok(tags[i]!.timestamp >= tags[i - 1]!.timestamp, `${label} timestamps decrease at ${i}`);
  }
}

function assertGoodPublish(h: Harness, sink: RecordingSink): void {
  const video = sink.tags.filter((t) => t.type === 9);
  const audio = sink.tags.filter((t) => t.type === 8);
  const meta = sink.tags.filter((t) => t.type === 18);

  // ~3 s at 30 fps and 48 kHz AAC (1024 samples per frame, ~47 per second).
  assert.ok(video.length >= 60, `video tags: ${video.length}`);
  assert.ok(audio.length >= 100, `audio tags: ${audio.length}`);
  assert.equal(video[0]!.data[0], 0x17, 'first video tag: keyframe, AVC');
  assert.equal(video[0]!.data[1], 0, 'first video tag: AVC sequence header');
  assert.equal(audio[0]!.data[0]! >> 4, 10, 'audio codec AAC');
  assert.equal(audio[0]!.data[1], 0, 'first audio tag: AAC sequence header');
  assert.ok(
    video.slice(1).some((t) => t.data[0] === 0x27),
    'inter frames too',
  );
  assertNonDecreasing(video, 'video');
  assertNonDecreasing(audio, 'audio');
  assert.ok(video.at(-1)!.timestamp >= 2500, `last video timestamp ${video.at(-1)!.timestamp}`);

  assert.ok(meta.length >= 1, 'metadata tag');
  const [name, props] = decodeAmf0All(meta[0]!.data);
  assert.equal(name, 'onMetaData');
  assert.ok(props instanceof AmfEcmaArray);
  assert.equal(props.entries.width, 320);
  assert.equal(props.entries.height, 240);
  assert.ok(sink.tags.indexOf(meta[0]!) < sink.tags.indexOf(video[0]!), 'metadata first');
  for (const t of sink.tags) assert.ok(t.receivedAt > Date.now() - 60_000 && t.receivedAt <= Date.now());
}

void describe('RtmpServer with ffmpeg', { timeout: 60_000 }, () => {
  void it('accepts a publish from ffmpeg and delivers metadata, AVC and AAC tags', async () => {
    const h = await startServer();
    assert.ok(h.server.port > 0);
    const { done } = publish(h.server.port, GOOD_KEY);
    const result = await done;
    assert.equal(result.code, 0, `ffmpeg failed: ${result.stderr}`);

    assert.equal(h.requests.length, 1);
    assert.equal(h.requests[0]!.publishName, GOOD_KEY);
    assert.equal(h.requests[0]!.app, 'live');
    assert.equal(h.requests[0]!.remoteAddress, '127.0.0.1');
    const sink = h.sinks[0]!;
    await waitFor(() => sink.closes.length > 0, 5000, 'sink.close');
    await sleep(100);
    assert.equal(sink.closes.length, 1, `close() calls: ${sink.closes.join(', ')}`);
    assertGoodPublish(h, sink);
    await waitFor(() => h.server.sessionCount === 0, 2000, 'session cleanup');
  });

  void it('refuses a wrong key: ffmpeg fails with the reason, the server logs the code but not the key', async () => {
    const h = await startServer();
    const badKey = 'wrong-key-5b1e77';
    const { done } = publish(h.server.port, badKey);
    const result = await done;
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /Invalid stream key/);
    assert.equal(h.sinks.length, 0);
    const logs = h.logs.join('');
    assert.match(logs, /"code":"BAD_STREAM_KEY"/);
    assert.ok(!logs.includes(badKey), 'the stream key appears in the logs');
    await waitFor(() => h.server.sessionCount === 0, 2000, 'session cleanup');
  });

  void it('closes a connection that sends garbage while a concurrent publish succeeds', async () => {
    const h = await startServer();
    const { done } = publish(h.server.port, GOOD_KEY);
    await waitFor(() => (h.sinks[0]?.tags.length ?? 0) > 10, 10_000, 'publish to start');

    const garbage = net.connect(h.server.port, '127.0.0.1');
    const closed = new Promise<number>((resolve) => {
      const t0 = Date.now();
      garbage.on('error', () => undefined);
      garbage.on('close', () => resolve(Date.now() - t0));
    });
    garbage.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const closeMs = await closed;
    assert.ok(closeMs < 2000, `garbage connection closed after ${closeMs} ms`);

    const result = await done;
    assert.equal(result.code, 0, `ffmpeg failed: ${result.stderr}`);
    const sink = h.sinks[0]!;
    await waitFor(() => sink.closes.length > 0, 5000, 'sink.close');
    assert.equal(sink.closes.length, 1);
    assertGoodPublish(h, sink);
    assert.match(h.logs.join(''), /"level":40[^\n]*"code":"RTMP_HANDSHAKE_FAILED"/);
  });

  void it('close() ends live publishes, closes their sinks once and is idempotent', async () => {
    const h = await startServer();
    const { done } = publish(h.server.port, GOOD_KEY, 30);
    await waitFor(() => (h.sinks[0]?.tags.length ?? 0) > 5, 10_000, 'publish to start');
    await Promise.all([h.server.close(), h.server.close()]);
    await h.server.close();
    assert.deepEqual(h.sinks[0]!.closes, ['server closing']);
    assert.equal(h.server.sessionCount, 0);
    const result = await Promise.race([done, sleep(10_000, undefined, { ref: false })]);
    assert.ok(result, 'ffmpeg exits once the server has gone');
    assert.notEqual(result.code, 0);
  });
});
