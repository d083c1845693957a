// Media time → where it came from, for the chunks appended to the (video) SourceBuffer: the
// ingress time of each chunk's first frame (for the latency read-out) and its rendition (for
// "which quality is on screen"). A few seconds of entries; chunks arrive in media order.

/** @typedef {{ start: number, end: number, ingressTime: number, rendition: string }} TimelineEntry */

export class ChunkTimeline {
  constructor() {
    /** @type {TimelineEntry[]} */
    this.entries = [];
  }

  /** @param {TimelineEntry} e start/end in seconds of media time, ingressTime in wall-clock ms */
  add(e) {
    const last = this.entries[this.entries.length - 1];
    // A timeline that went backwards is a new one: the old entries no longer describe the buffer.
    if (last && e.start < last.start) this.entries = [];
    this.entries.push(e);
  }

  /**
   * The chunk whose media covers time t; the last one before t if t is in a small hole after it.
   * @param {number} t media time in seconds
   * @returns {TimelineEntry | null}
   */
  at(t) {
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const e = /** @type {TimelineEntry} */ (this.entries[i]);
      if (e.start <= t + 1e-3) return t - e.end < 1 ? e : null;
    }
    return null;
  }

  /**
   * Wall-clock ms at which ingress received the frame at media time t, or null.
   * @param {number} t
   */
  ingressTimeAt(t) {
    const e = this.at(t);
    return e ? e.ingressTime + (t - e.start) * 1000 : null;
  }

  last() {
    return this.entries[this.entries.length - 1] ?? null;
  }

  /**
   * Forgets chunks that ended before t (keeps at least one).
   * @param {number} t
   */
  dropBefore(t) {
    let i = 0;
    while (i < this.entries.length - 1 && (this.entries[i]?.end ?? t) < t) i++;
    if (i > 0) this.entries.splice(0, i);
  }

  clear() {
    this.entries = [];
  }
}
