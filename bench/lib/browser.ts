/**
 * Debian's Chromium through playwright-core, with the picture probe (clock-code.ts) in every page and,
 * when asked for, the sound probe (av-probe.ts).
 */
import { chromium, type Browser, type Page } from 'playwright-core';
import { avProbeSource, type AvProbeData } from './av-probe.js';
import { pageProbeSource } from './clock-code.js';

/** `extraArgs`: more Chromium flags (e.g. `--allow-loopback-in-peer-connection` for WebRTC on loopback). */
export function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.TIERCAST_BENCH_CHROMIUM ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--autoplay-policy=no-user-gesture-required',
      '--disable-background-timer-throttling',
      '--disable-renderer-backgrounding',
      ...extraArgs,
    ],
  });
}

export interface ProbeData {
  samples: Array<[number, number]>;
  unreadable: number;
  stalls: number[];
  firstFrameAt: number | null;
  playingAt: number | null;
  start: number;
  maxGapMs: number;
  gaps: Array<[number, number]>;
  error?: string;
}

/** `av`: also hear the page's sound (unmutes its <video>; the page's content security policy is not applied). */
export async function openProbedPage(
  browser: Browser,
  url: string,
  {
    av = false,
    init,
    viewport = { width: 1280, height: 800 },
  }: { av?: boolean; init?: string; viewport?: { width: number; height: number } } = {},
): Promise<{ page: Page; navigatedAt: number; close(): Promise<void> }> {
  // The sound probe loads its detector from a blob: URL, which the pages' policy does not allow.
  const context = await browser.newContext({ viewport, bypassCSP: av });
  const page = await context.newPage();
  await page.addInitScript(pageProbeSource);
  if (av) await page.addInitScript(avProbeSource);
  if (init) await page.addInitScript(init);
  const navigatedAt = Date.now();
  await page.goto(url, { waitUntil: 'domcontentloaded' });
  return { page, navigatedAt, close: () => context.close() };
}

export function readProbe(page: Page): Promise<ProbeData> {
  return page.evaluate(() => (window as unknown as { __probe: ProbeData }).__probe);
}

export function readAvProbe(page: Page): Promise<AvProbeData | undefined> {
  return page.evaluate(() => (window as unknown as { __avProbe?: AvProbeData }).__avProbe);
}
