/**
 * Transport: the connection from a relay to its parent, with the `ws` client. One socket carries every
 * subscribed stream. A parent that stays silent past heartbeatTimeoutMs is declared dead; the client moves
 * to the next parent with backoff and re-subscribes each stream from the last chunk it holds.
 */
import WebSocket from 'ws';
import type { Logger } from '../logging/index.js';
import type { Metrics } from '../metrics/index.js';
import type { UpstreamConfig } from '../config/index.js';
import type { ResumePosition } from '../media.js';
import { errorCode, errorMessage } from '../errors/index.js';
import {
  AUTH_HEADER,
  SUBPROTOCOL,
  FrameType,
  createClusterToken,
  decodeFrame,
  encodeHeartbeat,
  encodeSubscribe,
  encodeUnsubscribe,
  patchSentTime,
} from '../protocol/index.js';
import type { UpstreamClient, UpstreamHandler } from './relay-node.js';

export interface WsUpstreamOptions {
  nodeId: string;
  clusterSecret: string;
  config: UpstreamConfig;
  maxFrameBytes: number;
  handler: UpstreamHandler;
  logger: Logger;
  metrics: Metrics;
  /** Parents to try, in order; a function so discovery can change the list between attempts. */
  parents?: () => string[];
}

export class WsUpstreamClient implements UpstreamClient {
  private ws: WebSocket | undefined;
  private readonly subs = new Map<string, () => ResumePosition[]>();
  private parentIndex = 0;
  private attempt = 0;
  private lastSeen = 0;
  private heartbeat: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private closed = false;
  connected = false;
  currentParent: string | undefined;

  constructor(private readonly opts: WsUpstreamOptions) {}

  private parents(): string[] {
    return this.opts.parents ? this.opts.parents() : this.opts.config.parents;
  }

  /** Connects at once (not only on the first subscribe) so the directory flows and failover is warm. */
  start(): void {
    this.connectSoon(0);
  }

  subscribe(stream: string, resume: () => ResumePosition[]): void {
    this.subs.set(stream, resume);
    if (this.connected) this.send(encodeSubscribe(stream, resume()));
    else this.connectSoon(0);
  }

  unsubscribe(stream: string): void {
    if (!this.subs.delete(stream)) return;
    if (this.connected) this.send(encodeUnsubscribe(stream));
  }

  private send(frame: Buffer): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(frame);
  }

  private connectSoon(delayMs: number): void {
    if (this.closed || this.ws || this.reconnectTimer) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.connect();
    }, delayMs);
  }

  private connect(): void {
    const parents = this.parents();
    if (parents.length === 0) {
      this.opts.logger.error('no parent configured; cannot pull streams');
      this.connectSoon(this.opts.config.backoffMaxMs);
      return;
    }
    const url = parents[this.parentIndex % parents.length]!;
    const base = url.replace(/\/+$/, '');
    const log = this.opts.logger.child({ parent: base });
    const ws = new WebSocket(`${base}/cluster`, SUBPROTOCOL, {
      headers: { [AUTH_HEADER]: createClusterToken(this.opts.clusterSecret, this.opts.nodeId) },
      handshakeTimeout: this.opts.config.heartbeatTimeoutMs * 3,
      maxPayload: this.opts.maxFrameBytes,
      perMessageDeflate: false,
    });
    this.ws = ws;
    this.lastSeen = Date.now();
    ws.binaryType = 'nodebuffer';

    ws.on('open', () => {
      this.connected = true;
      this.currentParent = base;
      this.attempt = 0;
      this.lastSeen = Date.now();
      this.opts.metrics.upstreamConnected.set(1);
      log.info({ streams: this.subs.size }, 'connected to parent');
      for (const [stream, resume] of this.subs) this.send(encodeSubscribe(stream, resume()));
      this.heartbeat = setInterval(() => this.tick(log), this.opts.config.heartbeatIntervalMs);
    });
    ws.on('unexpected-response', (_req, res) => {
      log.error({ status: res.statusCode, reason: res.headers['x-tiercast-error'] }, 'parent refused the connection');
      ws.terminate();
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      this.lastSeen = Date.now();
      if (!isBinary) return;
      this.onFrame(data, log);
    });
    ws.on('error', (err) => log.warn({ err: errorMessage(err) }, 'parent connection error'));
    ws.on('close', (code, reason) => {
      if (this.ws !== ws) return;
      this.teardown();
      if (this.closed) return;
      const r = reason.toString();
      log.warn({ code, reason: r }, 'parent connection closed; trying the next parent');
      this.opts.metrics.upstreamReconnects.inc();
      this.parentIndex++;
      this.attempt++;
      const backoff = Math.min(this.opts.config.backoffMaxMs, this.opts.config.backoffInitialMs * 2 ** Math.max(0, this.attempt - 1));
      // The first retry goes at once to the next parent: failover speed matters more than politeness.
      this.connectSoon(this.attempt <= 1 ? 0 : backoff);
    });
  }

  private onFrame(data: Buffer, log: Logger): void {
    const now = Date.now();
    try {
      const f = decodeFrame(data, { maxFrameBytes: this.opts.maxFrameBytes });
      const h = this.opts.handler;
      switch (f.type) {
        case FrameType.MEDIA_CHUNK:
          this.opts.metrics.hopLatency.observe(Math.max(0, now - f.chunk.sentTime) / 1000);
          this.opts.metrics.ingressLatency.observe(Math.max(0, now - f.chunk.ingressTime) / 1000);
          patchSentTime(data, now);
          f.chunk.sentTime = now;
          h.onChunk(f.chunk, data);
          break;
        case FrameType.INIT_SEGMENT:
          h.onInit(f.init, data);
          break;
        case FrameType.STREAM_START:
          h.onStreamStart(f.info);
          break;
        case FrameType.STREAM_END:
          h.onStreamEnd(f.stream, f.reason, f.code);
          break;
        case FrameType.ERROR:
          log.warn({ code: f.code, stream: f.stream }, `parent reported an error: ${f.message}`);
          break;
        case FrameType.DIRECTORY:
          h.onDirectory(f.entries);
          break;
        case FrameType.HEARTBEAT:
          break;
        default:
          log.warn({ type: f.type }, 'unexpected frame from parent ignored');
      }
    } catch (err) {
      this.opts.metrics.protocolErrors.inc({ code: errorCode(err) ?? 'UNKNOWN' });
      log.error({ code: errorCode(err), err: errorMessage(err) }, 'bad frame from parent; reconnecting');
      this.ws?.terminate();
    }
  }

  private tick(log: Logger): void {
    if (Date.now() - this.lastSeen > this.opts.config.heartbeatTimeoutMs) {
      log.warn({ silentMs: Date.now() - this.lastSeen }, 'parent heartbeat timeout');
      this.ws?.terminate();
      return;
    }
    this.send(encodeHeartbeat(Date.now()));
  }

  private teardown(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    this.ws = undefined;
    this.connected = false;
    this.opts.metrics.upstreamConnected.set(0);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    const ws = this.ws;
    this.teardown();
    if (ws && ws.readyState !== WebSocket.CLOSED) {
      await new Promise<void>((resolve) => {
        ws.once('close', () => resolve());
        ws.close(1001, 'node shutting down');
        setTimeout(() => {
          ws.terminate();
          resolve();
        }, 500).unref();
      });
    }
  }
}
