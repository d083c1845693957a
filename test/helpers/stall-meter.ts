/**
 * Stalls as a viewer sees them: the longest time the video element's clock did not advance, sampled every
 * animation frame inside the page (no reliance on the player's own report). Install, do something, read.
 */
import type { Page } from 'playwright-core';

interface StallMeter {
  longestMs: number;
  samples: number;
  /**
   * The longest hold's context, to tell a late delivery from a page that could not paint: seconds of media
   * buffered ahead of the picture when it began, the element's readyState during it, and whether the page
   * was visible (a hidden page's timers are throttled).
   */
  longest: { aheadS: number; readyState: number; visibility: string } | null;
  /**
   * The longest hold that began with the playhead at the end of what the page held (less than STARVED_S of
   * media ahead): the picture waited for media to arrive. A hold that began with more ahead is the machine's
   * (the element or the page could not keep up), whatever the delivery did.
   */
  longestStarvedMs: number;
}

/** Media ahead (s) under which a hold counts as waiting for delivery: Chromium halts 50–80 ms short of the end. */
export const STARVED_S = 0.15;

// A string, not a function: the test runner's transform would name inner functions with a helper the
// page does not have.
const METER = `(() => {
  const v = document.querySelector('video');
  const m = { longestMs: 0, samples: 0, longest: null, longestStarvedMs: 0 };
  window.stallMeter = m;
  // Media ahead of the playhead in the range that holds it (as bufferedAhead in src/edge/public/live-edge.js):
  // a hole right after the playhead counts as nothing ahead, whatever lies beyond it.
  const ahead = () => {
    const b = v.buffered;
    const ct = v.currentTime;
    for (let i = 0; i < b.length; i++) if (ct >= b.start(i) - 0.05 && ct < b.end(i)) return b.end(i) - ct;
    return 0;
  };
  let last = v.currentTime;
  let since = performance.now();
  let aheadAtStart = ahead();
  const sample = () => {
    const now = performance.now();
    if (v.currentTime !== last) {
      last = v.currentTime;
      since = now;
      aheadAtStart = ahead();
    } else {
      if (now - since > m.longestMs) {
        m.longestMs = now - since;
        m.longest = { aheadS: aheadAtStart, readyState: v.readyState, visibility: document.visibilityState };
      }
      if (aheadAtStart < ${STARVED_S} && now - since > m.longestStarvedMs) m.longestStarvedMs = now - since;
    }
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
