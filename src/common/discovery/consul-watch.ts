/**
 * One blocking-query loop on `/v1/health/service/tiercast-<role>?passing`: the healthy nodes of a role.
 *
 * Follows Consul's rules for blocking clients: pass the last X-Consul-Index with `wait`; reset the index when it
 * goes backwards (the agent lost or restored its state); never block on an index ≤ 0 (Consul would answer at
 * once, forever); and rate-limit, because an answer is no proof of a change. On errors the last known nodes
 * are kept, the loop backs off with jitter and its next query is a plain read. It never spins: every
 * iteration either blocked in Consul, or sleeps.
 */
import { parseHealthEntries, serviceName, type InvalidRegistration } from './consul-records.js';
import type { ConsulApi } from './consul-api.js';
import type { NodeInfo, NodeRole } from './types.js';

export interface HealthWatchOptions {
  api: Pick<ConsulApi, 'healthService'>;
  role: NodeRole;
  waitS: number;
  retryInitialMs: number;
  retryMaxMs: number;
  random: () => number;
  /** Every successful answer, valid nodes and ignored registrations. `changed` when the node set differs. */
  onAnswer(nodes: NodeInfo[], invalid: InvalidRegistration[], changed: boolean): void;
  onError(err: unknown): void;
}

/** Least time between two queries whose index did not move (Consul answered early without a change). */
const UNCHANGED_MIN_GAP_MS = 1000;
/** Least time between any two queries, even while the index moves quickly. */
const MIN_GAP_MS = 50;

export class HealthWatch {
  nodes: NodeInfo[] = [];
  answered = false;
  private index: bigint | undefined;
  private key = '';
  private stopped = false;
  private wake: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly done: Promise<void>;

  constructor(private readonly opts: HealthWatchOptions) {
    this.done = this.loop();
  }

  /** Stops the loop; the request in flight is aborted by the caller closing the API. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.wake?.();
    await this.done;
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      const started = Date.now();
      let delay: number;
      try {
        const answer = await this.opts.api.healthService(serviceName(this.opts.role), {
          index: this.index === undefined ? undefined : this.index.toString(),
          waitS: this.opts.waitS,
        });
        if (this.stopped) break;
        failures = 0;
        const moved = this.advanceIndex(answer.index);
        this.accept(answer.body);
        const elapsed = Date.now() - started;
        // Unmoved index and an early answer: Consul did not block (a lenient server, or an idempotent write).
        // Sleep rather than ask again at once.
        delay = moved ? MIN_GAP_MS - elapsed : UNCHANGED_MIN_GAP_MS - elapsed;
      } catch (err) {
        if (this.stopped) break;
        failures += 1;
        // After a failure nothing is known about the agent (it may have restarted and lost its index): the
        // next query is a plain read, which also tells at once when Consul is back.
        this.index = undefined;
        this.opts.onError(err);
        const ceiling = Math.min(
          this.opts.retryMaxMs,
          this.opts.retryInitialMs * 2 ** Math.min(failures - 1, 20),
        );
        // Full jitter on the upper half: spreads the reconnect storm after an outage, keeps a floor.
        delay = ceiling / 2 + (ceiling / 2) * this.opts.random();
      }
      if (delay > 0) await this.sleep(delay);
    }
  }

  /** Returns whether the index moved forward. */
  private advanceIndex(header: string | undefined): boolean {
    let next: bigint | undefined;
    try {
      next = header !== undefined && /^\d{1,30}$/.test(header) ? BigInt(header) : undefined;
    } catch {
      next = undefined;
    }
    const prev = this.index;
    if (next === undefined) {
      // No usable index: the next query cannot block; the rate limit in the loop applies.
      this.index = undefined;
      return false;
    }
    if (next <= 0n) next = 1n;
    if (prev !== undefined && next < prev) {
      // Went backwards: the agent's state was reset. Start over with a non-blocking read.
      this.index = undefined;
      return true;
    }
    this.index = next;
    return prev === undefined || next > prev;
  }

  private accept(body: unknown): void {
    const { nodes, invalid } = parseHealthEntries(this.opts.role, body);
    const key = JSON.stringify(nodes);
    const changed = !this.answered || key !== this.key;
    this.key = key;
    this.nodes = nodes;
    this.answered = true;
    this.opts.onAnswer(nodes, invalid, changed);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = () => {
        this.wake = undefined;
        resolve();
      };
      this.timer = setTimeout(() => this.wake?.(), ms);
    });
  }
}
