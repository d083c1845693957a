/**
 * Stalls as a viewer sees them: the longest time the video element's clock did not advance, sampled every
 * animation frame inside the page (no reliance on the player's own report). Install, do something, read.
 */
import type { Page } from 'playwright-core';

interface StallMeter {
  longestMs: number;
  samples: number;
}

// A string, not a function: the test runner's transform would name inner functions with a helper the
// page does not have.
const METER = `(() => {
  const v = document.querySelector('video');
  const m = { longestMs: 0, samples: 0 };
  window.stallMeter = m;
  let last = v.currentTime;
  let since = performance.now();
  const sample = () => {
    const now = performance.now();
    if (v.currentTime !== last) {
      last = v.currentTime;
      since = now;
    } else m.longestMs = Math.max(m.longestMs, now - since);
    m.samples++;
  };
  const frame = () => {
    sample();
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
  // rAF does not run in a hidden page: a timer keeps sampling there (coarser, still far below 2 s).
  setInterval(sample, 50);
})()`;

export async function installStallMeter(page: Page): Promise<void> {
  await page.evaluate(METER);
}

export function readStalls(page: Page): Promise<StallMeter> {
  return page.evaluate(() => ({ ...(window as unknown as { stallMeter: StallMeter }).stallMeter }));
}
