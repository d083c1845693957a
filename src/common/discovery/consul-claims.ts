/**
 * Live-stream claims in Consul KV: `tiercast/streams/<name>` holds `{node_id, ws_url, region}` and is locked
 * by the claiming ingress's session (acquire), so exactly one ingress carries a stream. The session has a TTL
 * and Behavior=delete: if the ingress dies, Consul deletes its claims. A clean release first releases the lock
 * (explicit releases skip Consul's lock-delay, so another ingress can take the stream at once), then deletes
 * the key with a CAS so as never to delete someone else's fresh claim.
 */
import type { Logger } from 'pino';
import { TiercastError, errorMessage } from '../errors/index.js';
import type { ConsulApi } from './consul-api.js';
import { encodeClaim, parseClaim, STREAM_NAME_RE, streamKey, type StreamClaim } from './consul-records.js';
import type { NodeInfo } from './types.js';

export interface StreamClaimsOptions {
  api: ConsulApi;
  logger: Logger;
  sessionTtlMs: number;
  lockDelayMs: number;
  /** Reports the outcome of calls, for the discovery's reachability state. */
  onCallResult(err: unknown, op: string): void;
  onLost(stream: string): void;
}

export class StreamClaims {
  private session: string | undefined;
  private creating: Promise<string> | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  private renewing: Promise<void> | undefined;
  private readonly held = new Map<string, NodeInfo>();
  /** Releases that failed (Consul unreachable): retried with every renewal while the session lives. */
  private readonly pendingRelease = new Map<string, NodeInfo>();
  private closed = false;

  constructor(private readonly opts: StreamClaimsOptions) {}

  async claim(stream: string, self: NodeInfo): Promise<boolean> {
    checkStreamName(stream);
    if (this.closed) throw new TiercastError('UPSTREAM_UNAVAILABLE', 'discovery is closed', { stream });
    this.pendingRelease.delete(stream);
    const ok = await this.acquire(stream, self);
    if (ok) this.held.set(stream, self);
    return ok;
  }

  async release(stream: string): Promise<void> {
    checkStreamName(stream);
    const self = this.held.get(stream);
    if (!self) return;
    this.held.delete(stream);
    const session = this.session;
    if (!session) return;
    try {
      await this.releaseKey(stream, self, session);
    } catch (err) {
      // Retried with each renewal; if the session dies first, Consul deletes the claim (Behavior=delete).
      this.opts.onCallResult(err, 'release stream');
      this.pendingRelease.set(stream, self);
      this.opts.logger.warn({ stream, err: errorMessage(err) }, 'could not release stream claim; retrying');
    }
  }

  /** The claim on a stream, if a live session holds it. A released or foreign value counts as none. */
  async origin(stream: string): Promise<StreamClaim | undefined> {
    checkStreamName(stream);
    let entry;
    try {
      entry = await this.opts.api.kvGet(streamKey(stream));
      this.opts.onCallResult(undefined, 'read stream claim');
    } catch (err) {
      this.opts.onCallResult(err, 'read stream claim');
      throw new TiercastError(
        'UPSTREAM_UNAVAILABLE',
        'Consul cannot be asked for the stream origin',
        { stream, backend: 'consul' },
        { cause: err },
      );
    }
    if (!entry?.session) return undefined;
    const claim = parseClaim(entry.value);
    if (!claim) {
      this.opts.logger.warn({ stream }, 'ignoring a malformed stream claim in Consul KV');
      return undefined;
    }
    return claim;
  }

  /** Releases every claim, then destroys the session (which deletes anything left). Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.renewTimer) clearTimeout(this.renewTimer);
    await this.renewing;
    const session = this.session ?? (await this.creating?.catch(() => undefined));
    const held = [...this.held, ...this.pendingRelease];
    this.held.clear();
    this.pendingRelease.clear();
    if (!session) return;
    await Promise.all(
      held.map(([stream, self]) =>
        this.releaseKey(stream, self, session).catch((err: unknown) =>
          this.opts.logger.warn(
            { stream, err: errorMessage(err) },
            'could not release stream claim on close',
          ),
        ),
      ),
    );
    try {
      await this.opts.api.destroySession(session);
    } catch (err) {
      this.opts.logger.warn(
        { err: errorMessage(err) },
        'could not destroy the claims session; Consul expires it',
      );
    }
    this.session = undefined;
  }

  private async acquire(stream: string, self: NodeInfo, retried = false): Promise<boolean> {
    const session = await this.ensureSession();
    try {
      const ok = await this.opts.api.kvAcquire(streamKey(stream), encodeClaim(self), session);
      this.opts.onCallResult(undefined, 'claim stream');
      return ok;
    } catch (err) {
      this.opts.onCallResult(err, 'claim stream');
      // Consul refuses an acquire with an invalidated session (it expired during an outage): start a new one.
      if (!retried && !(await this.sessionAlive(session))) {
        if (this.session === session) this.session = undefined;
        return this.acquire(stream, self, true);
      }
      throw new TiercastError(
        'UPSTREAM_UNAVAILABLE',
        'Consul cannot decide the stream claim',
        { stream, backend: 'consul' },
        { cause: err },
      );
    }
  }

  private async sessionAlive(session: string): Promise<boolean> {
    try {
      return await this.opts.api.renewSession(session);
    } catch {
      return true;
    }
  }

  private async retryReleases(session: string): Promise<void> {
    for (const [stream, self] of [...this.pendingRelease]) {
      if (this.closed) return;
      try {
        await this.releaseKey(stream, self, session);
        this.pendingRelease.delete(stream);
        this.opts.logger.info({ stream }, 'stream claim released');
      } catch (err) {
        this.opts.onCallResult(err, 'release stream');
        return;
      }
    }
  }

  private async releaseKey(stream: string, self: NodeInfo, session: string): Promise<void> {
    const key = streamKey(stream);
    await this.opts.api.kvRelease(key, encodeClaim(self), session);
    const entry = await this.opts.api.kvGet(key);
    if (entry && !entry.session && parseClaim(entry.value)?.node_id === self.id) {
      await this.opts.api.kvDelete(key, entry.modifyIndex);
    }
  }

  private ensureSession(): Promise<string> {
    if (this.session) return Promise.resolve(this.session);
    if (!this.creating) {
      this.creating = this.opts.api
        .createSession({
          name: 'tiercast stream claims',
          ttlMs: this.opts.sessionTtlMs,
          lockDelayMs: this.opts.lockDelayMs,
          behavior: 'delete',
        })
        .then(
          (id) => {
            this.opts.onCallResult(undefined, 'create session');
            this.session = id;
            this.creating = undefined;
            this.scheduleRenew();
            return id;
          },
          (err: unknown) => {
            this.opts.onCallResult(err, 'create session');
            this.creating = undefined;
            throw new TiercastError(
              'UPSTREAM_UNAVAILABLE',
              'Consul cannot open a claims session',
              { backend: 'consul' },
              { cause: err },
            );
          },
        );
    }
    return this.creating;
  }

  private scheduleRenew(): void {
    if (this.closed || this.renewTimer) return;
    this.renewTimer = setTimeout(() => {
      this.renewTimer = undefined;
      this.renewing = this.renew()
        .catch((err: unknown) =>
          this.opts.logger.warn({ err: errorMessage(err) }, 'claims session renewal failed'),
        )
        .finally(() => {
          this.renewing = undefined;
          this.scheduleRenew();
        });
    }, this.opts.sessionTtlMs / 3);
  }

  private async renew(): Promise<void> {
    if (this.closed) return;
    const session = this.session;
    if (session) {
      let alive: boolean;
      try {
        alive = await this.opts.api.renewSession(session);
        this.opts.onCallResult(undefined, 'renew session');
      } catch (err) {
        // Unreachable: keep the session id; Consul keeps it for up to twice its TTL.
        this.opts.onCallResult(err, 'renew session');
        return;
      }
      if (alive) {
        await this.retryReleases(session);
        return;
      }
      // The session expired (an outage longer than its TTL): Consul deleted our claims.
      if (this.session === session) this.session = undefined;
      this.pendingRelease.clear();
      this.opts.logger.warn(
        { streams: this.held.size },
        'claims session expired in Consul; claiming live streams again',
      );
    }
    // Take the claims again (also after a failed attempt), unless another ingress was quicker.
    for (const [stream, self] of [...this.held]) {
      if (this.closed) return;
      let ok: boolean;
      try {
        ok = await this.acquire(stream, self);
      } catch (err) {
        this.opts.logger.warn(
          { stream, err: errorMessage(err) },
          'could not claim stream again; retrying with the next renewal',
        );
        continue;
      }
      if (!ok) {
        this.held.delete(stream);
        this.opts.logger.error({ stream }, 'stream claim lost: another ingress holds it now');
        this.opts.onLost(stream);
      }
    }
  }
}

function checkStreamName(stream: string): void {
  if (typeof stream !== 'string' || !STREAM_NAME_RE.test(stream)) {
    throw new TiercastError('BAD_REQUEST', 'malformed stream name (letters, digits, "_" or "-", at most 64)');
  }
}
