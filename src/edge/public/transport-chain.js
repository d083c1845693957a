// Tries the page's transports in order until one plays, without reloading the page: a transport that
// fails before it has ever played is closed and the next one is created on the same <video>.
//
// A failure is (1) a player saying so (onFailure: a codec it cannot play, a script that would not load,
// a fatal player error) or (2) no picture within `startTimeoutMs` while the stream is not known to be
// offline: a WebSocket that a proxy refuses just reconnects forever, and this is how the page finds out.
// "Offline" is not a failure (the next transport would find the same empty stream), nor is a browser
// that blocks autoplay (the viewer has to click, whatever the transport). Once a transport has played,
// it stays: later trouble (a restarted edge, a stream that ends) is the player's own to recover from.
// The last transport is never given up on; it keeps retrying as a player does on its own.

import { t } from './i18n.js';

/** @import { Transport } from './transport-choice.js' */

/** The detail players give with a status when the browser refused to autoplay (the page words it). */
export const PLAY_BLOCKED = 'PLAY_BLOCKED';

/** Long enough for a cold edge to subscribe upstream and hls.js to fetch a playlist and a few parts. */
export const START_TIMEOUT_MS = 10_000;

/**
 * @typedef {{ onStatus: (status: string, detail?: string) => void, onFailure: (reason: string) => void }} ChainHooks
 * @typedef {{ start(): void | Promise<void>, close(): void }} ChainPlayer
 * @typedef {{ transport: Transport, reason: string }} Failure
 */

/** @template {ChainPlayer} P */
export class TransportChain {
  /**
   * @param {{ order: readonly Transport[],
   *   create: (transport: Transport, hooks: ChainHooks) => P,
   *   onStatus?: (status: string, detail?: string) => void,
   *   onSwitch?: (transport: Transport, player: P, failed: Failure | null) => void,
   *   skip?: (transport: Transport, failed: Failure) => boolean,
   *   startTimeoutMs?: number }} params
   *   onSwitch is called when a transport is created, before it starts (with the failure that led to it).
   *   skip: after a failure, whether the next transport in the order is not worth trying (the last one always
   *   is tried).
   */
  constructor({ order, create, onStatus, onSwitch, skip, startTimeoutMs = START_TIMEOUT_MS }) {
    if (order.length === 0) throw new Error('TransportChain: no transport to try');
    this.order = order;
    this.create = create;
    this.cb = { onStatus, onSwitch, skip };
    this.startTimeoutMs = startTimeoutMs;
    this.index = -1;
    /** @type {P | null} */
    this.player = null;
    /** Bumped per player: callbacks of a closed player are ignored. */
    this.generation = 0;
    /** Whether the current transport has shown a picture ("live"). */
    this.proven = false;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.timer = undefined;
    /** @type {Failure[]} the transports given up on, in order */
    this.failures = [];
    this.closed = false;
  }

  /** @returns {Transport | null} the transport in use */
  get transport() {
    return this.order[this.index] ?? null;
  }

  start() {
    if (this.index === -1) this.launch(0, null);
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    this.generation++;
    clearTimeout(this.timer);
    this.player?.close();
    this.player = null;
  }

  /** @param {number} index @param {Failure | null} failed */
  launch(index, failed) {
    const transport = this.order[index];
    if (!transport || this.closed) return;
    this.index = index;
    this.proven = false;
    const generation = ++this.generation;
    const current = () => generation === this.generation;
    /** @param {unknown} err */
    const failedWith = (err) => current() && this.fail(err instanceof Error ? err.message : String(err));
    /** @type {ChainHooks} */
    const hooks = {
      onStatus: (status, detail) => {
        if (!current()) return;
        this.watch(status, detail);
        this.cb.onStatus?.(status, detail);
      },
      onFailure: (reason) => {
        if (current() && !this.proven) this.fail(reason);
      },
    };
    try {
      const player = this.create(transport, hooks);
      this.player = player;
      this.cb.onSwitch?.(transport, player, failed);
      const started = player.start();
      if (started) started.catch(failedWith);
    } catch (err) {
      failedWith(err);
    }
  }

  /** The start timer runs while the player is trying and nothing says it need not. @param {string} status @param {string} [detail] */
  watch(status, detail) {
    if (status === 'live') this.proven = true;
    const waitingForSomethingElse = status === 'offline' || status === 'locked' || detail === PLAY_BLOCKED;
    if (this.proven || waitingForSomethingElse || this.index === this.order.length - 1) {
      clearTimeout(this.timer);
      this.timer = undefined;
      return;
    }
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.fail(`nothing played within ${this.startTimeoutMs / 1000} s`);
    }, this.startTimeoutMs);
  }

  /** @param {string} reason */
  fail(reason) {
    const transport = this.transport;
    if (!transport || this.closed) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    /** @type {Failure} */
    const failure = { transport, reason };
    this.failures.push(failure);
    console.warn(`tiercast: ${transport} failed (${reason})`);
    // The last transport keeps going (retrying is still better than a dead page), and says what is wrong.
    if (this.index === this.order.length - 1) {
      this.cb.onStatus?.('error', t('player.playbackFailed', { reason }));
      return;
    }
    let next = this.index + 1;
    while (
      next < this.order.length - 1 &&
      this.cb.skip?.(/** @type {Transport} */ (this.order[next]), failure)
    )
      next++;
    this.generation++;
    this.player?.close();
    this.player = null;
    this.launch(next, failure);
  }
}
