/** Debian's Chromium, driven by playwright-core (no browser download: `npx playwright install` cannot work here). */
import { chromium, type Browser } from 'playwright-core';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.TIERCAST_TEST_CHROMIUM ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
}

/** A network someone else started (e.g. `node-role all --demo`), from TIERCAST_TEST_EDGE_URL and TIERCAST_TEST_STREAM. */
export interface EdgeTarget {
  edgeUrl: string;
  stream: string;
}
