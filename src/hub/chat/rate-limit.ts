/**
 * Sliding-window rate limiting: at most `messages` accepted in any `perMs` window, counted per key.
 * Only accepted actions are counted, so someone who keeps hammering is refused exactly as long as they
 * exceed the rate and never locked out beyond the window.
 */

export interface RateRule {
  messages: number;
  perMs: number;
}

export class SlidingWindowLimiter {
  private readonly hits = new Map<string, number[]>();
  private calls = 0;

  constructor(private readonly rule: RateRule) {}

  /** Whether one more action for `key` at `now` would stay within the rule (does not count it). */
  allows(key: string, now: number): boolean {
    return this.recent(key, now).length < this.rule.messages;
  }

  record(key: string, now: number): void {
    const list = this.recent(key, now);
    list.push(now);
    this.hits.set(key, list);
    if (++this.calls % 1024 === 0) this.sweep(now);
  }

  size(): number {
    return this.hits.size;
  }

  clear(): void {
    this.hits.clear();
  }

  private recent(key: string, now: number): number[] {
    const list = this.hits.get(key);
    if (!list) return [];
    const from = now - this.rule.perMs;
    let drop = 0;
    while (drop < list.length && (list[drop] ?? 0) <= from) drop++;
    if (drop > 0) list.splice(0, drop);
    if (list.length === 0) this.hits.delete(key);
    return list;
  }

  /** Drops keys whose window has emptied, so departed users and IPs do not accumulate. */
  private sweep(now: number): void {
    for (const key of [...this.hits.keys()]) this.recent(key, now);
  }
}

/** Both limits must allow an action, and it counts against both: the per-IP cap bounds many guests on one IP. */
export function checkAndRecord(
  limiters: Array<{ limiter: SlidingWindowLimiter; key: string }>,
  now: number,
): boolean {
  if (!limiters.every(({ limiter, key }) => limiter.allows(key, now))) return false;
  for (const { limiter, key } of limiters) limiter.record(key, now);
  return true;
}
