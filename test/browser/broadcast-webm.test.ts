/**
 * Going live from a browser without WebCodecs: Chromium with a fake camera and microphone, VideoEncoder and
 * AudioEncoder deleted before the page loads, opens /broadcast on the edge of a tree (ingress →
 * intermediate → edge). The page says it records WebM with MediaRecorder, goes live, and a second page
 * watching /watch/cam sees its video time advance and decodes its audio; the health panel shows the rate.
 * A cut socket reconnects with a new WebM file and the viewer's video goes on. With Source quality on,
 * the recorder's H.264 is passed through (its GOP 2 s). Without H.264 in
 * MediaRecorder (Firefox) the page sends VP8, which viewers watch transcoded. A browser with neither
 * WebCodecs nor MediaRecorder is told it cannot broadcast. The key is in no URL and no log line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KEY, waitFor } from '../helpers/network.js';
import { useFixture } from '../helpers/fixture.js';
import {
  assertVideoAdvances,
  dropConnectionAndResume,
  startBroadcastSetup,
  pictureTime,
  waitForDecodedAudio,
} from '../helpers/broadcast-page.js';

const SOURCE_KEY = 'webm_source_key_0123456789';
const NO_WEBCODECS = 'delete window.VideoEncoder; delete window.AudioEncoder;';

const setup = useFixture(startBroadcastSetup);

const newPage = (initScript?: string) => setup.newPage(initScript);

test('without WebCodecs the page records WebM with MediaRecorder, goes live, and a viewer watches', async () => {
  const page = await newPage(NO_WEBCODECS);
  await page.goto(`${setup.net.edgeUrl}/broadcast`);
  assert.equal(await page.evaluate('typeof VideoEncoder'), 'undefined');
  assert.equal(await page.isVisible('#unsupported'), false, 'no "cannot broadcast" banner');
  assert.equal(await page.textContent('#health-encoder'), 'WebM (MediaRecorder, H.264 + Opus)');
  await page.fill('#stream-key', KEY);
  const started = Date.now();
  await page.click('#start');
  await waitFor(
    'the page to say Live',
    async () => {
      const error = (await page.textContent('#error'))?.trim();
      if (error) throw new Error(`the page says: ${error}`);
      return (await page.textContent('#status')) === 'Live';
    },
    30_000,
  );
  console.log(`# WebM: start → live (the ingress's first chunks out): ${Date.now() - started} ms`);

  const viewer = await newPage();
  await viewer.goto(`${setup.net.edgeUrl}/watch/cam`);
  await waitFor('the viewer to play', async () => (await pictureTime(viewer)) > 0.5, 20_000);
  console.log(`# WebM: start → viewer playing: ${Date.now() - started} ms`);
  await assertVideoAdvances(viewer);
  await waitForDecodedAudio(viewer);
  assert.match((await page.textContent('#health-bitrate')) ?? '', /bps$/);
  await waitFor(
    'the ingress to report what it receives',
    async () => /bps$/.test((await page.textContent('#health-server')) ?? ''),
    5000,
  );
  assert.match((await page.textContent('#health-rtt')) ?? '', /^\d+ ms$/);

  // A lost connection: a new socket, a new WebM file (header and keyframe first); the viewer goes on.
  await dropConnectionAndResume(page, viewer);
  await page.click('#start'); // Stop
  await waitFor('the broadcast to end', () => !setup.net.ingress.live.has('cam'), 10_000);
});

test("with Source quality on, MediaRecorder's H.264 (a keyframe every 2 s) is passed through as Source", async () => {
  // A streamer only the hub knows (the ingress's static list, which has 'cam', is asked first), Source on.
  setup.hub.store.streamers.add({ name: 'srcq', key: SOURCE_KEY, title: 'Source', category: 'Testing' });
  setup.hub.store.streamers.update('srcq', { transcode: 'passthrough' });
  const page = await newPage(NO_WEBCODECS);
  await page.goto(`${setup.net.edgeUrl}/broadcast`);
  await page.fill('#stream-key', SOURCE_KEY);
  const started = Date.now();
  await page.click('#start');
  await waitFor('the page to say Live', async () => (await page.textContent('#status')) === 'Live', 30_000);
  console.log(`# WebM H.264 with Source: start → live: ${Date.now() - started} ms`);
  const on = setup.logs
    .map((l) => JSON.parse(l) as { msg?: string; stream?: string; segmentDurationMs?: number })
    .find((o) => o.msg === 'Source quality on' && o.stream === 'srcq');
  assert.ok(on, 'Source quality is on');
  // The segment duration is the measured GOP: Chromium honours videoKeyFrameIntervalDuration (2 s).
  assert.ok(on.segmentDurationMs! >= 1800 && on.segmentDurationMs! <= 2200, `GOP ${on.segmentDurationMs} ms`);
  const master = await waitFor(
    'the Source rendition in the playlist',
    async () => {
      const r = await fetch(`${setup.net.edgeUrl}/live/srcq/master.m3u8`);
      const t = r.ok ? await r.text() : '';
      return t.includes('src/playlist.m3u8') ? t : false;
    },
    15_000,
  );
  assert.match(master, /src\/playlist\.m3u8/);
  await page.click('#start'); // Stop
  await waitFor('the broadcast to end', () => !setup.net.ingress.live.has('srcq'), 10_000);
});

test("a browser whose MediaRecorder has no H.264 (Firefox's case) sends VP8, transcoded for viewers", async () => {
  const page = await newPage(
    `${NO_WEBCODECS} const can = MediaRecorder.isTypeSupported.bind(MediaRecorder);
     MediaRecorder.isTypeSupported = (t) => !/h264|avc1/i.test(t) && can(t);`,
  );
  await page.goto(`${setup.net.edgeUrl}/broadcast`);
  assert.equal(await page.textContent('#health-encoder'), 'WebM (MediaRecorder, VP8 + Opus)');
  await page.fill('#stream-key', KEY);
  const started = Date.now();
  await page.click('#start');
  await waitFor('the page to say Live', async () => (await page.textContent('#status')) === 'Live', 30_000);
  console.log(`# WebM VP8: start → live: ${Date.now() - started} ms`);
  const viewer = await newPage();
  await viewer.goto(`${setup.net.edgeUrl}/watch/cam`);
  await waitFor('the viewer to play', async () => (await pictureTime(viewer)) > 1, 20_000);
  const a = await pictureTime(viewer);
  await new Promise((r) => setTimeout(r, 2000));
  assert.ok((await pictureTime(viewer)) - a > 1, 'the VP8 stream plays');
  await page.click('#start'); // Stop
  await waitFor('the broadcast to end', () => !setup.net.ingress.live.has('cam'), 10_000);
});

test('a browser with neither WebCodecs nor MediaRecorder is told it cannot broadcast', async () => {
  const page = await newPage(`${NO_WEBCODECS} delete window.MediaRecorder;`);
  await page.goto(`${setup.net.edgeUrl}/broadcast`);
  assert.equal(
    await page.textContent('#unsupported'),
    'This browser cannot broadcast: no WebCodecs or MediaRecorder.',
  );
  assert.equal(await page.isDisabled('#start'), true);
});

test('the key is in no URL and no log line; no page error', () => {
  assert.ok(setup.urls.some((u) => u.endsWith('/publish/ws')));
  for (const k of [KEY, SOURCE_KEY]) {
    for (const u of setup.urls) assert.ok(!u.includes(k), `a URL holds the key: ${u}`);
    for (const l of setup.logs) assert.ok(!l.includes(k), `a log line holds the key: ${l}`);
  }
  assert.deepEqual(setup.pageErrors, []);
});
