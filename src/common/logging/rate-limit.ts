/**
 * Rate limiting for repeated log lines. A peer can make us log on its behalf (ffmpeg warns ~100 times a
 * second about a publisher's broken H.264; every request for an unknown stream used to log): without a
 * limit, one client fills the disk and buries everything else. Per key, at most `maxPerWindow` lines pass
 * in each window of `windowMs`; the rest are counted, and when the window ends one line says how many
 * were suppressed (so the log still shows the flood, just not every line of it).
 *
 * Memory is bounded by `maxKeys`: the least recently started window is evicted (and its count reported).
 * The flush timer runs only while something was suppressed, and is unref'd. `close()` reports what is
 * pending and stops the timer; it is idempotent.
 */
import type { Logger } from './index.js';

export interface LogRateLimitOptions {
  /** Lines allowed per key per window. */
  maxPerWindow: number;
  windowMs: number;
  /** Keys tracked at once; default 1000. */
  maxKeys?: number;
  /** Called once per window in which lines of `key` were suppressed. */
  onSuppressed(key: string, suppressed: number, windowMs: number): void;
  now?: () => number;
}

interface Window {
  start: number;
  passed: number;
  suppressed: number;
}

export class LogRateLimiter {
  private readonly windows = new Map<string, Window>();
  private readonly now: () => number;
  private readonly maxKeys: number;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly opts: LogRateLimitOptions) {
    this.now = opts.now ?? Date.now;
    this.maxKeys = opts.maxKeys ?? 1000;
  }

  /** Whether a line with this key may be logged now; if not, it is counted as suppressed. */
  allow(key: string): boolean {
    const now = this.now();
    let w = this.windows.get(key);
    if (w && now - w.start >= this.opts.windowMs) {
      this.report(key, w);
      this.windows.delete(key);
      w = undefined;
    }
    if (!w) {
      if (this.windows.size >= this.maxKeys) this.evictOldest();
      w = { start: now, passed: 0, suppressed: 0 };
      this.windows.set(key, w);
    }
    if (w.passed < this.opts.maxPerWindow) {
      w.passed++;
      return true;
    }
    w.suppressed++;
    if (!this.timer && !this.closed) {
      this.timer = setInterval(() => this.flush(), this.opts.windowMs);
      this.timer.unref();
    }
    return false;
  }

  /** Reports and forgets windows that have ended. Called by the timer; tests may call it directly. */
  flush(): void {
    const now = this.now();
    for (const [key, w] of this.windows) {
      if (now - w.start < this.opts.windowMs) continue;
      this.report(key, w);
      this.windows.delete(key);
    }
    if (this.timer && ![...this.windows.values()].some((w) => w.suppressed > 0)) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  /** Reports every pending suppressed count and stops the timer. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.timer = undefined;
    for (const [key, w] of this.windows) this.report(key, w);
    this.windows.clear();
  }

  private evictOldest(): void {
    const first = this.windows.entries().next();
    if (first.done) return;
    const [key, w] = first.value;
    this.report(key, w);
    this.windows.delete(key);
  }

  private report(key: string, w: Window): void {
    if (w.suppressed === 0) return;
    const n = w.suppressed;
    w.suppressed = 0;
    try {
      this.opts.onSuppressed(key, n, this.opts.windowMs);
    } catch {
      // A reporting callback must never break the caller that was only trying to log.
    }
  }
}

/**
 * A LogRateLimiter whose summary goes to `logger` (at `level`, default warn: that of the lines it limits) as
 * `{ code: 'LOG_LINES_SUPPRESSED', repeated, suppressed, windowMs }` (not `key`: the logger redacts that
 * field, as it could be a stream key).
 */
export function createLogRateLimiter(
  logger: Logger,
  opts: Omit<LogRateLimitOptions, 'onSuppressed'> & { what?: string; level?: 'warn' | 'info' | 'debug' },
): LogRateLimiter {
  return new LogRateLimiter({
    ...opts,
    onSuppressed: (key, suppressed, windowMs) =>
      logger[opts.level ?? 'warn'](
        { code: 'LOG_LINES_SUPPRESSED', repeated: key.slice(0, 200), suppressed, windowMs },
        `${opts.what ?? 'repeated log lines'} suppressed`,
      ),
  });
}

/**
 * A key under which variants of one message count as repeats: hex addresses and numbers become '#'.
 * ffmpeg's "[h264 @ 0x55d0…] error while decoding MB 12 34" differs in every line only by those.
 */
export function repeatKey(line: string): string {
  return line
    .slice(0, 300)
    .replace(/0x[0-9a-f]+/gi, '#')
    .replace(/\d+/g, '#');
}
