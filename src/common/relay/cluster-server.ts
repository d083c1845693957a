/**
 * Transport: the `/cluster` WebSocket route a parent offers its children. The upgrade is refused unless the
 * child speaks our protocol version (subprotocol) and proves the cluster secret (HMAC token header).
 * Each child socket is a StreamSubscriber per stream it subscribed; relay logic lives in RelayNode.
 */
import { createLogRateLimiter, type LogRateLimiter } from '../logging/rate-limit.js';
import type uWS from 'uWebSockets.js';
import type { ClusterServerConfig } from '../config/index.js';
import type { Logger } from '../logging/index.js';
import type { Metrics } from '../metrics/index.js';
import type { StreamInfo } from '../media.js';
import { ProtocolError, errorCode, errorMessage } from '../errors/index.js';
import {
  AUTH_HEADER,
  CloseCode,
  FrameType,
  SUBPROTOCOL,
  closeCodeFor,
  decodeFrame,
  encodeDirectory,
  encodeHeartbeat,
  patchSentTime,
  verifyClusterToken,
} from '../protocol/index.js';
import type { App } from '../http/uws-server.js';
import type { RelayNode } from './relay-node.js';
import type { CachedChunk, CachedInit } from './rendition-cache.js';
import type { StreamSubscriber } from './stream-relay.js';

interface ChildData {
  nodeId: string;
  remote: string;
  subs: Map<string, StreamSubscriber>;
  closed: boolean;
}

type ChildSocket = uWS.WebSocket<ChildData>;

export interface ClusterServerOptions {
  /** This node's id: a subscription whose path already contains it is a loop and is refused. */
  nodeId: string;
  clusterSecret: string;
  config: ClusterServerConfig;
  heartbeatIntervalMs: number;
  relay: RelayNode;
  logger: Logger;
  metrics: Metrics;
}

export class ClusterServer {
  private readonly children = new Set<ChildSocket>();
  private readonly heartbeat: NodeJS.Timeout;
  /** A child refused for a reason it cannot fix by retrying logs one line a minute per address and code. */
  private readonly refusalLog: LogRateLimiter;

  constructor(
    app: App,
    private readonly opts: ClusterServerOptions,
  ) {
    const log = opts.logger;
    this.refusalLog = createLogRateLimiter(log, {
      maxPerWindow: 1,
      windowMs: 60_000,
      what: 'repeated child refusals',
    });
    app.ws<ChildData>('/cluster', {
      maxPayloadLength: opts.config.maxFrameBytes,
      maxBackpressure: opts.config.maxBackpressureBytes * 2,
      idleTimeout: opts.config.idleTimeoutS,
      sendPingsAutomatically: true,
      upgrade: (res, req, context) => {
        const protocols = req.getHeader('sec-websocket-protocol');
        const token = req.getHeader(AUTH_HEADER);
        const key = req.getHeader('sec-websocket-key');
        const ext = req.getHeader('sec-websocket-extensions');
        const remote = Buffer.from(res.getRemoteAddressAsText()).toString();
        const offered = protocols.split(',').map((p) => p.trim());
        if (!offered.includes(SUBPROTOCOL)) {
          log.warn(
            { remote, offered: protocols.slice(0, 64), code: 'PROTOCOL_VERSION_MISMATCH' },
            'child refused: protocol version',
          );
          opts.metrics.protocolErrors.inc({ code: 'PROTOCOL_VERSION_MISMATCH' });
          res.cork(() => {
            res
              .writeStatus('426 Upgrade Required')
              .writeHeader('x-tiercast-error', 'PROTOCOL_VERSION_MISMATCH');
            res.end(`this node speaks ${SUBPROTOCOL}`);
          });
          return;
        }
        const check = verifyClusterToken(opts.clusterSecret, token, 'relay');
        if (!check.ok) {
          if (this.refusalLog.allow(`CLUSTER_AUTH_FAILED ${remote}`))
            log.warn(
              { remote, code: 'CLUSTER_AUTH_FAILED', reason: check.reason },
              'child refused: cluster authentication',
            );
          opts.metrics.protocolErrors.inc({ code: 'CLUSTER_AUTH_FAILED' });
          res.cork(() => {
            res.writeStatus('401 Unauthorized').writeHeader('x-tiercast-error', 'CLUSTER_AUTH_FAILED');
            res.end('cluster authentication failed');
          });
          return;
        }
        if (this.children.size >= opts.config.maxChildren) {
          log.warn(
            { remote, child: check.nodeId, code: 'PARENT_AT_CAPACITY', children: this.children.size },
            'child refused: at capacity',
          );
          res.cork(() => {
            res.writeStatus('503 Service Unavailable').writeHeader('x-tiercast-error', 'PARENT_AT_CAPACITY');
            res.end('this parent is at capacity; try another');
          });
          return;
        }
        res.upgrade<ChildData>(
          { nodeId: check.nodeId, remote, subs: new Map(), closed: false },
          key,
          SUBPROTOCOL,
          ext,
          context,
        );
      },
      open: (ws) => {
        this.children.add(ws);
        const d = ws.getUserData();
        log.info({ child: d.nodeId, remote: d.remote }, 'child connected');
        ws.send(encodeDirectory(opts.relay.directory), true);
      },
      message: (ws, message, isBinary) => {
        if (!isBinary)
          return this.kill(ws, CloseCode.MALFORMED_FRAME, 'text frames are not part of the protocol');
        this.onFrame(ws, Buffer.from(message));
      },
      drain: () => undefined,
      close: (ws, code) => {
        const d = ws.getUserData();
        d.closed = true;
        this.children.delete(ws);
        for (const [stream, sub] of d.subs) opts.relay.detach(stream, sub);
        this.updateGauge();
        log.info({ child: d.nodeId, code }, 'child disconnected');
      },
    });
    this.heartbeat = setInterval(() => {
      const frame = encodeHeartbeat(Date.now());
      for (const ws of this.children) ws.send(frame, true);
    }, opts.heartbeatIntervalMs);
    this.heartbeat.unref();
    this.unlistenDirectory = opts.relay.onDirectoryChange((entries) => {
      const frame = encodeDirectory(entries);
      for (const ws of this.children) if (!ws.getUserData().closed) ws.send(frame, true);
    });
  }

  private readonly unlistenDirectory: () => void;

  private onFrame(ws: ChildSocket, data: Buffer): void {
    const d = ws.getUserData();
    try {
      const f = decodeFrame(data, { maxFrameBytes: this.opts.config.maxFrameBytes });
      switch (f.type) {
        case FrameType.SUBSCRIBE: {
          if (d.subs.has(f.stream)) return;
          if (f.path?.includes(this.opts.nodeId) || d.nodeId === this.opts.nodeId) {
            this.opts.metrics.protocolErrors.inc({ code: 'PARENT_LOOP' });
            this.opts.logger.error(
              { child: d.nodeId, stream: f.stream, path: f.path, code: 'PARENT_LOOP' },
              'subscription refused: loop in the parents',
            );
            this.kill(ws, CloseCode.PARENT_LOOP, `PARENT_LOOP: ${this.opts.nodeId} is already on the path`);
            return;
          }
          const sub = this.subscriberFor(ws, f.stream);
          d.subs.set(f.stream, sub);
          // Debug: a child subscribes on behalf of any viewer request, for unknown names too.
          this.opts.logger.debug(
            { child: d.nodeId, stream: f.stream, resume: f.resume?.length ?? 0 },
            'child subscribed',
          );
          this.opts.relay.attach(f.stream, sub, f.resume, f.path ?? [d.nodeId]);
          this.updateGauge();
          return;
        }
        case FrameType.UNSUBSCRIBE: {
          const sub = d.subs.get(f.stream);
          if (sub) {
            d.subs.delete(f.stream);
            this.opts.relay.detach(f.stream, sub);
            this.updateGauge();
          }
          return;
        }
        case FrameType.HEARTBEAT:
          return;
        default:
          throw new ProtocolError(
            'PROTOCOL_MALFORMED_FRAME',
            `frame type ${f.type} is not accepted from a child`,
            { child: d.nodeId },
          );
      }
    } catch (err) {
      const code = errorCode(err) ?? 'PROTOCOL_MALFORMED_FRAME';
      this.opts.metrics.protocolErrors.inc({ code });
      this.opts.logger.warn(
        { child: d.nodeId, code, err: errorMessage(err) },
        'closing child after a bad frame',
      );
      this.kill(ws, closeCodeFor(code), `${code}: ${errorMessage(err)}`.slice(0, 120));
    }
  }

  private subscriberFor(ws: ChildSocket, stream: string): StreamSubscriber {
    const d = ws.getUserData();
    const m = this.opts.metrics;
    const sendOrKill = (frame: Buffer): void => {
      if (d.closed) return;
      ws.send(frame, true);
      // A relay child must get every chunk; past the ceiling it is cut and resumes from its position.
      if (ws.getBufferedAmount() > this.opts.config.maxBackpressureBytes) {
        m.chunksDropped.inc({ stream, reason: 'slow_child' });
        this.opts.logger.warn(
          { child: d.nodeId, stream, buffered: ws.getBufferedAmount() },
          'child too slow; disconnecting',
        );
        this.kill(ws, CloseCode.SLOW_CONSUMER, 'SLOW_CONSUMER: backpressure ceiling reached');
      }
    };
    return {
      onInfo: (_info: StreamInfo, frame: Buffer) => sendOrKill(frame),
      onInit: (_r: string, init: CachedInit) => sendOrKill(init.frame),
      onChunk: (c: CachedChunk, replay?: boolean) => {
        // The child measures the hop from the frame's sent time: a chunk from the cache is restamped (on a
        // copy; the cached frame is shared) so its age in the cache is not counted as time on the wire.
        let frame = c.frame;
        if (replay) {
          frame = Buffer.from(c.frame);
          patchSentTime(frame, Date.now());
        }
        sendOrKill(frame);
        m.bytesOut.inc({ stream, transport: 'cluster' }, c.frame.length);
      },
      onEnd: (_reason: string, _code: string | undefined, frame: Buffer) => sendOrKill(frame),
    };
  }

  private kill(ws: ChildSocket, code: number, reason: string): void {
    const d = ws.getUserData();
    if (d.closed) return;
    d.closed = true;
    ws.end(code, reason);
  }

  private updateGauge(): void {
    const counts = new Map<string, number>();
    for (const ws of this.children)
      for (const s of ws.getUserData().subs.keys()) counts.set(s, (counts.get(s) ?? 0) + 1);
    this.opts.metrics.subscribers.reset();
    for (const [s, n] of counts) this.opts.metrics.subscribers.set({ stream: s }, n);
  }

  /** Children connected: the load a parent reports to discovery. */
  get childCount(): number {
    return this.children.size;
  }

  close(): void {
    clearInterval(this.heartbeat);
    this.refusalLog.close();
    this.unlistenDirectory();
    for (const ws of [...this.children]) this.kill(ws, CloseCode.GOING_AWAY, 'node shutting down');
  }
}
