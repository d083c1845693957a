/**
 * Transport: the edge's WebSocket link to the hub (`/internal/edge`), with the `ws` client. Reconnects with
 * backoff forever; reports viewer counts every few seconds. Everything it receives goes to its handler (the
 * ChatBridge), through a small interface so the domain side can be tested without a socket.
 */
import WebSocket from 'ws';
import type { HubLinkConfig } from '../common/config/index.js';
import { HUB_ERROR_HEADER, HUB_LEADER_HEADER, HubHosts } from '../common/http/hub-hosts.js';
import { errorCode, errorMessage } from '../common/errors/index.js';
import type { Logger } from '../common/logging/index.js';
import { createLogRateLimiter } from '../common/logging/rate-limit.js';
import {
  AUTH_HEADER,
  HUB_SUBPROTOCOL,
  LINK_FRAME_CEILING_BYTES,
  createClusterToken,
  decodeHubToEdge,
  encodeLinkChecked,
  type EdgeToHub,
  type HubToEdge,
} from '../common/protocol/index.js';

/** What the link reports to (the edge's ChatBridge): the link's state and every message from the hub. */
export interface HubLinkHandler {
  onConnected(): void;
  onDisconnected(): void;
  onHubMessage(m: HubToEdge): void;
}

export class HubLink {
  private ws: WebSocket | undefined;
  private handler: HubLinkHandler | undefined;
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly reportTimer: NodeJS.Timeout;
  private closed = false;
  private readonly hubs: HubHosts;
  /** A hub refusing the link (wrong cluster secret) refuses every retry: one line a minute, not one each. */
  private readonly refusalLog: ReturnType<typeof createLogRateLimiter>;

  constructor(
    private readonly opts: {
      nodeId: string;
      clusterSecret: string;
      config: HubLinkConfig;
      /** Which hub leads (shared with the /api proxy): the link follows it (ADR 0018). Default: from config. */
      hubs?: HubHosts;
      logger: Logger;
      viewerCounts: () => Record<string, number>;
      /** Analytics: the audience messages of one report (audience-report.ts), sent after each viewer count. */
      audience?: () => EdgeToHub[];
      /** Link state for metrics (tiercast_edge_hub_connected). */
      onState?: (connected: boolean) => void;
    },
  ) {
    this.hubs = opts.hubs ?? new HubHosts(opts.config.url, opts.config.standbys);
    this.reportTimer = setInterval(() => this.report(), 2000);
    this.reportTimer.unref();
    this.refusalLog = createLogRateLimiter(opts.logger, {
      maxPerWindow: 1,
      windowMs: 60_000,
      what: 'repeated hub refusals',
      level: 'warn',
    });
  }

  start(handler: HubLinkHandler): void {
    this.handler = handler;
    this.connect();
  }

  /**
   * False when the link is down (the caller may queue and retry). A message over the link limit is dropped
   * with a log line and reported as handled: sending it would make the hub close the link for every viewer,
   * and retrying it could never succeed. (ChatBridge's checks keep viewers' messages far below the limit.)
   */
  send(m: EdgeToHub): boolean {
    if (this.ws?.readyState !== WebSocket.OPEN) return false;
    let text: string;
    try {
      text = encodeLinkChecked(m);
    } catch (err) {
      this.opts.logger.error(
        { code: errorCode(err), t: m.t, err: errorMessage(err) },
        'oversize link message dropped',
      );
      return true;
    }
    this.ws.send(text);
    return true;
  }

  /** Viewer counts (the directory's) and the audience (analytics); nothing is queued while the link is down. */
  private report(): void {
    if (!this.send({ t: 'viewers', counts: this.opts.viewerCounts() })) return;
    for (const m of this.opts.audience?.() ?? []) this.send(m);
  }

  private connect(): void {
    if (this.closed) return;
    const base = this.hubs.current;
    const url = `${base.replace(/^http/, 'ws')}/internal/edge`;
    let opened = false;
    let standby = false;
    const ws = new WebSocket(url, HUB_SUBPROTOCOL, {
      headers: { [AUTH_HEADER]: createClusterToken(this.opts.clusterSecret, this.opts.nodeId, 'hub-link') },
      // Above the hub's sending limit: an oversize message is dropped with a log line, not the link.
      maxPayload: LINK_FRAME_CEILING_BYTES,
      handshakeTimeout: this.opts.config.requestTimeoutMs,
    });
    this.ws = ws;
    const log = this.opts.logger;
    ws.on('open', () => {
      opened = true;
      this.attempt = 0;
      log.info('linked to the hub');
      this.opts.onState?.(true);
      this.handler?.onConnected();
      this.report();
    });
    ws.on('message', (data: Buffer, isBinary) => {
      if (isBinary) return;
      try {
        this.handler?.onHubMessage(decodeHubToEdge(data.toString('utf8')));
      } catch (err) {
        log.warn(
          { code: errorCode(err) ?? 'PROTOCOL_MALFORMED_FRAME', err: errorMessage(err) },
          'bad message from the hub ignored',
        );
      }
    });
    ws.on('unexpected-response', (_req, res) => {
      const code = String(res.headers[HUB_ERROR_HEADER] ?? `HTTP_${res.statusCode}`);
      if (code === 'HUB_NOT_LEADER') {
        // A standby: on to the leader it names (when it is one of ours) or the next hub, without waiting.
        standby = true;
        const leader = res.headers[HUB_LEADER_HEADER];
        this.hubs.moveOn(base, typeof leader === 'string' ? leader : undefined);
        log.info({ hub: base, leader }, 'that hub is a standby; linking to the leader');
      } else if (this.refusalLog.allow(code))
        log.error({ status: res.statusCode, code }, 'hub refused the link');
      ws.terminate();
    });
    ws.on('error', (err) => log.debug({ err: errorMessage(err) }, 'hub link error'));
    ws.on('close', () => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      this.opts.onState?.(false);
      this.handler?.onDisconnected();
      if (this.closed) return;
      // A hub that never let us in: the next one is tried (a lone hub is simply tried again).
      if (!opened && !standby) this.hubs.moveOn(base);
      this.attempt++;
      // Each hub of a group once quickly (one of them leads); then the usual backoff.
      const delay =
        this.attempt < this.hubs.count
          ? 50
          : Math.min(this.opts.config.reconnectBackoffMaxMs, 100 * 2 ** Math.min(this.attempt, 10));
      if (this.attempt === 1) log.warn('hub link lost; chat is reconnecting (video is unaffected)');
      this.timer = setTimeout(() => this.connect(), delay);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.refusalLog.close();
    clearInterval(this.reportTimer);
    if (this.timer) clearTimeout(this.timer);
    const ws = this.ws;
    this.ws = undefined;
    if (ws && ws.readyState !== WebSocket.CLOSED) {
      await new Promise<void>((resolve) => {
        ws.once('close', () => resolve());
        ws.close(1001, 'edge shutting down');
        setTimeout(() => {
          ws.terminate();
          resolve();
        }, 500).unref();
      });
    }
  }
}
