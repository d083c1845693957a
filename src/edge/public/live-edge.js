// Keeps a self-fed MSE player near the live edge: skips holes in the buffer, and steers latency
// toward a target with the playback rate, or a seek when far behind. Works on anything shaped like
// an HTMLMediaElement (currentTime, playbackRate, paused, seeking, buffered), so it can be tested
// with a plain object.

import { localNow } from './clock-sync.js';

export const LIVE_EDGE_DEFAULTS = Object.freeze({
  /**
   * Latency aimed for above one chunk duration (a chunk must be complete before it is sent): room
   * for encode, delivery and jitter. Each stall adds stallBackoffSeconds (up to maxExtraSeconds),
   * given back one step per calm stretch, so a jittery link settles a little further from the edge
   * instead of stalling again and again.
   */
  targetExtraSeconds: 0.15,
  stallBackoffSeconds: 0.05,
  maxExtraSeconds: 0.6,
  calmMs: 30_000,
  /** Overrides the computed target (seconds) when set. */
  targetLatency: /** @type {number | null} */ (null),
  /** Speed up once latency exceeds the target by this much... */
  catchupThreshold: 0.3,
  catchupRate: 1.1,
  /** ...and, for a smaller excess, play a little faster (inaudibly) if the buffer allows... */
  trimThreshold: 0.1,
  trimRate: 1.04,
  /** ...and seek forward once it exceeds it by this much. */
  jumpThreshold: 1.5,
  /** Closer to the edge than the target by this much (a thin start-up burst): slow down to rebuild the buffer. */
  aheadThreshold: 0.05,
  slowRate: 0.97,
});

/** Samples of the buffer ahead kept to find its minimum (8 ticks of 250 ms: two seconds). */
const AHEAD_SAMPLES = 8;

/**
 * Seconds of media buffered ahead of the playhead in the range that contains it.
 * @param {Pick<HTMLMediaElement, 'currentTime' | 'buffered'>} media
 */
export function bufferedAhead(media) {
  const b = media.buffered;
  const ct = media.currentTime;
  for (let i = 0; i < b.length; i++) if (ct >= b.start(i) - 0.05 && ct < b.end(i)) return b.end(i) - ct;
  return 0;
}

/**
 * A stalled element stops short of the end of what it holds: Chromium's audio renderer wants some sound
 * ahead, so the picture halts 50–80 ms before a hole (measured), not at it. Within this of the end,
 * stalled, the playhead has run into the hole.
 */
const STALLED_BEFORE_END_S = 0.25;

/**
 * After a discontinuity, a reconnect or a chunk the stream never had, the buffer has holes, and a media
 * element does not play across them. Seeks past one when the playhead sits in it or has run into its edge
 * (within 50 ms, or stalled within STALLED_BEFORE_END_S).
 * @param {Pick<HTMLMediaElement, 'currentTime' | 'buffered'> & { readyState?: number }} media
 * @returns {boolean} whether it seeked
 */
export function skipGap(media) {
  const b = media.buffered;
  const ct = media.currentTime;
  // HAVE_CURRENT_DATA or less: it cannot move on from here with what it holds.
  const stalled = media.readyState !== undefined && media.readyState <= 2;
  for (let i = 0; i < b.length; i++) {
    if (ct < b.start(i)) {
      media.currentTime = b.start(i) + 0.01;
      return true;
    }
    if (ct < b.end(i)) {
      const left = b.end(i) - ct;
      if ((left <= 0.05 || (stalled && left <= STALLED_BEFORE_END_S)) && i + 1 < b.length) {
        media.currentTime = b.start(i + 1) + 0.01;
        return true;
      }
      return false;
    }
  }
  return false;
}

export class LiveEdge {
  /**
   * @param {Partial<typeof LIVE_EDGE_DEFAULTS>} [options]
   * @param {() => number} [now] ms clock
   */
  constructor(options = {}, now = localNow) {
    this.opts = { ...LIVE_EDGE_DEFAULTS, ...options };
    this.now = now;
    this.chunkSeconds = 0.2;
    this.extraForStalls = 0;
    this.lastStallAt = 0;
    /** @type {number[]} */
    this.aheadSamples = [];
  }

  /** @param {number} chunkDurationMs from the stream info */
  setChunkDuration(chunkDurationMs) {
    if (chunkDurationMs > 0) this.chunkSeconds = chunkDurationMs / 1000;
  }

  targetLatency() {
    const fixed = this.opts.targetLatency;
    if (fixed !== null && fixed > 0) return fixed;
    return this.chunkSeconds + this.opts.targetExtraSeconds + this.extraForStalls;
  }

  onStall() {
    const o = this.opts;
    this.lastStallAt = this.now();
    this.extraForStalls = Math.min(
      o.maxExtraSeconds - o.targetExtraSeconds,
      this.extraForStalls + o.stallBackoffSeconds,
    );
  }

  reset() {
    this.aheadSamples = [];
  }

  /**
   * One control step (called every tick). The buffer ahead saw-tooths as chunks arrive, so its
   * minimum over the last two seconds (the slack) is what playing faster can safely eat into.
   * @param {Pick<HTMLMediaElement, 'currentTime' | 'playbackRate' | 'paused' | 'seeking' | 'buffered'>} media
   * @param {number | null} latency seconds, or null while unknown
   */
  control(media, latency) {
    if (skipGap(media)) {
      this.aheadSamples = [];
      return;
    }
    const ahead = bufferedAhead(media);
    this.aheadSamples.push(ahead);
    if (this.aheadSamples.length > AHEAD_SAMPLES) this.aheadSamples.shift();
    if (latency === null || media.paused || media.seeking) return;
    const o = this.opts;
    if (this.extraForStalls > 0 && this.now() - this.lastStallAt > o.calmMs) {
      this.extraForStalls = Math.max(0, this.extraForStalls - o.stallBackoffSeconds);
      this.lastStallAt = this.now();
    }
    const slack = Math.min(...this.aheadSamples);
    const excess = latency - this.targetLatency();
    if (excess > o.jumpThreshold && ahead > 0.3) {
      media.currentTime += Math.min(excess, ahead - 0.1);
      media.playbackRate = 1;
      this.aheadSamples = [];
    } else if (excess > o.catchupThreshold && slack > 0.05) {
      media.playbackRate = o.catchupRate;
    } else if (excess > o.trimThreshold && slack > 0.1) {
      media.playbackRate = o.trimRate;
    } else if (excess < -o.aheadThreshold) {
      media.playbackRate = o.slowRate;
    } else if (excess <= 0.02 || slack < 0.03) {
      media.playbackRate = 1;
    }
  }
}
