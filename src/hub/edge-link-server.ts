/**
 * Transport: the hub's side of the edge links (`/internal/edge`, cluster-authenticated). Decodes what
 * edges send and hands it to the ChatHub and the Directory; implements ChatOutput by sending to edges.
 * A broadcast is serialised once and sent to every edge (each fans out to its local viewers).
 */
import { createLogRateLimiter, type LogRateLimiter } from '../common/logging/rate-limit.js';
import type uWS from 'uWebSockets.js';
import type { Logger } from '../common/logging/index.js';
import type { Metrics } from '../common/metrics/index.js';
import { errorCode, errorMessage } from '../common/errors/index.js';
import {
  AUTH_HEADER,
  CloseCode,
  HUB_SUBPROTOCOL,
  LINK_FRAME_CEILING_BYTES,
  decodeEdgeToHub,
  directoryPages,
  encodeLinkChecked,
  verifyClusterToken,
  type EdgeToHub,
  type HubToEdge,
} from '../common/protocol/index.js';
import type { ChatSizeLimits } from '../common/chat/index.js';
import type { App } from '../common/http/uws-server.js';
import { SafeEmitter, callSafely, type EventMap } from '../common/events/safe-emitter.js';
import type { ChatEvent, ConnRef } from './chat/events.js';
import type { DirectoryEntryView } from './directory.js';

/** What edges send, as events (the chat hub and the directory subscribe; a throwing listener is logged). */
export interface EdgeLinkEvents extends EventMap {
  join: [ref: ConnRef, channel: string, identity: { session?: string; guestName?: string; ip: string }];
  leave: [ref: ConnRef];
  act: [
    ref: ConnRef,
    action: { type: 'send'; text: string; id?: string } | { type: 'draw'; image: string; id?: string },
    origin: string | undefined,
  ];
  viewers: [edge: string, counts: Record<string, number>];
  /** Analytics (issue 16): the edge's audience by stream and transport, and viewers who joined. */
  audience: [edge: string, report: Extract<EdgeToHub, { t: 'audience' }>];
  edgeGone: [edge: string];
}

/** What a newly connected edge is told first. */
export interface EdgeLinkGreeting {
  /** The directory to send a newly connected edge. */
  directory(): DirectoryEntryView[];
  /** Per live stream being recorded, its broadcast (sent after the directory). */
  recordings(): Record<string, string>;
  /** The chat limits this hub enforces, announced to each edge so it refuses oversize messages first. */
  chatLimits(): ChatSizeLimits;
}

interface EdgeData {
  edge: string;
  closed: boolean;
}

export class EdgeLinkServer extends SafeEmitter<EdgeLinkEvents> {
  private readonly edges = new Map<string, uWS.WebSocket<EdgeData>>();
  /** An edge with the wrong secret retries forever: one line a minute per address, not one per try. */
  private readonly refusalLog: LogRateLimiter;

  constructor(
    app: App,
    private readonly opts: {
      clusterSecret: string;
      logger: Logger;
      metrics: Metrics;
      greeting: EdgeLinkGreeting;
      idleTimeoutS: number;
      /** Answers an upgrade this hub must refuse (a standby: 503 HUB_NOT_LEADER); true when it did. */
      refuse?: (res: uWS.HttpResponse) => boolean;
    },
  ) {
    super(opts.logger, { module: 'edge-link' });
    const log = opts.logger;
    this.refusalLog = createLogRateLimiter(log, {
      maxPerWindow: 1,
      windowMs: 60_000,
      what: 'repeated edge link refusals',
    });
    app.ws<EdgeData>('/internal/edge', {
      // Above the sending limit: an oversize message from an edge is dropped with a log line, not the link.
      maxPayloadLength: LINK_FRAME_CEILING_BYTES,
      maxBackpressure: 64 * 1024 * 1024,
      idleTimeout: opts.idleTimeoutS,
      sendPingsAutomatically: true,
      upgrade: (res, req, context) => {
        const token = req.getHeader(AUTH_HEADER);
        const protocols = req.getHeader('sec-websocket-protocol');
        const key = req.getHeader('sec-websocket-key');
        const ext = req.getHeader('sec-websocket-extensions');
        const remote = Buffer.from(res.getRemoteAddressAsText()).toString();
        if (opts.refuse?.(res)) return;
        if (
          !protocols
            .split(',')
            .map((p) => p.trim())
            .includes(HUB_SUBPROTOCOL)
        ) {
          log.warn({ remote, code: 'PROTOCOL_VERSION_MISMATCH' }, 'edge link refused: protocol version');
          res.cork(() =>
            res
              .writeStatus('426 Upgrade Required')
              .writeHeader('x-tiercast-error', 'PROTOCOL_VERSION_MISMATCH')
              .end(),
          );
          return;
        }
        const check = verifyClusterToken(opts.clusterSecret, token, 'hub-link');
        if (!check.ok) {
          if (this.refusalLog.allow(`CLUSTER_AUTH_FAILED ${remote}`))
            log.warn({ remote, code: 'CLUSTER_AUTH_FAILED', reason: check.reason }, 'edge link refused');
          opts.metrics.protocolErrors.inc({ code: 'CLUSTER_AUTH_FAILED' });
          res.cork(() =>
            res.writeStatus('401 Unauthorized').writeHeader('x-tiercast-error', 'CLUSTER_AUTH_FAILED').end(),
          );
          return;
        }
        res.upgrade<EdgeData>({ edge: check.nodeId, closed: false }, key, HUB_SUBPROTOCOL, ext, context);
      },
      open: (ws) => {
        const d = ws.getUserData();
        const old = this.edges.get(d.edge);
        if (old) {
          // The same edge reconnected before its old socket timed out: the new link wins.
          old.getUserData().closed = true;
          old.end(CloseCode.GOING_AWAY, 'replaced by a newer link from the same edge');
          this.safeEmit('edgeGone', d.edge);
        }
        this.edges.set(d.edge, ws);
        log.info({ edge: d.edge }, 'edge linked');
        this.sendTo([ws], { t: 'limits', chat: opts.greeting.chatLimits() });
        // The store may be away (PostgreSQL restarting): the directory then comes with the next push.
        callSafely(log, 'directory greeting failed', { edge: d.edge }, () => {
          for (const m of directoryPages(opts.greeting.directory())) this.sendTo([ws], m);
          this.sendTo([ws], { t: 'recordings', streams: opts.greeting.recordings() });
        });
      },
      message: (ws, message, isBinary) => {
        const d = ws.getUserData();
        if (isBinary) return;
        try {
          const m = decodeEdgeToHub(Buffer.from(message).toString('utf8'));
          switch (m.t) {
            case 'join':
              this.safeEmit('join', { edge: d.edge, conn: m.conn }, m.channel, m.identity);
              return;
            case 'leave':
              this.safeEmit('leave', { edge: d.edge, conn: m.conn });
              return;
            case 'act':
              this.safeEmit('act', { edge: d.edge, conn: m.conn }, m.action, m.origin);
              return;
            case 'viewers':
              this.safeEmit('viewers', d.edge, m.counts);
              return;
            case 'audience':
              this.safeEmit('audience', d.edge, m);
              return;
          }
        } catch (err) {
          const code = errorCode(err) ?? 'PROTOCOL_MALFORMED_FRAME';
          opts.metrics.protocolErrors.inc({ code });
          log.warn({ edge: d.edge, code, err: errorMessage(err) }, 'bad message from edge ignored');
        }
      },
      close: (ws) => {
        const d = ws.getUserData();
        const wasCurrent = this.edges.get(d.edge) === ws;
        d.closed = true;
        if (!wasCurrent) return;
        this.edges.delete(d.edge);
        this.safeEmit('edgeGone', d.edge);
        log.info({ edge: d.edge }, 'edge link closed');
      },
    });
  }

  broadcast(channel: string, event: ChatEvent): void {
    this.sendTo(this.edges.values(), {
      t: 'broadcast',
      channel,
      event: event as unknown as Record<string, unknown>,
    });
  }

  direct(ref: ConnRef, event: ChatEvent): void {
    const ws = this.edges.get(ref.edge);
    if (ws)
      this.sendTo([ws], { t: 'direct', conn: ref.conn, event: event as unknown as Record<string, unknown> });
  }

  kick(ref: ConnRef, reason: string): void {
    const ws = this.edges.get(ref.edge);
    if (ws) this.sendTo([ws], { t: 'kick', conn: ref.conn, reason });
  }

  /** Tells an edge its actions up to `origin` were handled (after the store has them). */
  ack(edge: string, origin: string): void {
    const ws = this.edges.get(edge);
    if (ws) this.sendTo([ws], { t: 'ack', origin });
  }

  /** The directory, then which live streams are being recorded (the watch page's rewind). */
  publishDirectory(entries: DirectoryEntryView[], recordings: Record<string, string> = {}): void {
    for (const m of directoryPages(entries)) this.sendTo(this.edges.values(), m);
    this.sendTo(this.edges.values(), { t: 'recordings', streams: recordings });
  }

  /**
   * Serialises once and sends to each open link. A message over the link limit would make the edge's socket
   * close the whole link (every viewer's chat on that edge): it is dropped instead, with a log line.
   */
  private sendTo(links: Iterable<uWS.WebSocket<EdgeData>>, m: HubToEdge): void {
    let text: string;
    try {
      text = encodeLinkChecked(m);
    } catch (err) {
      const code = errorCode(err) ?? 'PROTOCOL_FRAME_TOO_LARGE';
      this.opts.metrics.protocolErrors.inc({ code });
      this.opts.logger.error({ code, t: m.t, err: errorMessage(err) }, 'oversize link message dropped');
      return;
    }
    for (const ws of links) if (!ws.getUserData().closed) ws.send(text, false);
  }

  get edgeCount(): number {
    return this.edges.size;
  }

  /** Ends every edge link (they reconnect, to this hub or another); the server goes on accepting. */
  dropAll(reason: string): void {
    const all = [...this.edges];
    this.edges.clear();
    for (const [edge, ws] of all) {
      const d = ws.getUserData();
      if (!d.closed) {
        d.closed = true;
        ws.end(CloseCode.GOING_AWAY, reason);
      }
      this.safeEmit('edgeGone', edge);
    }
  }

  close(): void {
    this.refusalLog.close();
    for (const ws of this.edges.values()) {
      const d = ws.getUserData();
      if (!d.closed) {
        d.closed = true;
        ws.end(CloseCode.GOING_AWAY, 'hub shutting down');
      }
    }
    this.edges.clear();
  }
}
