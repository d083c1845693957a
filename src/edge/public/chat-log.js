// Which chat messages are on screen, by seq: keeps them ordered, ignores a seq already shown (a message
// can arrive twice: in the history sent on a rejoin and live), and bounds how many stay in the page.
// Pure bookkeeping; chat-view.js moves the DOM nodes it says to.

export class MessageLog {
  /** @param {number} [limit] messages kept; older ones are evicted first */
  constructor(limit = 300) {
    this.limit = Math.max(1, limit);
    /** @type {number[]} ascending */
    this.seqs = [];
  }

  get size() {
    return this.seqs.length;
  }

  /** @param {number} seq */
  has(seq) {
    return this.indexOf(seq) >= 0;
  }

  /** @param {number} seq */
  indexOf(seq) {
    const i = this.lowerBound(seq);
    return this.seqs[i] === seq ? i : -1;
  }

  /**
   * Records a message. Returns null for a duplicate; else where it goes (`before`: the seq it is inserted
   * in front of, or null to append) and which seqs fell out of the window (`evicted`, oldest first).
   * A message older than everything in a full log is evicted at once (returned in `evicted` itself).
   * @param {number} seq
   * @returns {{before: number|null, evicted: number[]} | null}
   */
  add(seq) {
    const i = this.lowerBound(seq);
    if (this.seqs[i] === seq) return null;
    this.seqs.splice(i, 0, seq);
    const before = this.seqs[i + 1] ?? null;
    const evicted = this.seqs.length > this.limit ? this.seqs.splice(0, this.seqs.length - this.limit) : [];
    return { before, evicted };
  }

  /**
   * Forgets the given seqs; returns those that were present.
   * @param {Iterable<number>} seqs
   */
  remove(seqs) {
    const gone = [];
    for (const seq of seqs) {
      const i = this.indexOf(seq);
      if (i >= 0) {
        this.seqs.splice(i, 1);
        gone.push(seq);
      }
    }
    return gone;
  }

  clear() {
    this.seqs = [];
  }

  /**
   * First index whose seq is >= the given one.
   * @param {number} seq
   */
  lowerBound(seq) {
    let lo = 0;
    let hi = this.seqs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (/** @type {number} */ (this.seqs[mid]) < seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/**
 * Whether a scroll container is (close enough to) the bottom to keep following new messages.
 * @param {number} scrollTop
 * @param {number} clientHeight
 * @param {number} scrollHeight
 */
export function isNearBottom(scrollTop, clientHeight, scrollHeight, slack = 48) {
  return scrollHeight - (scrollTop + clientHeight) <= slack;
}
