/**
 * Going live from /broadcast in Chromium with a fake camera and microphone: a hub that knows 'cam' (KEY),
 * a tree (ingress → intermediate → edge) logging into `logs` at debug, and pages that record every URL
 * they ask for (WebSockets included) and every page error. With the page-driving steps both broadcast
 * tests take: a viewer whose video advances, decodes audio, and goes on after the broadcaster's socket is
 * cut. Shared by broadcast.test.ts (WebCodecs) and broadcast-webm.test.ts (MediaRecorder).
 */
import assert from 'node:assert/strict';
import { pino } from 'pino';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { HubNode } from '../../src/hub/main.js';
import { launchChromium } from './browser.js';
import { KEY, startNetwork, startTestHub, waitFor, type TestNetwork } from './network.js';
import { audioDecoded, pictureTime } from './watch-page.js';

export interface BroadcastSetup {
  hub: HubNode;
  net: TestNetwork;
  browser: Browser;
  /** Every log line of the nodes and the hub. */
  logs: string[];
  /** Every URL any page asked for, WebSockets included. */
  urls: string[];
  pageErrors: string[];
  /** A page in a context of its own; `initScript` runs before the page's scripts. */
  newPage(initScript?: string): Promise<Page>;
  close(): Promise<void>;
}

export async function startBroadcastSetup(): Promise<BroadcastSetup> {
  const logs: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => void logs.push(s) });
  const contexts: BrowserContext[] = [];
  const urls: string[] = [];
  const pageErrors: string[] = [];
  const hub = await startTestHub({ logger });
  let net: TestNetwork | undefined;
  let browser: Browser;
  try {
    hub.store.streamers.add({ name: 'cam', key: KEY, title: 'From a browser', category: 'Testing' });
    net = await startNetwork({ intermediates: 1, hub, logger });
    browser = await launchChromium({ fakeMedia: true });
  } catch (e) {
    await net?.close();
    await hub.close();
    throw e;
  }
  return {
    hub,
    net,
    browser,
    logs,
    urls,
    pageErrors,
    async newPage(initScript) {
      const ctx = await browser.newContext();
      contexts.push(ctx);
      const page = await ctx.newPage();
      if (initScript) await page.addInitScript(initScript);
      page.on('request', (r) => urls.push(r.url()));
      page.on('websocket', (ws) => urls.push(ws.url()));
      page.on('pageerror', (e) => pageErrors.push(e.message));
      return page;
    },
    async close() {
      for (const c of contexts) await c.close().catch(() => {});
      await browser.close();
      await net.close();
      await hub.close();
    },
  };
}

/** The page's <video> time, 0 while it has none. */
export { pictureTime };

/** Over two seconds, the viewer's video advances by more than one. */
export async function assertVideoAdvances(viewer: Page): Promise<void> {
  const a = await pictureTime(viewer);
  await new Promise((r) => setTimeout(r, 2000));
  const b = await pictureTime(viewer);
  assert.ok(b - a > 1, `the viewer's video advances (${a} → ${b})`);
}

/** The viewer's <video> decodes audio (the fake microphone's beep, sent as Opus). */
export function waitForDecodedAudio(viewer: Page): Promise<true> {
  return waitFor('the viewer to decode audio', async () => await audioDecoded(viewer), 10_000);
}

/** Cuts the broadcaster's socket: the page reconnects by itself, is live again, and the viewer's video goes on. */
export async function dropConnectionAndResume(broadcaster: Page, viewer: Page): Promise<void> {
  await broadcaster.evaluate('window.tiercastBroadcast.dropConnection()');
  await waitFor(
    'the page to reconnect',
    async () => (await broadcaster.evaluate('window.tiercastBroadcast.reconnects')) === 1,
    10_000,
  );
  await waitFor(
    'the page to be live again',
    async () => (await broadcaster.textContent('#status')) === 'Live',
    30_000,
  );
  const c = await pictureTime(viewer);
  await waitFor(
    'the viewer to go on after the reconnect',
    async () => (await pictureTime(viewer)) > c + 1,
    20_000,
  );
}
