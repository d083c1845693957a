// Estimates (server clock − local clock) from ping/pong round trips, NTP style: the sample with the
// shortest round trip among the recent ones wins, because queueing delay only ever adds to a round
// trip and makes the midpoint assumption worse.

const KEEP_SAMPLES = 8;

/** Local wall clock in ms, monotonic within the page even if the system clock is stepped. */
export function localNow() {
  return performance.timeOrigin + performance.now();
}

export class ClockSync {
  constructor() {
    /** @type {Array<{ rtt: number, offset: number }>} */
    this.samples = [];
  }

  /**
   * @param {number} sentAt local ms at which the ping left (echoed back as `t`)
   * @param {number} serverMs server wall-clock ms when it answered
   * @param {number} [receivedAt] local ms at which the pong arrived
   */
  addSample(sentAt, serverMs, receivedAt = localNow()) {
    const rtt = receivedAt - sentAt;
    if (!Number.isFinite(rtt) || rtt < 0 || !Number.isFinite(serverMs)) return;
    this.samples.push({ rtt, offset: serverMs - (sentAt + rtt / 2) });
    if (this.samples.length > KEEP_SAMPLES) this.samples.shift();
  }

  /** Server − local in ms, or null before the first pong. */
  get offset() {
    let best = null;
    for (const s of this.samples) if (!best || s.rtt < best.rtt) best = s;
    return best ? best.offset : null;
  }

  /** Server wall clock now in ms, or null before the first pong. */
  serverNow() {
    const o = this.offset;
    return o === null ? null : localNow() + o;
  }

  reset() {
    this.samples = [];
  }
}
