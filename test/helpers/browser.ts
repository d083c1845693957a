/** Debian's Chromium, driven by playwright-core (no browser download: `npx playwright install` cannot work here). */
import { chromium, type Browser } from 'playwright-core';

/** The browser binary: TIERCAST_TEST_CHROMIUM, else Debian's. */
export const CHROMIUM_PATH = process.env.TIERCAST_TEST_CHROMIUM ?? '/usr/bin/chromium';

/**
 * `executablePath` replaces the binary, e.g. with a script that starts it inside a network namespace
 * (playwright talks to it over inherited pipes, which `ip netns exec` keeps).
 */
export function launchChromium(
  opts: { executablePath?: string; fakeMedia?: boolean } = {},
): Promise<Browser> {
  return chromium.launch({
    executablePath: opts.executablePath ?? CHROMIUM_PATH,
    // SIGHUP is the nodes' certificate reload (direct-tls.test.ts sends it to the test process).
    handleSIGHUP: false,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--autoplay-policy=no-user-gesture-required',
      // A test pattern and a beep instead of a camera and microphone, allowed without a prompt (/broadcast).
      ...(opts.fakeMedia ? ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'] : []),
    ],
  });
}

/** A network someone else started (e.g. `node-role all --demo`), from TIERCAST_TEST_EDGE_URL and TIERCAST_TEST_STREAM. */
export interface EdgeTarget {
  edgeUrl: string;
  stream: string;
}
