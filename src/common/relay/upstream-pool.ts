/**
 * Where each stream comes from: the relay's side of the tree. Every subscribed stream is assigned to a
 * parent chosen by a ParentResolver (a static list, or discovery: region, tier, load, the stream's origin);
 * streams to the same parent share one ParentConnection. When a parent dies, refuses (capacity, loop) or
 * goes silent, each of its streams is reassigned at once to another parent, resuming from the last chunk
 * held, so viewers see neither a gap nor a duplicate while the new parent's cache covers the outage.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors/index.js';
import { rootCertificates } from 'node:tls';
import type { Logger } from '../logging/index.js';
import { createLogRateLimiter, type LogRateLimiter } from '../logging/rate-limit.js';
import type { Metrics } from '../metrics/index.js';
import type { UpstreamConfig } from '../config/index.js';
import type { ResumePosition } from '../media.js';
import type { DirectoryEntry } from '../protocol/index.js';
import { ParentConnection } from './parent-connection.js';
import type { UpstreamClient, UpstreamHandler } from './relay-node.js';

export interface ParentResolver {
  /** A parent URL for the stream, avoiding `exclude`; undefined when none is usable now. */
  choose(stream: string, exclude: ReadonlySet<string>): Promise<string | undefined>;
  /** A parent to stay connected to even without streams (the directory flows from it). */
  home(): Promise<string | undefined>;
  /**
   * While a stream is offline: a better parent to move it to, if any (the publisher came back on another
   * ingress). Optional: static parents never move.
   */
  moveFor?(stream: string, current: string): Promise<string | undefined>;
}

/** Parents from config, tried in order. */
export class StaticParents implements ParentResolver {
  constructor(private readonly parents: () => string[]) {}

  choose(_stream: string, exclude: ReadonlySet<string>): Promise<string | undefined> {
    return Promise.resolve(this.parents().find((p) => !exclude.has(p)));
  }

  home(): Promise<string | undefined> {
    return Promise.resolve(this.parents()[0]);
  }
}

interface Assignment {
  /** Re-resolves the stream's parent while it is offline (publisher gone). */
  offlineTimer?: NodeJS.Timeout;
  stream: string;
  resume: () => ResumePosition[];
  path: string[];
  conn: ParentConnection | undefined;
  exclude: Set<string>;
  attempt: number;
  timer: NodeJS.Timeout | undefined;
}

export interface UpstreamPoolOptions {
  nodeId: string;
  clusterSecret: string;
  config: UpstreamConfig;
  maxFrameBytes: number;
  handler: UpstreamHandler;
  resolver: ParentResolver;
  logger: Logger;
  metrics: Metrics;
}

export class UpstreamPool implements UpstreamClient {
  private readonly conns = new Map<string, ParentConnection>();
  private readonly streams = new Map<string, Assignment>();
  private homeUrl: string | undefined;
  private homeTimer: NodeJS.Timeout | undefined;
  /** Failed tries to reach the home parent since it was last open: the retry backs off with it. */
  private homeAttempt = 0;
  /**
   * A parent refusing this node (wrong cluster secret, at capacity) refuses every retry alike: one line per
   * parent and reason a minute, then how many were suppressed, instead of one per attempt.
   */
  private readonly refusalLog: LogRateLimiter;
  private closed = false;
  /** The system's roots plus `upstream.ca`, when configured (read once: a missing file stops the start). */
  private readonly ca: readonly (string | Buffer)[] | undefined;

  constructor(private readonly opts: UpstreamPoolOptions) {
    const file = opts.config.ca;
    if (file) {
      try {
        this.ca = [...rootCertificates, readFileSync(file)];
      } catch (err) {
        throw new ConfigError(`upstream.ca: cannot read ${file}: ${(err as Error).message}`);
      }
    }
    this.refusalLog = createLogRateLimiter(opts.logger, {
      maxPerWindow: 1,
      windowMs: 60_000,
      what: 'repeated parent refusals',
    });
  }

  /** initial · 2^(attempt-1), at most backoffMaxMs. */
  private backoff(attempt: number): number {
    const { backoffInitialMs, backoffMaxMs } = this.opts.config;
    return Math.min(backoffMaxMs, backoffInitialMs * 2 ** Math.min(Math.max(attempt - 1, 0), 16));
  }

  /** Connects to the home parent at once, so the directory flows and failover is warm. */
  start(): void {
    void this.ensureHome();
  }

  get connectedParents(): string[] {
    return [...this.conns.values()].filter((c) => c.open).map((c) => c.url);
  }

  parentOf(stream: string): string | undefined {
    return this.streams.get(stream)?.conn?.url;
  }

  subscribe(stream: string, resume: () => ResumePosition[], path: string[] = []): void {
    if (this.streams.has(stream)) return;
    const a: Assignment = {
      stream,
      resume,
      path,
      conn: undefined,
      exclude: new Set(),
      attempt: 0,
      timer: undefined,
    };
    this.streams.set(stream, a);
    void this.assign(a);
  }

  unsubscribe(stream: string): void {
    const a = this.streams.get(stream);
    if (!a) return;
    this.streams.delete(stream);
    if (a.timer) clearTimeout(a.timer);
    if (a.offlineTimer) clearInterval(a.offlineTimer);
    a.conn?.remove(stream);
    if (a.conn) this.dropIfIdle(a.conn);
  }

  private async assign(a: Assignment): Promise<void> {
    if (this.closed || this.streams.get(a.stream) !== a) return;
    const url = await this.opts.resolver.choose(a.stream, a.exclude);
    if (this.closed || this.streams.get(a.stream) !== a) return;
    if (!url) {
      // Every candidate failed recently (or none is known yet): forget the exclusions and back off.
      a.exclude.clear();
      a.attempt++;
      const delay = this.backoff(a.attempt + 1);
      if (a.attempt === 1)
        this.opts.logger.warn(
          { stream: a.stream, code: 'UPSTREAM_UNAVAILABLE' },
          'no parent available for the stream; retrying',
        );
      a.timer = setTimeout(() => {
        a.timer = undefined;
        void this.assign(a);
      }, delay);
      return;
    }
    const conn = this.connection(url);
    a.conn = conn;
    conn.add(a.stream, a.resume, a.path);
  }

  private connection(url: string): ParentConnection {
    let conn = this.conns.get(url);
    if (conn) return conn;
    const c = this.opts;
    // Watch stream state on its way to the relay: an offline stream may have to follow its publisher.
    const h = c.handler;
    const handler = {
      onStreamStart: (info: Parameters<typeof h.onStreamStart>[0]) => {
        this.onStarted(info.name);
        h.onStreamStart(info);
      },
      onInit: (init: Parameters<typeof h.onInit>[0], frame: Buffer) => h.onInit(init, frame),
      onChunk: (chunk: Parameters<typeof h.onChunk>[0], frame: Buffer) => h.onChunk(chunk, frame),
      onStreamEnd: (stream: string, reason: string, code: string | undefined) => {
        h.onStreamEnd(stream, reason, code);
        this.onEnded(stream);
      },
      onDirectory: (entries: Parameters<typeof h.onDirectory>[0]) => h.onDirectory(entries),
    };
    conn = new ParentConnection({
      url,
      nodeId: c.nodeId,
      clusterSecret: c.clusterSecret,
      heartbeatIntervalMs: c.config.heartbeatIntervalMs,
      heartbeatTimeoutMs: c.config.heartbeatTimeoutMs,
      maxFrameBytes: c.maxFrameBytes,
      ca: this.ca,
      handler,
      logger: c.logger,
      metrics: c.metrics,
      logAllowed: (key) => this.refusalLog.allow(key),
      onOpen: (opened) => {
        for (const a of this.streams.values()) if (a.conn === opened) a.attempt = 0;
        if (opened.url === this.homeUrl) this.homeAttempt = 0;
        this.updateGauge();
      },
      onDead: (dead, reason, code) => this.onDead(dead, reason, code),
      onDirectory: () => this.publishDirectory(),
    });
    this.conns.set(url, conn);
    return conn;
  }

  private onStarted(stream: string): void {
    const a = this.streams.get(stream);
    if (a?.offlineTimer) {
      clearInterval(a.offlineTimer);
      a.offlineTimer = undefined;
    }
  }

  private onEnded(stream: string): void {
    const a = this.streams.get(stream);
    const moveFor = this.opts.resolver.moveFor?.bind(this.opts.resolver);
    if (!a || !moveFor || a.offlineTimer) return;
    a.offlineTimer = setInterval(() => {
      const current = a.conn?.url;
      if (!current || this.streams.get(stream) !== a) return;
      void moveFor(stream, current).then((url) => {
        if (!url || url === current || a.conn?.url !== current || this.streams.get(stream) !== a) return;
        this.opts.logger.info({ stream, from: current, to: url }, 'stream moved to its new origin');
        const old = a.conn;
        old.remove(stream);
        this.dropIfIdle(old);
        a.conn = this.connection(url);
        a.conn.add(stream, a.resume, a.path);
      });
    }, 1000);
    a.offlineTimer.unref();
  }

  private onDead(conn: ParentConnection, reason: string, code: string | undefined): void {
    if (this.conns.get(conn.url) === conn) this.conns.delete(conn.url);
    this.updateGauge();
    if (this.closed) return;
    const moved = [...this.streams.values()].filter((a) => a.conn === conn);
    if (moved.length) {
      this.opts.metrics.upstreamReconnects.inc();
      if (this.refusalLog.allow(`lost ${conn.url} ${code ?? ''}`))
        this.opts.logger.warn(
          { parent: conn.url, reason, code, streams: moved.length },
          'parent lost; moving its streams',
        );
    }
    for (const a of moved) {
      a.conn = undefined;
      a.exclude.add(conn.url);
      a.attempt++;
      // The first move is immediate (failover speed); repeated failures back off.
      const delay = a.attempt <= 1 ? 0 : this.backoff(a.attempt);
      a.timer = setTimeout(() => {
        a.timer = undefined;
        void this.assign(a);
      }, delay);
    }
    if (conn.url === this.homeUrl) {
      // Reconnects to a home parent that keeps refusing or dying back off like streams do (a fixed
      // interval was ten refused upgrades a second, each logged on both sides).
      this.homeUrl = undefined;
      this.homeAttempt++;
      this.homeTimer = setTimeout(() => void this.ensureHome(), this.backoff(this.homeAttempt));
    }
    this.publishDirectory();
  }

  private async ensureHome(): Promise<void> {
    if (this.closed || this.homeUrl) return;
    const url = await this.opts.resolver.home();
    if (this.closed) return;
    if (!url) {
      this.homeTimer = setTimeout(() => void this.ensureHome(), this.opts.config.backoffMaxMs);
      return;
    }
    this.homeUrl = url;
    this.connection(url);
  }

  private dropIfIdle(conn: ParentConnection): void {
    if (conn.streamCount > 0 || conn.url === this.homeUrl) return;
    this.conns.delete(conn.url);
    void conn.close();
    this.updateGauge();
  }

  /** Merged directory of every connected parent (each knows the streams of its part of the tree). */
  private publishDirectory(): void {
    const merged = new Map<string, DirectoryEntry>();
    for (const c of this.conns.values())
      for (const e of c.directory) if (!merged.has(e.name) || e.live) merged.set(e.name, e);
    this.opts.handler.onDirectory([...merged.values()]);
  }

  private updateGauge(): void {
    this.opts.metrics.upstreamConnected.set(this.connectedParents.length);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.refusalLog.close();
    if (this.homeTimer) clearTimeout(this.homeTimer);
    for (const a of this.streams.values()) {
      if (a.timer) clearTimeout(a.timer);
      if (a.offlineTimer) clearInterval(a.offlineTimer);
    }
    this.streams.clear();
    const conns = [...this.conns.values()];
    this.conns.clear();
    await Promise.all(conns.map((c) => c.close()));
    this.updateGauge();
  }
}
