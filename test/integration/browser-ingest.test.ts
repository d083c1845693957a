/**
 * The browser ingest socket (/publish/ws on the ingress) against a real ingress and ffmpeg: H.264 tags sent
 * as a page sends them go live; a wrong key, garbage, media before the key, an oversize frame and media
 * faster than real time are each refused with a code and words, closing only that socket, while another
 * stream published the same way stays live. A second socket with the same key takes the stream over (a
 * browser reconnecting before its old socket is known dead). No log line holds a key.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { FlvReader } from '../../src/ingress/flv/flv-reader.js';
import { encodeIngestTag } from '../../src/ingress/browser-ingest/ingest-protocol.js';
import { WebmTagWriter } from '../../src/ingress/mkv/mkv-to-flv.js';
import { waitFor } from '../helpers/network.js';
import { useFixture } from '../helpers/fixture.js';
import { startBrowserIngest, type IngestClient } from '../helpers/browser-ingest.js';

const KEY = 'browser_ingest_key_0001';
const KEY2 = 'browser_ingest_key_0002';

const ingest = useFixture(() =>
  startBrowserIngest({
    nodeId: 'ingress-browser',
    clusterSecret: 'browser-ingest-secret-0123456789',
    keys: { cam: KEY, other: KEY2 },
  }),
);

const connect = () => ingest.connect();
const hello = (key: string) => ingest.hello({ key });

/** A real H.264 source (video only, as a page sends until Opus is taken) paced by ffmpeg -re. */
function sendCamera(c: IngestClient): void {
  const p = ingest.ffmpeg([
    ...['-hide_banner', '-loglevel', 'error', '-nostdin', '-re', '-f', 'lavfi'],
    ...['-i', 'testsrc2=size=320x240:rate=25', '-t', '60', '-an'],
    ...['-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '25'],
    ...['-pix_fmt', 'yuv420p', '-f', 'flv', 'pipe:1'],
  ]);
  const reader = new FlvReader();
  p.stdout.on('data', (d: Buffer) => {
    for (const t of reader.push(d)) {
      if (t.type !== 9 || c.ws.readyState !== WebSocket.OPEN) continue;
      c.ws.send(encodeIngestTag({ type: 9, timestamp: t.timestamp, body: t.data }));
    }
  });
}

/**
 * H.264 + Opus as tags, the way the /broadcast page sends them (no onMetaData of the page's own), with the
 * microphone's first sound `lateMs` after the first picture.
 */
function sendPageWithMicrophoneLate(page: IngestClient, lateMs: number): void {
  const p = ingest.ffmpeg([
    ...['-hide_banner', '-loglevel', 'error', '-nostdin', '-re', '-f', 'lavfi'],
    ...['-i', 'testsrc2=size=320x240:rate=25', '-re', '-f', 'lavfi'],
    ...['-i', 'sine=frequency=440:sample_rate=48000', '-t', '60', '-c:a', 'libopus'],
    ...['-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '25'],
    ...['-pix_fmt', 'yuv420p', '-f', 'matroska', '-live', '1', '-cluster_time_limit', '40', 'pipe:1'],
  ]);
  const tags = new WebmTagWriter({ maxElementBytes: 4 * 1024 * 1024 });
  let firstPicture: number | undefined;
  p.stdout.on('data', (d: Buffer) => {
    for (const t of tags.push(d, Date.now())) {
      if (page.ws.readyState !== WebSocket.OPEN || t.type === 18) continue;
      if (t.type === 9) firstPicture ??= Date.now();
      if (t.type === 8 && (firstPicture === undefined || Date.now() - firstPicture < lateMs)) continue;
      page.ws.send(encodeIngestTag({ type: t.type, timestamp: t.timestamp, body: t.data }));
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
    await waitFor('stream "other" live', () => ingest.node.live.get('other')?.isLive, 30_000);
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
    assert.equal(ingest.node.live.has('cam'), false, 'the refused publish ended');
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
    assert.ok(ingest.node.live.has('cam'), 'the new socket carries the stream');
    fresh.ws.close();
    await fresh.closed;
    await waitFor('the stream to end with its socket', () => !ingest.node.live.has('cam'), 3000, 20);
  });

  it('a microphone announced in the hello is waited for: audio that starts after the picture is heard', async () => {
    const page = await ingest.hello({ key: KEY, audio: true });
    assert.equal(page.messages[0]?.ok, true);
    // The microphone starts 600 ms after the first picture (a browser's AudioWorklet often does).
    sendPageWithMicrophoneLate(page, 600);
    await waitFor('stream "cam" live', () => ingest.node.live.get('cam')?.isLive, 30_000);
    const live = ingest.logs
      .map((l) => JSON.parse(l) as { msg: string; stream?: string; renditions?: string[] })
      .filter((l) => l.msg === 'stream is live' && l.stream === 'cam')
      .pop();
    assert.ok(
      live?.renditions?.some((r) => /^a\d/.test(r)),
      `the stream has sound: ${JSON.stringify(live)}`,
    );
    page.ws.close();
    await page.closed;
  });

  it('a microphone that starts long after the stream went live is not lost: the stream gains its sound', async () => {
    const logsBefore = ingest.logs.length;
    const page = await ingest.hello({ key: KEY, audio: true });
    assert.equal(page.messages[0]?.ok, true);
    // The same page, its microphone starting 5 s after the first picture: past every wait, so the stream
    // goes live without sound first (a busy machine's AudioWorklet did this in a full CI run).
    sendPageWithMicrophoneLate(page, 5000);
    const stream = () => ingest.node.relay.get('cam');
    const audioIds = () =>
      (stream()?.info?.renditions ?? []).filter((r) => r.kind === 'audio').map((r) => r.id);
    await waitFor('stream "cam" live', () => ingest.node.live.get('cam')?.isLive, 30_000);
    assert.deepEqual(audioIds(), [], 'live before the microphone began: no sound yet');
    const silentEnd = Math.max(...[...stream()!.renditions.values()].map((c) => c.last?.segment ?? 0));
    // Then the sound begins: the stream's renditions gain an audio track and its chunks flow, on the same
    // timeline (later segment numbers), without the stream ever leaving the directory.
    let offline = false;
    const watch = setInterval(() => (offline ||= ingest.node.live.get('cam')?.isLive !== true), 50);
    try {
      await waitFor('an audio rendition', () => audioIds().length > 0, 20_000, 100);
      const a = audioIds()[0]!;
      await waitFor(
        'audio chunks',
        () => (stream()!.renditions.get(a)?.last?.segment ?? -1) >= 0,
        10_000,
        100,
      );
      assert.ok(stream()!.renditions.get(a)!.last!.segment > silentEnd, 'the timeline goes on');
    } finally {
      clearInterval(watch);
    }
    assert.equal(offline, false, 'the stream stayed live while its transcoder restarted with the sound');
    const logs = ingest.logs.slice(logsBefore);
    assert.ok(
      logs.some((l) => l.includes('a track began after the stream started')),
      'logged',
    );
    const lives = logs.filter((l) => l.includes('"stream is live"') && l.includes('"stream":"cam"'));
    assert.equal(lives.length, 1, 'announced once: followers are not told twice');
    page.ws.close();
    await page.closed;
  });

  it('the other stream stayed live through all of it', async () => {
    await sleep(500);
    assert.equal(ingest.node.live.get('other')?.isLive, true);
    assert.ok(
      ingest.logs.some((l) => l.includes('BROWSER_INGEST_TOO_FAST')),
      'the refusal is logged with its code',
    );
  });
});
