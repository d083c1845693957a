/**
 * Going live from the browser: Chromium with a fake camera opens /broadcast on the edge of a tree
 * (ingress → intermediate → edge), enters the key and starts; the stream goes live and a second page
 * watching /watch/cam sees its video time advance and decodes its audio (Opus from the page); the
 * broadcaster sees a viewer. A cut socket reconnects
 * by itself and the viewer's video goes on. The viewer's chat message shows beside the broadcaster's
 * preview. A wrong key is refused with words on the page. Without WebCodecs the page offers its MediaRecorder
 * fallback (tested in broadcast-webm.test.ts). The key is in no URL the pages requested and in
 * no log line of any node or the hub.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { KEY, waitFor } from '../helpers/network.js';
import { useFixture } from '../helpers/fixture.js';
import {
  assertVideoAdvances,
  dropConnectionAndResume,
  startBroadcastSetup,
  pictureTime,
  waitForDecodedAudio,
} from '../helpers/broadcast-page.js';

const setup = useFixture(startBroadcastSetup);

const newPage = () => setup.newPage();

let broadcaster: Page;

test('a page goes live from /broadcast and a viewer watches it through the tree', async () => {
  broadcaster = await newPage();
  await broadcaster.goto(`${setup.net.edgeUrl}/broadcast`);
  await broadcaster.fill('#stream-key', KEY);
  const started = Date.now();
  await broadcaster.click('#start');
  await waitFor(
    'the page to say Live',
    async () => (await broadcaster.textContent('#status')) === 'Live',
    30_000,
  );
  const startToLive = Date.now() - started;
  console.log(`# start → live (the ingress's first chunks out): ${startToLive} ms`);
  assert.equal(await broadcaster.textContent('#error'), '');

  const viewer = await newPage();
  await viewer.goto(`${setup.net.edgeUrl}/watch/cam`);
  const t0 = await waitFor(
    'the viewer to play',
    async () => ((await pictureTime(viewer)) > 0.5 ? true : false),
    20_000,
  );
  assert.ok(t0);
  await assertVideoAdvances(viewer);
  console.log(`# start → viewer playing: ${Date.now() - started} ms`);
  // The fake microphone's beep went out as Opus and comes back as the stream's audio: the viewer decodes it.
  assert.equal(await broadcaster.isVisible('#audio-note'), false, 'no "viewers will not hear you" note');
  await waitForDecodedAudio(viewer);

  await waitFor(
    'the broadcaster to show a viewer',
    async () => /^[1-9]\d* viewers?$/.test((await broadcaster.textContent('#viewers')) ?? ''),
    10_000,
  );
  assert.match((await broadcaster.textContent('#health-bitrate')) ?? '', /bps$/);

  // The chat beside the preview: a viewer's message reaches the broadcaster.
  await waitFor("the viewer's chat", () => viewer.locator('#chat-input').isEnabled(), 15_000);
  await viewer.fill('#chat-input', 'hello from the audience');
  await viewer.press('#chat-input', 'Enter');
  await broadcaster.locator('#chat-log', { hasText: 'hello from the audience' }).waitFor({ timeout: 10_000 });

  // A lost connection: the page reconnects by itself (keyframe first) and the viewer's video goes on.
  await dropConnectionAndResume(broadcaster, viewer);
});

test('a wrong key is refused with words on the page', async () => {
  const page = await newPage();
  await page.goto(`${setup.net.edgeUrl}/broadcast`);
  await page.fill('#stream-key', 'not-the-right-key-42');
  await page.click('#start');
  await waitFor('the refusal', async () => (await page.textContent('#error')) !== '', 10_000);
  assert.equal(await page.textContent('#error'), 'That stream key is not right.');
  assert.equal(await page.textContent('#status'), 'Not live');
  assert.equal(await page.textContent('#start'), 'Start broadcast');
});

test('without MediaStreamTrackProcessor (Firefox, Safari) the page reads a <video> and an AudioWorklet; its late sound is heard', async () => {
  await broadcaster.click('#start'); // Stop
  await waitFor('the first broadcast to end', () => !setup.net.ingress.live.has('cam'), 10_000);
  const page = await newPage();
  await page.addInitScript('delete window.MediaStreamTrackProcessor');
  // A busy machine: the <video> cannot give its first pictures ("Invalid source state", as Chromium throws
  // when the element has no current frame). The page skips them and goes on.
  await page.addInitScript(`{
    const Real = window.VideoFrame;
    let refused = 0;
    window.VideoFrame = new Proxy(Real, {
      construct(target, args) {
        if (args[0] instanceof HTMLVideoElement && refused < 5) {
          refused++;
          throw new DOMException("Failed to construct 'VideoFrame': Invalid source state", 'InvalidStateError');
        }
        return Reflect.construct(target, args);
      },
    });
    window.refusedFrames = () => refused;
  }`);
  // A busy machine again: the AudioWorklet takes 4 s to load, so the microphone's first sound comes after the
  // page stopped holding its pictures for it and after the ingress went live without it. The sound is not
  // lost: the ingress restarts the transcoder with it and the viewer's player takes the new track.
  await page.addInitScript(`{
    const add = AudioWorklet.prototype.addModule;
    AudioWorklet.prototype.addModule = function (...args) {
      return new Promise((r) => setTimeout(r, 4000)).then(() => add.apply(this, args));
    };
  }`);
  await page.goto(`${setup.net.edgeUrl}/broadcast`);
  assert.equal(await page.evaluate('typeof MediaStreamTrackProcessor'), 'undefined');
  await page.fill('#stream-key', KEY);
  await page.click('#start');
  await waitFor('the page to say Live', async () => (await page.textContent('#status')) === 'Live', 30_000);
  const viewer = await newPage();
  await viewer.goto(`${setup.net.edgeUrl}/watch/cam`);
  await waitFor('the viewer to play', async () => (await pictureTime(viewer)) > 1, 20_000);
  await waitForDecodedAudio(viewer);
  assert.equal(await page.evaluate('window.refusedFrames()'), 5, 'the unreadable pictures were met');
  await page.click('#start'); // Stop
});

test('a browser without WebCodecs is offered the MediaRecorder fallback (broadcast-webm.test.ts)', async () => {
  const page = await newPage();
  await page.addInitScript('delete window.VideoEncoder');
  await page.goto(`${setup.net.edgeUrl}/broadcast`);
  assert.equal(await page.isVisible('#unsupported'), false);
  assert.equal(await page.isDisabled('#start'), false);
  assert.equal(await page.textContent('#health-encoder'), 'WebM (MediaRecorder, H.264 + Opus)');
});

test('the key is in no URL and no log line', () => {
  assert.ok(
    setup.urls.some((u) => u.endsWith('/publish/ws')),
    'the ingest socket was opened',
  );
  for (const u of setup.urls) {
    assert.ok(!u.includes(KEY) && !u.includes('not-the-right-key-42'), `a URL holds the key: ${u}`);
  }
  assert.ok(setup.logs.length > 10, 'the nodes logged');
  assert.ok(
    setup.logs.some((l) => l.includes('BAD_STREAM_KEY')),
    'the refusal is logged',
  );
  for (const l of setup.logs) {
    assert.ok(!l.includes(KEY) && !l.includes('not-the-right-key-42'), `a log line holds the key: ${l}`);
  }
  assert.deepEqual(setup.pageErrors, []);
});
