// "Auto" quality for the WebSocket path. The edge pushes whatever rendition we select, so the choice
// is made here from what the viewer can observe: the server telling us it had to skip chunks
// (we read too slowly), the buffer running dry, and stretches of healthy playback.
//
// Start at the highest rendition of at most 720 lines (a safe default for a first frame on most
// links), step down one rung on trouble, try one rung up after a healthy stretch. A rung that failed
// soon after being tried is retried only after a doubled wait, so a link that cannot carry it does
// not oscillate every ten seconds.

export const AUTO_DEFAULTS = Object.freeze({
  startMaxHeight: 720,
  /** Healthy playback needed before trying one rung up. */
  healthyMs: 10_000,
  /** A problem this soon after stepping up counts against that rung. */
  probationMs: 15_000,
  /** Longest wait before retrying a rung that failed. */
  maxHealthyMs: 120_000,
  /** Ignore further trouble for this long after a switch: the old rendition is still arriving. */
  settleMs: 3_000,
});

/** @typedef {{ id: string, bandwidth: number, height?: number }} VideoRendition */

export class AutoQuality {
  /**
   * @param {Partial<typeof AUTO_DEFAULTS>} [options]
   * @param {() => number} [now] ms clock, injectable for tests
   */
  constructor(options = {}, now = () => performance.now()) {
    this.opts = { ...AUTO_DEFAULTS, ...options };
    this.now = now;
    /** @type {VideoRendition[]} ascending bandwidth */
    this.ladder = [];
    /** @type {string | null} the selected rendition's id */
    this.current = null;
    this.lastChange = 0;
    this.lastProblem = 0;
    this.lastStepUp = 0;
    /** @type {Map<string, number>} rung id → healthy ms required before trying it again */
    this.penalty = new Map();
  }

  /**
   * @param {VideoRendition[]} renditions
   * @returns {string | null} the rendition to select
   */
  setRenditions(renditions) {
    this.ladder = [...renditions].sort((a, b) => a.bandwidth - b.bandwidth);
    if (this.ladder.length === 0) return (this.current = null);
    const keep = this.current && this.ladder.some((r) => r.id === this.current);
    if (!keep) {
      const fitting = this.ladder.filter((r) => (r.height ?? 0) <= this.opts.startMaxHeight);
      const start = fitting[fitting.length - 1] ?? this.ladder[0];
      if (start) this.switchTo(start.id);
    }
    return this.current;
  }

  /**
   * The server skipped chunks for us because we read too slowly.
   * @param {string | undefined} rendition the video rendition it named, if it named one
   * @returns {string | null} a new rendition, if any
   */
  onSkipped(rendition) {
    if (rendition !== undefined && rendition !== this.current) return null;
    return this.stepDown();
  }

  /** Playback stalled with an empty buffer. @returns {string | null} */
  onStall() {
    return this.stepDown();
  }

  /** Called a few times a second. @returns {string | null} a rendition to step up to, if it is time */
  tick() {
    const t = this.now();
    const i = this.index();
    const up = i < 0 ? undefined : this.ladder[i + 1];
    if (!up) return null;
    const wait = this.penalty.get(up.id) ?? this.opts.healthyMs;
    if (t - Math.max(this.lastChange, this.lastProblem) < wait) return null;
    this.lastStepUp = t;
    return this.switchTo(up.id);
  }

  stepDown() {
    const t = this.now();
    if (t - this.lastChange < this.opts.settleMs) return null;
    this.lastProblem = t;
    const i = this.index();
    const failed = this.current;
    if (failed !== null && i > 0 && this.lastStepUp > 0 && t - this.lastStepUp < this.opts.probationMs) {
      const prev = this.penalty.get(failed) ?? this.opts.healthyMs;
      this.penalty.set(failed, Math.min(prev * 2, this.opts.maxHealthyMs));
    }
    const down = i > 0 ? this.ladder[i - 1] : undefined;
    if (!down) return null;
    return this.switchTo(down.id);
  }

  index() {
    return this.ladder.findIndex((r) => r.id === this.current);
  }

  /** @param {string} id */
  switchTo(id) {
    this.current = id;
    this.lastChange = this.now();
    return id;
  }
}
