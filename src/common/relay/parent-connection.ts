/**
 * Transport: one WebSocket from this relay to one parent (`ws` client). It carries the streams the
 * UpstreamPool assigned to it, sends heartbeats and declares the parent dead after heartbeatTimeoutMs of
 * silence. It never reconnects by itself: the pool decides where each stream goes next.
 */
import WebSocket from 'ws';
import type { Logger } from '../logging/index.js';
import type { Metrics } from '../metrics/index.js';
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
  type DirectoryEntry,
} from '../protocol/index.js';
import type { UpstreamHandler } from './relay-node.js';

/** Header naming the requesting node, so a parent at capacity or in a loop can refuse it by name. */
export const NODE_HEADER = 'x-tiercast-node';

export interface ParentConnectionOptions {
  url: string;
  nodeId: string;
  clusterSecret: string;
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  maxFrameBytes: number;
  /** Trusted roots for a wss:// parent (the system's plus `upstream.ca`); unset: the system's. */
  ca?: readonly (string | Buffer)[];
  handler: UpstreamHandler;
  logger: Logger;
  metrics: Metrics;
  /** Whether a line about a repeated event (`key`: what and which parent) may be logged now. */
  logAllowed?(key: string): boolean;
  onOpen(conn: ParentConnection): void;
  /** Closed, refused or silent: `code` is the parent's refusal code when it gave one. */
  onDead(conn: ParentConnection, reason: string, code?: string): void;
  onDirectory(conn: ParentConnection, entries: DirectoryEntry[]): void;
}

export class ParentConnection {
  private ws: WebSocket;
  private readonly streams = new Map<string, { resume: () => ResumePosition[]; path: string[] }>();
  private lastSeen = Date.now();
  private heartbeat: NodeJS.Timeout | undefined;
  private dead = false;
  open = false;
  directory: DirectoryEntry[] = [];

  constructor(private readonly opts: ParentConnectionOptions) {
    const log = opts.logger.child({ parent: opts.url });
    this.ws = new WebSocket(`${opts.url.replace(/\/+$/, '')}/cluster`, SUBPROTOCOL, {
      headers: {
        [AUTH_HEADER]: createClusterToken(opts.clusterSecret, opts.nodeId, 'relay'),
        [NODE_HEADER]: opts.nodeId,
      },
      handshakeTimeout: opts.heartbeatTimeoutMs * 3,
      maxPayload: opts.maxFrameBytes,
      perMessageDeflate: false,
      ...(opts.ca ? { ca: [...opts.ca] } : {}),
    });
    const ws = this.ws;
    ws.binaryType = 'nodebuffer';
    ws.on('open', () => {
      this.open = true;
      this.lastSeen = Date.now();
      log.info({ streams: this.streams.size }, 'connected to parent');
      for (const [stream, s] of this.streams) ws.send(encodeSubscribe(stream, s.resume(), s.path));
      this.heartbeat = setInterval(() => this.tick(log), opts.heartbeatIntervalMs);
      opts.onOpen(this);
    });
    ws.on('unexpected-response', (_req, res) => {
      const code = String(res.headers['x-tiercast-error'] ?? `HTTP_${res.statusCode}`);
      if (opts.logAllowed?.(`refused ${opts.url} ${code}`) ?? true)
        log.warn({ status: res.statusCode, code }, 'parent refused the connection');
      this.die(`refused: ${code}`, code);
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      this.lastSeen = Date.now();
      if (isBinary) this.onFrame(data, log);
    });
    ws.on('error', (err) => log.debug({ err: errorMessage(err) }, 'parent connection error'));
    ws.on('close', (code, reason) =>
      this.die(`closed ${code} ${reason.toString()}`.trim(), code === 4008 ? 'SLOW_CONSUMER' : undefined),
    );
  }

  get url(): string {
    return this.opts.url;
  }

  get streamCount(): number {
    return this.streams.size;
  }

  hasStream(stream: string): boolean {
    return this.streams.has(stream);
  }

  streamNames(): string[] {
    return [...this.streams.keys()];
  }

  add(stream: string, resume: () => ResumePosition[], path: string[]): void {
    this.streams.set(stream, { resume, path });
    if (this.open) this.ws.send(encodeSubscribe(stream, resume(), path));
  }

  remove(stream: string): void {
    if (!this.streams.delete(stream)) return;
    if (this.open) this.ws.send(encodeUnsubscribe(stream));
  }

  private onFrame(data: Buffer, log: Logger): void {
    const now = Date.now();
    const arrived = performance.now();
    const cpuAtArrival = process.cpuUsage();
    try {
      const f = decodeFrame(data, { maxFrameBytes: this.opts.maxFrameBytes });
      const h = this.opts.handler;
      switch (f.type) {
        case FrameType.MEDIA_CHUNK:
          // A chunk for a stream this connection no longer carries (reassigned) is ignored.
          if (!this.streams.has(f.chunk.stream)) return;
          this.opts.metrics.hopLatency.observe(Math.max(0, now - f.chunk.sentTime) / 1000);
          this.opts.metrics.ingressLatency.observe(Math.max(0, now - f.chunk.ingressTime) / 1000);
          patchSentTime(data, now);
          f.chunk.sentTime = now;
          h.onChunk(f.chunk, data);
          this.opts.metrics.relayForward.observe((performance.now() - arrived) / 1000);
          const cpu = process.cpuUsage(cpuAtArrival);
          this.opts.metrics.relayForwardCpu.observe((cpu.user + cpu.system) / 1e6);
          return;
        case FrameType.INIT_SEGMENT:
          if (this.streams.has(f.init.stream)) h.onInit(f.init, data);
          return;
        case FrameType.STREAM_START:
          if (this.streams.has(f.info.name)) h.onStreamStart(f.info);
          return;
        case FrameType.STREAM_END:
          if (this.streams.has(f.stream)) h.onStreamEnd(f.stream, f.reason, f.code);
          return;
        case FrameType.DIRECTORY:
          this.directory = f.entries;
          this.opts.onDirectory(this, f.entries);
          return;
        case FrameType.ERROR:
          log.warn({ code: f.code, stream: f.stream }, `parent reported an error: ${f.message}`);
          return;
        case FrameType.HEARTBEAT:
          return;
        default:
          log.warn({ type: f.type }, 'unexpected frame from parent ignored');
      }
    } catch (err) {
      this.opts.metrics.protocolErrors.inc({ code: errorCode(err) ?? 'UNKNOWN' });
      log.error(
        { code: errorCode(err), err: errorMessage(err) },
        'bad frame from parent; dropping this parent',
      );
      this.ws.terminate();
    }
  }

  private tick(log: Logger): void {
    const silent = Date.now() - this.lastSeen;
    if (silent > this.opts.heartbeatTimeoutMs) {
      log.warn({ silentMs: silent, code: 'UPSTREAM_TIMEOUT' }, 'parent heartbeat timeout');
      this.ws.terminate();
      return;
    }
    if (this.open) this.ws.send(encodeHeartbeat(Date.now()));
  }

  private die(reason: string, code?: string): void {
    if (this.dead) return;
    this.dead = true;
    this.open = false;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.opts.onDead(this, reason, code);
  }

  /** Closes without reporting death (the pool is done with it). */
  close(): Promise<void> {
    this.dead = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    const ws = this.ws;
    if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise<void>((resolve) => {
      ws.once('close', () => resolve());
      if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
      else ws.close(1001, 'node shutting down');
      setTimeout(() => {
        ws.terminate();
        resolve();
      }, 500).unref();
    });
  }
}
