/**
 * When a webhook delivery is tried again (ADR 0021, proposed): exponential back-off from 10 s to at most an
 * hour, with ±10 % jitter so that many hooks failing together do not retry together, for at most 24 h after
 * the first attempt. A hook whose deliveries failed FAILING_AFTER times in a row is marked failing and tried
 * hourly until it answers 2xx: a receiver returning 500s for an hour costs about a dozen requests, not a storm.
 */
export const FIRST_RETRY_MS = 10_000;
export const MAX_RETRY_MS = 3_600_000;
export const GIVE_UP_AFTER_MS = 24 * 3_600_000;
export const FAILING_AFTER = 20;
/** One attempt's time limit: a receiver that hangs holds one delivery slot this long at most. */
export const ATTEMPT_TIMEOUT_MS = 5_000;
/** Deliveries waiting per hook at most: a receiver that is down while a busy chat runs does not fill the hub. */
export const MAX_QUEUED = 1000;

/**
 * The wait before attempt `attempt + 1`, after `attempt` failed attempts (1 = the first failed).
 * @param random in [0, 1): Math.random in use, fixed in tests
 */
export function retryDelayMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.9 + 0.2 * random()));
}

/** Whether a delivery first tried at `firstAt` is given up at `now` instead of being tried again. */
export function givesUp(firstAt: number, now: number): boolean {
  return now - firstAt >= GIVE_UP_AFTER_MS;
}

/** Whether the answer counts as delivered: any 2xx. Redirects are not followed (a hook's URL is exact). */
export function delivered(status: number): boolean {
  return status >= 200 && status < 300;
}
