/**
 * RTMP ingest server (publish side only): a net.Server that runs one RtmpSession per connection.
 *
 * Limits: a connection must finish the handshake within `handshakeTimeoutMs` and may not stay silent
 * longer than `idleTimeoutMs` (a live publisher sends media many times a second, so silence means a
 * dead peer or a port scanner); messages above `maxMessageBytes` close the connection. A protocol
 * error closes only the connection that caused it.
 *
 * Closing: `close()` is idempotent; it stops accepting, closes every session (which closes its
 * PublishSink with reason "server closing") and resolves when the listening socket is closed.
 */
import net from 'node:net';
import type { Logger } from '../../common/logging/index.js';
import { createLogger } from '../../common/logging/index.js';
import { errorMessage } from '../../common/errors/index.js';
import { DEFAULT_MAX_MESSAGE_BYTES } from './chunk-stream.js';
import { RtmpSession } from './rtmp-session.js';
import type { PublishRequest, PublishSink } from './types.js';

export type { FlvTag, PublishRequest, PublishSink } from './types.js';

export interface RtmpServerOptions {
  host: string;
  port: number;
  maxMessageBytes?: number;
  /** called on `publish`; resolve a sink to accept, or throw a TiercastError (code BAD_STREAM_KEY or STREAM_ALREADY_LIVE) to refuse */
  onPublish(req: PublishRequest): Promise<PublishSink>;
  logger?: Logger;
  /** Application names accepted in `connect` (the first path segment of the RTMP URL). Default ['live']. */
  apps?: string[];
  /** Default 10 000 ms. */
  handshakeTimeoutMs?: number;
  /** Default 30 000 ms. */
  idleTimeoutMs?: number;
}

const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;
const DEFAULT_IDLE_TIMEOUT_MS = 30_000;

export class RtmpServer {
  private readonly server: net.Server;
  private readonly sessions = new Set<RtmpSession>();
  private readonly log: Logger;
  private closing: Promise<void> | undefined;

  private constructor(private readonly opts: RtmpServerOptions) {
    this.log = opts.logger ?? createLogger('rtmp-server');
    this.server = net.createServer((socket) => this.onConnection(socket));
  }

  /** Starts listening; resolves once bound (port 0 picks a free port, see `port`). */
  static async create(opts: RtmpServerOptions): Promise<RtmpServer> {
    const s = new RtmpServer(opts);
    await s.listen();
    return s;
  }

  /** The bound port. */
  get port(): number {
    const addr = this.server.address();
    if (addr === null || typeof addr === 'string')
      throw new Error('RTMP server is not listening on a TCP port');
    return addr.port;
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  private listen(): Promise<void> {
    const { host, port } = this.opts;
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => {
        reject(new Error(`RTMP server could not listen on ${host}:${port}: ${err.message}`, { cause: err }));
      };
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        this.server.on('error', (err) => this.log.error({ err: err.message }, 'RTMP server error'));
        this.log.info({ host, port: this.port }, 'RTMP server listening');
        resolve();
      });
    });
  }

  /** Idempotent. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      // The callback's error only says the server was not listening, which is fine when closing.
      this.server.close(() => resolve());
      for (const session of [...this.sessions]) session.close('server closing');
    }).then(() => {
      this.server.removeAllListeners();
      this.log.info('RTMP server closed');
    });
    return this.closing;
  }

  private onConnection(socket: net.Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    const ip = socket.remoteAddress ?? 'unknown';
    const log = this.log.child({ remote: `${ip}:${socket.remotePort ?? 0}` });
    socket.setNoDelay(true);
    const session = new RtmpSession({
      transport: {
        remoteAddress: ip,
        write: (data) => {
          if (!socket.destroyed) socket.write(data);
        },
        destroy: () => socket.destroy(),
      },
      onPublish: (req) => this.opts.onPublish(req),
      apps: this.opts.apps ?? ['live'],
      maxMessageBytes: this.opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
      handshakeTimeoutMs: this.opts.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
      logger: log,
      onClosed: (s) => this.sessions.delete(s),
    });
    this.sessions.add(session);
    log.debug('connection accepted');

    socket.setTimeout(this.opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS);
    socket.on('timeout', () => {
      log.info('connection idle; closing');
      session.close('idle timeout');
    });
    socket.on('data', (data: Buffer) => session.onData(data));
    // ECONNRESET and friends: routine for publishers that quit; 'close' follows.
    socket.on('error', (err) => log.debug({ err: errorMessage(err) }, 'socket error'));
    socket.on('close', () => session.close('disconnected'));
  }
}
