/**
 * Which hub leads (ADR 0018). One hub: it always does. Several hubs on one PostgreSQL store (`ha.enabled`):
 * the one holding a Consul lock does — a session (TTL, Behavior=delete) acquires `ha.key` with the hub's
 * `{nodeId, url}` as value. The others poll the key every second, remember who leads (standbys tell callers
 * where to go) and acquire it once its holder's session is gone: Consul invalidates a dead hub's session
 * after up to twice its TTL, then holds the key for the lock-delay.
 *
 * The leader renews its session every TTL/3 and checks it still holds the key. It steps down ('deposed') when
 * Consul says the session or the key is no longer its own, or when it could not renew for a whole TTL (Consul
 * may already have let another hub in: stepping down first keeps two hubs from taking chat at once). A clean
 * close releases the key at once (an explicit release skips the lock-delay), so a restart hands over in a
 * second, not a TTL.
 */
import { z } from 'zod';
import { errorMessage } from '../common/errors/index.js';
import type { Logger } from '../common/logging/index.js';
import { createLogRateLimiter } from '../common/logging/rate-limit.js';
import { SafeEmitter, type EventMap } from '../common/events/safe-emitter.js';
import type { ConsulApi } from '../common/discovery/consul-api.js';

export interface LeadershipEvents extends EventMap {
  elected: [];
  deposed: [];
}

export interface HubLeadership {
  readonly isLeader: boolean;
  /** The leading hub's URL as it advertises it, when known (a standby tells callers to go there). */
  readonly leaderUrl: string | undefined;
  on<K extends keyof LeadershipEvents & string>(
    event: K,
    fn: (...args: LeadershipEvents[K]) => void,
  ): () => void;
  close(): Promise<void>;
}

/** A lone hub leads from start to end. */
export class SoleLeadership extends SafeEmitter<LeadershipEvents> implements HubLeadership {
  readonly isLeader = true;
  readonly leaderUrl = undefined;
  constructor(logger: Logger) {
    super(logger, { module: 'leadership' });
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

const leaderValue = z.object({ nodeId: z.string(), url: z.string() });

export interface ConsulLeadershipOptions {
  /** Closed with this election. */
  api: ConsulApi;
  key: string;
  nodeId: string;
  /** This hub's URL as the others should reach it. */
  url: string;
  sessionTtlMs: number;
  lockDelayMs: number;
  logger: Logger;
  /** How often a standby looks at the key (and the leader checks it still holds it). */
  pollMs?: number;
  now?: () => number;
}

export class ConsulLeadership extends SafeEmitter<LeadershipEvents> implements HubLeadership {
  private leader = false;
  private knownLeader: string | undefined;
  private session: string | undefined;
  private abandoned: string | undefined;
  private renewedAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private closed = false;
  private readonly value: string;
  private readonly now: () => number;
  private readonly troubleLog: ReturnType<typeof createLogRateLimiter>;

  constructor(private readonly opts: ConsulLeadershipOptions) {
    super(opts.logger, { module: 'leadership' });
    this.value = JSON.stringify({ nodeId: opts.nodeId, url: opts.url });
    this.now = opts.now ?? Date.now;
    this.troubleLog = createLogRateLimiter(opts.logger, {
      maxPerWindow: 1,
      windowMs: 30_000,
      what: 'repeated leader-election errors',
      level: 'warn',
    });
  }

  get isLeader(): boolean {
    return this.leader;
  }

  get leaderUrl(): string | undefined {
    return this.leader ? this.opts.url : this.knownLeader;
  }

  /** Takes part in the election; resolves after the first round (a lone hub is leading by then). */
  async start(): Promise<void> {
    await (this.ticking = this.tick());
    this.schedule();
  }

  private schedule(): void {
    if (this.closed) return;
    const every = Math.min(this.opts.pollMs ?? 1000, this.opts.sessionTtlMs / 3);
    this.timer = setTimeout(() => {
      this.ticking = this.tick().finally(() => this.schedule());
    }, every);
  }

  private async tick(): Promise<void> {
    const { api, key, logger, sessionTtlMs } = this.opts;
    try {
      if (this.abandoned) {
        // A session given up on (Consul away, or the lead lost): destroyed so that it holds nothing.
        await api.destroySession(this.abandoned);
        this.abandoned = undefined;
      }
      if (!this.session) {
        this.session = await api.createSession({
          name: `tiercast hub ${this.opts.nodeId}`,
          ttlMs: sessionTtlMs,
          lockDelayMs: this.opts.lockDelayMs,
          behavior: 'delete',
        });
        this.renewedAt = this.now();
      } else if (this.now() - this.renewedAt >= sessionTtlMs / 3) {
        if (!(await api.renewSession(this.session))) {
          this.session = undefined;
          if (this.leader) this.stepDown('the election session expired in Consul');
          return;
        }
        this.renewedAt = this.now();
      }
      if (this.closed) return;
      if (this.leader) {
        const entry = await api.kvGet(key);
        if (entry?.session !== this.session) this.stepDown('the leader key is no longer held by this hub');
        return;
      }
      if (await api.kvAcquire(key, this.value, this.session)) {
        this.step(true);
        return;
      }
      const entry = await api.kvGet(key);
      const held = entry?.session ? leaderValue.safeParse(safeJson(entry.value)) : undefined;
      this.knownLeader = held?.success ? held.data.url : undefined;
    } catch (err) {
      if (this.troubleLog.allow('consul'))
        logger.warn(
          { code: 'UPSTREAM_UNAVAILABLE', err: errorMessage(err) },
          'leader election: Consul call failed',
        );
      // Unrenewed for a whole TTL: Consul may let another hub in (after 2×TTL): step down before it can.
      if (this.leader && this.now() - this.renewedAt >= sessionTtlMs)
        this.stepDown('the lock could not be renewed for a TTL');
    }
  }

  /** Stops leading; the session is given up (destroyed when Consul answers) and a new one stands for election. */
  private stepDown(why: string): void {
    this.opts.logger.error({ code: 'HUB_NOT_LEADER', reason: why }, 'this hub steps down');
    this.abandoned = this.session;
    this.session = undefined;
    this.step(false);
  }

  private step(leader: boolean): void {
    if (this.leader === leader) return;
    this.leader = leader;
    if (leader) this.knownLeader = undefined;
    this.opts.logger.info({ key: this.opts.key }, leader ? 'this hub now leads' : 'this hub no longer leads');
    this.safeEmit(leader ? 'elected' : 'deposed');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.ticking?.catch(() => undefined);
    this.troubleLog.close();
    const { api, key, logger } = this.opts;
    const session = this.session;
    this.session = undefined;
    const wasLeader = this.leader;
    this.leader = false;
    try {
      if (session && wasLeader) await api.kvRelease(key, this.value, session);
      if (session) await api.destroySession(session);
    } catch (err) {
      logger.warn({ err: errorMessage(err) }, 'could not hand the lead over; Consul expires the session');
    } finally {
      api.close();
    }
  }
}

function safeJson(text: string | null): unknown {
  try {
    return text === null ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}
