/**
 * The watch page moves to the next transport when one fails, without reloading, in a real Chromium through
 * ingress → intermediate → edge: a WebSocket that a proxy refuses (no picture in time) and a codec the
 * WebSocket player's MSE refuses (at once) both end on hls.js; a stream that is offline is not a failure. And
 * where there is only a ManagedMediaSource (iOS 17.1+; emulated here, Chromium has none) the WebSocket player
 * plays through it, with remote playback disabled and media appended only while the browser is streaming.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { publish, startNetwork, stop, waitFor, type TestNetwork } from '../helpers/network.js';
import { launchChromium } from '../helpers/browser.js';
import { pictureTime } from '../helpers/watch-page.js';

let net: TestNetwork;
let pub: ReturnType<typeof publish>;
let browser: Browser;

before(async () => {
  net = await startNetwork({ intermediates: 1 });
  pub = publish(net.rtmpUrl, undefined, 300);
  await waitFor(
    'the edge serves the playlist',
    async () => (await fetch(`${net.edgeUrl}/live/cam/v360/playlist.m3u8`)).ok,
    30_000,
  );
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await stop(pub);
  await net.close();
});

async function advances(page: Page, what: string): Promise<void> {
  await waitFor(`${what}: playback started`, async () => (await pictureTime(page)) > 0.5, 40_000, 200);
  const t0 = await pictureTime(page);
  await waitFor(`${what}: video time advancing`, async () => (await pictureTime(page)) > t0 + 2, 20_000, 200);
}

/** A page that counts its main-frame navigations and carries a mark a reload would wipe out. */
async function watch(context: BrowserContext, path: string) {
  const page = await context.newPage();
  let navigations = 0;
  page.on('framenavigated', (f) => f === page.mainFrame() && navigations++);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${net.edgeUrl}${path}`);
  await page.evaluate(() => ((window as unknown as { mark: number }).mark = 42));
  const sameDocument = async () => {
    assert.equal(navigations, 1, 'one navigation');
    assert.equal(await page.evaluate(() => (window as unknown as { mark?: number }).mark), 42, 'no reload');
  };
  return { page, errors, sameDocument };
}

const transportOf = (page: Page) => page.evaluate(() => window.tiercast.transport);

test(
  'a WebSocket refused by the network: after 10 s without a picture the page plays hls.js, same document',
  { timeout: 120_000 },
  async () => {
    const context = await browser.newContext();
    // What a proxy that refuses WebSocket upgrades looks like to the page: the media socket closes at once,
    // every time. (The chat socket is left alone.)
    await context.addInitScript(() => {
      const Native = WebSocket;
      window.WebSocket = class extends Native {
        constructor(url: string | URL, protocols?: string | string[]) {
          super(/\/live\/[^/]+\/ws$/.test(String(url)) ? 'ws://127.0.0.1:9/' : url, protocols);
        }
      };
    });
    try {
      const { page, errors, sameDocument } = await watch(context, '/watch/cam');
      assert.equal(await transportOf(page), 'ws');
      const t0 = Date.now();
      await waitFor('moved to hls.js', async () => (await transportOf(page)) === 'hls', 30_000, 200);
      const waited = Date.now() - t0;
      assert.ok(waited > 7_000, `gave the WebSocket its time (${waited} ms)`);
      await advances(page, 'hls.js after the fallback');
      assert.equal(await page.evaluate(() => window.tiercast.hlsPlayer), 'hls.js');
      assert.equal(await page.locator('#transport').innerText(), 'LL-HLS (hls.js)');
      assert.equal(await page.locator('#status').innerText(), 'Live');
      const fallbacks = await page.evaluate(() => window.tiercast.fallbacks);
      assert.equal(fallbacks.length, 1);
      assert.equal(fallbacks[0]!.transport, 'ws');
      assert.match(fallbacks[0]!.reason, /nothing played within 10 s/);
      assert.match((await page.locator('#transport').getAttribute('title')) ?? '', /WebSocket did not play/);
      assert.ok((await page.evaluate(() => window.tiercast.renditions())).length === 2, 'hls.js renditions');
      await sameDocument();
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  },
);

test(
  'a codec the WebSocket player’s MSE refuses: the page moves to hls.js at once, same document',
  { timeout: 120_000 },
  async () => {
    const context = await browser.newContext();
    // Refuse SourceBuffers for the MIME types the WebSocket player writes (`codecs="…"`, quoted); hls.js writes
    // them unquoted and is let through.
    await context.addInitScript(() => {
      // eslint-disable-next-line @typescript-eslint/unbound-method -- called with its MediaSource below
      const add = MediaSource.prototype.addSourceBuffer;
      MediaSource.prototype.addSourceBuffer = function (this: MediaSource, type: string) {
        if (type.includes('codecs="')) throw new DOMException(`no decoder for ${type}`, 'NotSupportedError');
        return add.call(this, type);
      };
    });
    try {
      // The MSE player (with WebCodecs, the default here, the WebSocket would simply play).
      const { page, errors, sameDocument } = await watch(context, '/watch/cam?player=mse');
      const t0 = Date.now();
      await waitFor('moved to hls.js', async () => (await transportOf(page)) === 'hls', 20_000, 100);
      assert.ok(Date.now() - t0 < 8_000, 'did not wait for the start timeout');
      const fallbacks = await page.evaluate(() => window.tiercast.fallbacks);
      assert.deepEqual(
        fallbacks.map((f) => f.transport),
        ['ws'],
      );
      assert.match(fallbacks[0]!.reason, /cannot play .* through MSE/);
      await advances(page, 'hls.js after the codec failure');
      await sameDocument();
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  },
);

test(
  'a stream that is offline is not a failure: each transport waits for it',
  { timeout: 60_000 },
  async () => {
    const context = await browser.newContext();
    try {
      const ws = await watch(context, '/watch/nobody');
      const hls = await watch(context, '/watch/nobody?transport=hls');
      for (const p of [ws.page, hls.page]) {
        await waitFor('offline shown', async () =>
          (await p.locator('#status').innerText()).includes('offline'),
        );
      }
      // Past the 10 s start timeout.
      await new Promise((r) => setTimeout(r, 12_000));
      assert.equal(await transportOf(ws.page), 'ws');
      assert.equal(await transportOf(hls.page), 'hls');
      for (const p of [ws.page, hls.page]) {
        assert.deepEqual(await p.evaluate(() => window.tiercast.fallbacks), []);
        assert.match(await p.locator('#status').innerText(), /offline/);
      }
    } finally {
      await context.close();
    }
  },
);

// Plain JavaScript, not a function: tsx would name the class with a helper that does not exist in the page.
const MANAGED_MEDIA_SOURCE_SHIM = `{
  const probe = { source: null, appendsWhileNotStreaming: 0, appends: 0, remotePlaybackAtAttach: [] };
  window.mms = probe;
  class ManagedMediaSource extends MediaSource {
    #streaming = false;
    constructor() {
      super();
      probe.source = this;
      this.addEventListener('sourceopen', () => setTimeout(() => this.setStreaming(true), 300), { once: true });
    }
    get streaming() {
      return this.#streaming;
    }
    setStreaming(on) {
      this.#streaming = on;
      this.dispatchEvent(new Event(on ? 'startstreaming' : 'endstreaming'));
    }
  }
  const append = SourceBuffer.prototype.appendBuffer;
  SourceBuffer.prototype.appendBuffer = function (data) {
    probe.appends++;
    if (probe.source && !probe.source.streaming) probe.appendsWhileNotStreaming++;
    return append.call(this, data);
  };
  const src = Object.getOwnPropertyDescriptor(HTMLMediaElement.prototype, 'src');
  Object.defineProperty(HTMLMediaElement.prototype, 'src', {
    ...src,
    set(v) {
      if (String(v).startsWith('blob:')) probe.remotePlaybackAtAttach.push(this.disableRemotePlayback);
      src.set.call(this, v);
    },
  });
  delete window.MediaSource;
  window.ManagedMediaSource = ManagedMediaSource;
}`;

test(
  'with only a ManagedMediaSource the WebSocket player plays: remote playback off, appends only while streaming',
  { timeout: 120_000 },
  async () => {
    const context = await browser.newContext();
    // Safari's ManagedMediaSource, emulated: MediaSource renamed, `streaming` false until the browser fires
    // 'startstreaming' (here 300 ms after opening), and the page can be told to stop with 'endstreaming'.
    // Every append made while not streaming, and whether remote playback was off when the source was
    // attached, is recorded.
    await context.addInitScript({ content: MANAGED_MEDIA_SOURCE_SHIM });
    type Probe = { appendsWhileNotStreaming: number; appends: number; remotePlaybackAtAttach: boolean[] };
    const probe = (page: Page) =>
      page.evaluate(() => {
        const { appendsWhileNotStreaming, appends, remotePlaybackAtAttach } = (
          window as unknown as { mms: Probe }
        ).mms;
        return { appendsWhileNotStreaming, appends, remotePlaybackAtAttach };
      });
    try {
      // The MSE player: this is about ManagedMediaSource (the WebCodecs player needs no MediaSource at all).
      const { page, errors, sameDocument } = await watch(context, '/watch/cam?player=mse');
      assert.equal(await page.evaluate(() => 'MediaSource' in window), false);
      assert.equal(await transportOf(page), 'ws');
      await advances(page, 'WebSocket over ManagedMediaSource');
      assert.equal(await transportOf(page), 'ws', 'still the WebSocket player');
      assert.equal(await page.evaluate(() => document.querySelector('video')!.disableRemotePlayback), true);
      const p = await probe(page);
      assert.ok(
        p.remotePlaybackAtAttach.length > 0 && p.remotePlaybackAtAttach.every(Boolean),
        'AirPlay off first',
      );
      assert.equal(p.appendsWhileNotStreaming, 0);

      // The browser says stop for 1.5 s: nothing is appended meanwhile, and playback carries on afterwards.
      type Control = { mms: { appends: number; source: { setStreaming(on: boolean): void } } };
      // Counted in the same turn as the stop: an append just before it is not one made while stopped.
      const before = await page.evaluate(() => {
        const { mms } = window as unknown as Control;
        mms.source.setStreaming(false);
        return mms.appends;
      });
      await new Promise((r) => setTimeout(r, 1_500));
      const during = await probe(page);
      assert.equal(during.appendsWhileNotStreaming, 0);
      assert.equal(during.appends, before, 'no appends while not streaming');
      await page.evaluate(() => (window as unknown as Control).mms.source.setStreaming(true));
      await waitFor('held media appended', async () => (await probe(page)).appends > before, 5_000, 100);
      await advances(page, 'after streaming resumed');
      assert.deepEqual(await page.evaluate(() => window.tiercast.fallbacks), []);
      await sameDocument();
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  },
);
