/**
 * A past broadcast in a real Chromium (issue 15): a broadcast with a transcoder restart in the middle is
 * recorded at the ingress and listed on its channel's page; /videos/ID plays it with hls.js from the edge,
 * on each rendition of the quality menu (the picture's height is the rendition's), and plays through the
 * restart. While it is live, a viewer rewinds it half a minute from the watch page and returns to live. A video
 * that does not exist says so on the page.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { HubNode } from '../../src/hub/main.js';
import { launchChromium } from '../helpers/browser.js';
import {
  KEY,
  publish,
  startNetwork,
  startTestHub,
  stop,
  waitFor,
  type TestNetwork,
} from '../helpers/network.js';
import { crashTranscoder } from '../helpers/watch-page.js';
import { pictureTime } from '../helpers/watch-page.js';

const dir = mkdtempSync(join(tmpdir(), 'tiercast-past-'));
const storage = { kind: 'local', dir };
let hub: HubNode;
let net: TestNetwork;
let browser: Browser;
let id = '';
/** Where the second epoch starts in the recording (seconds), from the MPD's Periods. */
let restartAt = 0;

let pub: ReturnType<typeof publish> | undefined;
/** Chat said during the broadcast (remote API, as the streamer): before and after the restart. */
const said = { early: 'hello from the first minutes', late: 'and hello after the restart' };

before(async () => {
  hub = await startTestHub({ extra: { recordings: { storage } } });
  hub.store.streamers.add({ name: 'cam', key: KEY, title: 'Yesterday on cam', category: 'Testing' });
  net = await startNetwork({
    hub,
    ingress: { recording: { enabled: true, storage } },
    edge: { recordings: { storage } },
  });
  pub = publish(net.rtmpUrl, KEY, 180);
  await waitFor('live', () => net.ingress.live.get('cam')?.isLive, 20_000);
  await new Promise((r) => setTimeout(r, 2000));
  await say(said.early);
  await new Promise((r) => setTimeout(r, 3000));
  await crashTranscoder(net);
  await new Promise((r) => setTimeout(r, 3000));
  await say(said.late);
  browser = await launchChromium();
});

/** The streamer says something in the chat (remote API). */
async function say(text: string): Promise<void> {
  const r = await fetch(`${hub.url}/api/v1/streams/cam/chat`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`cam:${KEY}`).toString('base64')}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify({ text }),
  });
  assert.equal(r.status, 201);
}

/** Ends the broadcast (once) and waits until the hub lists it as ended; its id and where its restart is. */
async function ended(): Promise<void> {
  if (id) return;
  if (pub) await stop(pub);
  pub = undefined;
  const video = await waitFor('the broadcast is listed, ended', async () => {
    const r = (await (await fetch(`${net.edgeUrl}/api/channels/cam/videos`)).json()) as {
      videos: Array<{ id: string; live: boolean }>;
    };
    return r.videos.find((v) => !v.live);
  });
  id = video.id;
  // The edge remembers what a video is for 2 s: it may still take it for live (its MPD comes at the end).
  const mpd = await waitFor('the edge serves its MPD', async () => {
    const r = await fetch(`${net.edgeUrl}/videos/${id}/manifest.mpd`);
    return r.ok && (await r.text());
  });
  const periods = [...mpd.matchAll(/<Period id="\d+" start="PT([\d.]+)S"/g)].map((m) => Number(m[1]));
  restartAt = periods[1] ?? 0;
  assert.ok(restartAt > 2, `the second epoch starts at ${restartAt} s`);
}

test(
  'a logged-in viewer clips the live stream from the watch page; the clip page plays it',
  { timeout: 90_000 },
  async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    try {
      // An account, registered through the edge in this browser (its cookies are the page's).
      const csrf = (
        (await (await page.request.get(`${net.edgeUrl}/api/auth/csrf`)).json()) as { csrf: string }
      ).csrf;
      const reg = await page.request.post(`${net.edgeUrl}/api/auth/register`, {
        headers: { 'x-tiercast-csrf': csrf },
        data: { name: 'clipfan', password: 'hunter2hunter2' },
      });
      assert.equal(reg.status(), 201);
      await page.goto(`${net.edgeUrl}/watch/cam`);
      const button = page.locator('#clip');
      await button.waitFor({ state: 'visible', timeout: 20_000 });
      await button.click();
      const link = page.locator('#clip-result a');
      await link.waitFor({ timeout: 20_000 });
      assert.equal(await link.innerText(), 'Your clip is ready');
      await link.click();
      await page.waitForURL(/\/clips\/[0-9a-f]{12}$/);
      await waitFor(
        'the clip page is ready',
        async () => (await page.locator('#status').innerText()) === 'Ready',
      );
      assert.match(await page.locator('#channel').innerText(), /^cam$/);
      assert.match(
        (await page.locator('#download').getAttribute('href')) ?? '',
        /^\/clips\/[0-9a-f]{12}\/clip\.mp4$/,
      );
      await page.evaluate(() => void document.querySelector('video')!.play());
      await waitFor('the clip plays', async () => (await state(page)).time > 1, 20_000, 200);
      const { duration, height } = await state(page);
      assert.ok(duration >= 5 && duration <= 31, `the clip lasts ${duration} s`);
      assert.equal(height, 360, 'the best rendition');
    } finally {
      await context.close();
    }
  },
);

test(
  'a viewer rewinds the live stream half a minute, watches from there, and returns to live',
  { timeout: 150_000 },
  async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const dvr = () => page.evaluate(() => window.tiercast.dvr());
    const behind = () => page.locator('#dvr-behind').innerText();
    // The picture on screen, live (the WebCodecs player's canvas) or rewound (hls.js on the <video>).
    const advancing = async () => {
      const t0 = await pictureTime(page);
      await new Promise((r) => setTimeout(r, 1500));
      return (await pictureTime(page)) > t0 + 0.5;
    };
    try {
      await page.goto(`${net.edgeUrl}/watch/cam`);
      await waitFor('playing live', async () => (await page.locator('#status').innerText()) === 'Live');
      await waitFor(
        'more than half a minute recorded to rewind into',
        async () => ((await dvr())?.windowS ?? 0) > 36,
        100_000,
        1000,
      );
      const bar = page.locator('#dvr-seek');
      await bar.waitFor({ state: 'visible' });
      assert.equal(await behind(), 'Live');
      assert.equal(await page.locator('#dvr-live').isDisabled(), true, 'already live');

      // Dragging the bar to half a minute back: the recording plays from there, and stays that far behind.
      await bar.fill('-30');
      await waitFor('the picture is half a minute old', async () => {
        const s = await dvr();
        return s?.mode === 'dvr' && !s.seeking && /^0:(2[89]|3[0-3]) behind live$/.test(await behind());
      });
      assert.equal(await page.locator('#transport').innerText(), 'HLS (the recording)');
      assert.ok(await advancing(), 'the rewound picture plays');
      await new Promise((r) => setTimeout(r, 3000));
      assert.match(await behind(), /^0:(2[89]|3[0-4]) behind live$/, 'it plays on from there, not to live');
      assert.match(await page.locator('#status').innerText(), /Rewound/);

      // "Live": back to the push player at the live end.
      await page.locator('#dvr-live').click();
      await waitFor('live again', async () => (await page.locator('#status').innerText()) === 'Live');
      assert.equal((await dvr())?.mode, 'live');
      assert.equal(await behind(), 'Live');
      assert.equal(await page.evaluate(() => window.tiercast.transport), 'ws');
      assert.ok(await advancing(), 'the live picture plays');

      // The arrow keys: ten seconds back, then forward to the live end again.
      await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
      await page.keyboard.press('ArrowLeft');
      await waitFor('ten seconds back', async () => /^0:(09|1[0-3]) behind live$/.test(await behind()));
      assert.ok(await advancing(), 'the picture ten seconds back plays');
      await page.keyboard.press('ArrowRight');
      await waitFor('live again by the keys', async () => (await dvr())?.mode === 'live');
      await waitFor(
        'the live player plays',
        async () => (await page.locator('#status').innerText()) === 'Live',
      );
      assert.deepEqual(errors, []);
    } finally {
      await page.close();
    }
  },
);

/** What the DASH test's page holds: dash.js, its player and the video element. */
interface DashPage {
  dashjs: { MediaPlayer(): { create(): DashPage['player'] } };
  player: {
    initialize(video: HTMLVideoElement, url: string, autoplay: boolean): void;
    getDvrWindow(): { size: number };
    isDynamic(): boolean;
  };
  video: HTMLVideoElement;
}

test(
  'a DASH player rewinds the live broadcast in its dynamic MPD, over the DVR window',
  { timeout: 60_000 },
  async () => {
    const live = await waitFor('the live broadcast is listed', async () => {
      const r = (await (await fetch(`${net.edgeUrl}/api/channels/cam/videos`)).json()) as {
        videos: Array<{ id: string; live: boolean }>;
      };
      return r.videos.find((v) => v.live);
    });
    const page = await browser.newPage();
    try {
      await page.goto(`${net.edgeUrl}/healthz`);
      await page.addScriptTag({ url: '/static/dash.all.min.js' });
      await page.evaluate((url) => {
        const video = document.createElement('video');
        video.muted = true;
        document.body.append(video);
        const player = (window as unknown as DashPage).dashjs.MediaPlayer().create();
        player.initialize(video, url, true);
        Object.assign(window, { player, video });
      }, `${net.edgeUrl}/videos/${live.id}/manifest.mpd`);
      const now = () =>
        page.evaluate(() => {
          const w = window as unknown as DashPage;
          return { t: w.video.currentTime, dvr: w.player.getDvrWindow().size, dynamic: w.player.isDynamic() };
        });
      await waitFor('dash.js plays near the live end', async () => (await now()).t > 60, 40_000, 250);
      const at = await now();
      assert.equal(at.dynamic, true);
      assert.ok(at.dvr > 60, `a DVR window of ${at.dvr} s`);
      // A minute back, and it plays from there.
      await page.evaluate(() => {
        const w = window as unknown as DashPage;
        w.video.currentTime -= 60;
      });
      const back = await waitFor('the rewound picture plays', async () => {
        const x = await now();
        return (
          x.t < at.t - 50 &&
          x.t > at.t - 65 &&
          (await page.evaluate(() => !(window as unknown as DashPage).video.paused)) &&
          x
        );
      });
      await new Promise((r) => setTimeout(r, 2000));
      assert.ok((await now()).t > back.t + 1, 'it plays on');
    } finally {
      await page.close();
    }
  },
);

after(async () => {
  await browser?.close();
  if (pub) await stop(pub);
  await net?.close();
  await hub?.close();
  rmSync(dir, { recursive: true, force: true });
});

const state = (page: Page) =>
  page.evaluate(() => {
    const v = document.querySelector('video')!;
    // Where it stands, for a failure's message: what is buffered and whether the element waits or errs.
    const b = Array.from(
      { length: v.buffered.length },
      (_, i) => `${v.buffered.start(i).toFixed(2)}-${v.buffered.end(i).toFixed(2)}`,
    );
    return {
      time: v.currentTime,
      height: v.videoHeight,
      duration: v.duration,
      context: `readyState ${v.readyState}, paused ${v.paused}, buffered ${b.join(' ')}, error ${v.error?.code ?? 'none'}`,
    };
  });

test(
  "the channel's page lists the past broadcast, and its page plays every rendition through the restart",
  { timeout: 150_000 },
  async () => {
    await ended();
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    try {
      await page.goto(`${net.edgeUrl}/watch/cam`);
      const link = page.locator('#past-list a.past-link');
      await link.first().waitFor({ timeout: 20_000 });
      assert.equal(await link.count(), 1);
      assert.match(await link.first().innerText(), /Yesterday on cam/);
      await link.first().click();
      await page.waitForURL(`**/videos/${id}`);
      assert.equal(await page.locator('#title').innerText(), 'Yesterday on cam');
      assert.equal(await page.locator('#channel').innerText(), 'cam');

      await waitFor('playback starts', async () => (await state(page)).time > 1, 30_000, 200);
      const { duration } = await state(page);
      assert.ok(duration > restartAt + 3, `the whole recording is offered (${duration} s)`);
      const options = await page.locator('#quality option').allInnerTexts();
      assert.deepEqual(options, ['Auto', '360p', '240p']);

      for (const [label, height] of [
        ['360p', 360],
        ['240p', 240],
      ] as const) {
        await page.locator('#quality').selectOption({ label });
        // From a little before the restart: the picture is the chosen rendition's, and plays across the cut.
        await page.evaluate((t) => {
          document.querySelector('video')!.currentTime = t;
        }, restartAt - 2);
        await waitFor(
          `${label}: the picture is ${height} lines`,
          async () => (await state(page)).height === height,
          20_000,
          200,
        );
        await waitFor(
          `${label}: plays through the restart`,
          async () => (await state(page)).time > restartAt + 1.5,
          20_000,
          200,
        ).catch(async (err: Error) => {
          const st = await state(page);
          throw new Error(
            `${err.message} (at ${st.time.toFixed(2)} s, the restart at ${restartAt} s; ${st.context})`,
          );
        });
        assert.equal((await state(page)).height, height);
      }
      assert.deepEqual(errors, []);
    } finally {
      await page.close();
    }
  },
);

test(
  'the streamer renames, hides, shows and deletes the past broadcast from the dashboard',
  { timeout: 90_000 },
  async () => {
    await ended();
    const context = await browser.newContext();
    const page = await context.newPage();
    const publicList = async () =>
      (
        (await (await fetch(`${net.edgeUrl}/api/channels/cam/videos`)).json()) as {
          videos: Array<{ id: string; title: string }>;
        }
      ).videos;
    try {
      await page.goto(`${net.edgeUrl}/dashboard`);
      await page.locator('#key-login-key').waitFor();
      await page.fill('#key-login-key', KEY);
      await page.click('#key-login-form button[type="submit"]');
      const row = page.locator(`#dash-videos li[data-id="${id}"]`);
      await row.waitFor({ timeout: 20_000 });
      // The streamer's own choice of what is recorded, saved as soon as it is picked.
      await page.locator('#recording-choice').selectOption('off');
      await waitFor('saved', () => hub.store.streamers.get('cam')?.recording === 'off');
      // The hub stores the choice before its answer reaches the page: wait for the page to say so.
      await waitFor('the page says it is saved', async () =>
        /Saved/.test(await page.locator('#recording-status').innerText()),
      );
      await page.locator('#recording-choice').selectOption('');
      await waitFor('back to the site default', () => hub.store.streamers.get('cam')?.recording === null);
      await row.locator('.dash-video-title').fill('The restart show');
      await row.locator('.dash-video-title').press('Enter');
      await row.locator('.dash-video-title').blur();
      await waitFor('renamed for viewers', async () => (await publicList())[0]?.title === 'The restart show');
      await row.locator('.dash-video-hide').click();
      await waitFor('hidden from viewers', async () => (await publicList()).length === 0);
      await waitFor('the dashboard still lists it, as hidden', async () =>
        /hidden/.test(await row.innerText()),
      );
      await row.locator('.dash-video-hide').click();
      await waitFor('shown again', async () => (await publicList()).length === 1);
      page.once('dialog', (d) => void d.accept());
      await row.locator('.dash-video-delete').click();
      await waitFor('deleted', async () => (await publicList()).length === 0 && (await row.count()) === 0);
      assert.match(await page.locator('#dash-videos-status').innerText(), /Deleted|No past broadcasts/);
      assert.equal(
        (await fetch(`${net.edgeUrl}/videos/${id}/master.m3u8`)).status,
        404,
        'an old link finds nothing',
      );
      assert.deepEqual(readdirSync(join(dir, 'cam')), [], 'the recording is gone from storage');
    } finally {
      await context.close();
    }
  },
);

test('a video that does not exist (or was deleted) says so on its page', async () => {
  const page = await browser.newPage();
  try {
    await page.goto(`${net.edgeUrl}/videos/20200101T000000Z-0badc0de`);
    await waitFor('the page says so', async () =>
      /does not exist or was deleted/.test(await page.locator('#status').innerText()),
    );
    assert.equal(await page.locator('#title').innerText(), 'Video not found');
    const r = await page.request.get(`${net.edgeUrl}/videos/not-an-id`);
    assert.equal(r.status(), 404);
  } finally {
    await page.close();
  }
});
