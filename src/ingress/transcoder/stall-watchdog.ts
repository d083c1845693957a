/**
 * Notices an ffmpeg that stopped producing output without exiting (stopped, deadlocked, wedged on a
 * device): it has been fed media for `timeoutMs` and no chunk came out. One per ffmpeg run.
 *
 * Only a process that is being fed can stall: when the publisher pauses, ffmpeg rightly produces
 * nothing, so a gap in input (longer than half the timeout) restarts the wait. `close()` is idempotent
 * and stops the timer; `onStall` fires at most once.
 */
export interface StallWatchdogOptions {
  timeoutMs: number;
  onStall(silentMs: number): void;
  now?: () => number;
}

export class StallWatchdog {
  private readonly timer: NodeJS.Timeout;
  private readonly now: () => number;
  /** First input since the last output (or since the start), if any. */
  private waitingSince: number | undefined;
  private lastFedAt = 0;
  private fired = false;

  constructor(private readonly opts: StallWatchdogOptions) {
    this.now = opts.now ?? Date.now;
    // A few checks per timeout: the stall is noticed within 1.25 x the timeout.
    this.timer = setInterval(() => this.check(), Math.max(50, Math.min(1000, opts.timeoutMs / 4)));
    this.timer.unref();
  }

  /** Media was written to ffmpeg. */
  fed(): void {
    const now = this.now();
    if (this.waitingSince === undefined || now - this.lastFedAt > this.opts.timeoutMs / 2)
      this.waitingSince = now;
    this.lastFedAt = now;
  }

  /** ffmpeg produced output. */
  produced(): void {
    this.waitingSince = undefined;
  }

  /** Runs on the timer; exposed for tests with a fake clock. */
  check(): void {
    if (this.fired || this.waitingSince === undefined) return;
    const now = this.now();
    const silent = now - this.waitingSince;
    if (silent < this.opts.timeoutMs || now - this.lastFedAt > this.opts.timeoutMs / 2) return;
    this.fired = true;
    this.close();
    this.opts.onStall(silent);
  }

  close(): void {
    clearInterval(this.timer);
  }
}
