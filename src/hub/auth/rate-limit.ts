/**
 * A token bucket per key (client IP, account name): `capacity` attempts at once, refilled at `capacity` per
 * `perMs`. Used for logins (scrypt is expensive and guessable secrets must not be brute-forced) and for
 * chat. Memory is bounded: a key whose bucket has refilled carries no information and is dropped, and past
 * `maxKeys` the least recently used key is evicted (it gets a fresh bucket if it comes back).
 */

export interface RateLimiterOptions {
  /** Attempts allowed at once, and per `perMs` on average. */
  capacity: number;
  perMs: number;
  /** Keys tracked at most (default 10 000). */
  maxKeys?: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly capacity: number;
  private readonly perMs: number;
  private readonly maxKeys: number;
  private readonly ratePerMs: number;
  private lastSweep = -Infinity;

  constructor(opts: RateLimiterOptions) {
    if (!(Number.isFinite(opts.capacity) && opts.capacity >= 1))
      throw new RangeError(`RateLimiter: capacity must be >= 1, got ${opts.capacity}`);
    if (!(Number.isFinite(opts.perMs) && opts.perMs > 0))
      throw new RangeError(`RateLimiter: perMs must be > 0, got ${opts.perMs}`);
    this.capacity = opts.capacity;
    this.perMs = opts.perMs;
    this.maxKeys = Math.max(1, opts.maxKeys ?? 10_000);
    this.ratePerMs = opts.capacity / opts.perMs;
  }

  /** Takes one token for `key`: true if the attempt is allowed. */
  take(key: string, now = Date.now()): boolean {
    const b = this.refilled(key, now);
    const allowed = b.tokens >= 1;
    if (allowed) b.tokens -= 1;
    // Re-insert so Map order is least-recently-used first.
    this.buckets.delete(key);
    this.buckets.set(key, b);
    this.bound(now);
    return allowed;
  }

  /** Milliseconds until `key` may try again (0 if it may now); does not take a token. */
  retryAfterMs(key: string, now = Date.now()): number {
    const b = this.buckets.get(key);
    if (!b) return 0;
    const tokens = Math.min(this.capacity, b.tokens + Math.max(0, now - b.at) * this.ratePerMs);
    return tokens >= 1 ? 0 : Math.ceil((1 - tokens) / this.ratePerMs);
  }

  /** Forgets `key` (e.g. after a successful login). */
  reset(key: string): void {
    this.buckets.delete(key);
  }

  size(): number {
    return this.buckets.size;
  }

  clear(): void {
    this.buckets.clear();
  }

  private refilled(key: string, now: number): Bucket {
    const b = this.buckets.get(key);
    if (!b) return { tokens: this.capacity, at: now };
    // A clock that went backwards refills nothing rather than draining.
    const elapsed = Math.max(0, now - b.at);
    return { tokens: Math.min(this.capacity, b.tokens + elapsed * this.ratePerMs), at: Math.max(b.at, now) };
  }

  private bound(now: number): void {
    // Idle keys go in a sweep at most once per window (O(keys), so not on every call); the hard cap is
    // enforced on every insertion by evicting from the least recently used end.
    if (now - this.lastSweep >= this.perMs) {
      this.lastSweep = now;
      for (const [key, b] of this.buckets) {
        if (b.tokens + Math.max(0, now - b.at) * this.ratePerMs >= this.capacity) this.buckets.delete(key);
      }
    }
    while (this.buckets.size > this.maxKeys) {
      const oldest = this.buckets.keys().next();
      if (oldest.done) break;
      this.buckets.delete(oldest.value);
    }
  }
}
