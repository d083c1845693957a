/**
 * RTMP ingest server (publish side only): a net.Server that runs one RtmpSession per connection.
 *
 * Limits: a connection must finish the handshake within `handshakeTimeoutMs` and may not stay silent
 * longer than `idleTimeoutMs` (a live publisher sends media many times a second, so silence means a
 * dead peer or a port scanner); messages above `maxMessageBytes` close the connection. A protocol
 * error closes only the connection that caused it.
 *
 * Unauthenticated connections (no accepted publish yet) are bounded: at most `pending.maxConnections`
 * at once and `pending.maxPerAddress` per peer address (more are closed at once, RTMP_TOO_MANY_CONNECTIONS:
 * an RTMP client cannot be told why before its handshake), each must get a publish accepted within
 * `pending.timeoutMs`, and each may buffer only a small amount (see PENDING_MAX_MESSAGE_BYTES). Together
 * they bound what strangers can make the node hold. Warnings about a peer are rate-limited per address.
 *
 * Closing: `close()` is idempotent; it stops accepting, closes every session (which closes its
 * PublishSink with reason "server closing") and resolves when the listening socket is closed.
 */
import net from 'node:net';
import tls from 'node:tls';
import { checkTlsFiles, readTlsFiles, reloadOnSignal, type TlsFiles } from '../../common/http/tls-app.js';
import type { Logger } from '../../common/logging/index.js';
import { createLogger } from '../../common/logging/index.js';
import { errorMessage } from '../../common/errors/index.js';
import { DEFAULT_MAX_MESSAGE_BYTES } from './chunk-stream.js';
import { createLogRateLimiter, type LogRateLimiter } from '../../common/logging/rate-limit.js';
import type { ErrorCode } from '../../common/errors/index.js';
import { RtmpSession } from './rtmp-session.js';
import type { PublishControl, PublishRequest, PublishSink } from './types.js';

export type { FlvTag, PublishControl, PublishRequest, PublishSink } from './types.js';

export interface RtmpServerOptions {
  host: string;
  port: number;
  maxMessageBytes?: number;
  /** RTMPS: TLS from these PEM files (reloaded on SIGHUP), the same RTMP inside. */
  tls?: TlsFiles;
  /**
   * called on `publish`; resolve a sink to accept, or throw a TiercastError (code BAD_STREAM_KEY or
   * STREAM_ALREADY_LIVE) to refuse. `control.fail()` ends an accepted publish later, with a reason.
   */
  onPublish(req: PublishRequest, control: PublishControl): Promise<PublishSink>;
  logger?: Logger;
  /** Application names accepted in `connect` (the first path segment of the RTMP URL). Default ['live']. */
  apps?: string[];
  /** Default 10 000 ms. */
  handshakeTimeoutMs?: number;
  /** Default 30 000 ms. */
  idleTimeoutMs?: number;
  /** Limits on connections without an accepted publish; defaults in DEFAULT_PENDING. */
  pending?: Partial<PendingLimits>;
}

export interface PendingLimits {
  maxConnections: number;
  maxPerAddress: number;
  /** Handshake + connect + publish accepted within this. */
  timeoutMs: number;
}

/** The config schema's defaults (rtmpPending), for servers created without them (tests). */
export const DEFAULT_PENDING: PendingLimits = { maxConnections: 64, maxPerAddress: 8, timeoutMs: 10_000 };

const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;
const DEFAULT_IDLE_TIMEOUT_MS = 30_000;

export class RtmpServer {
  private readonly server: net.Server;
  private readonly sessions = new Set<RtmpSession>();
  private readonly log: Logger;
  private closing: Promise<void> | undefined;
  private readonly limits: PendingLimits;
  /** Sessions without an accepted publish, and how many per address. */
  private readonly pending = new Set<RtmpSession>();
  private readonly pendingByAddress = new Map<string, number>();
  private readonly warnings: LogRateLimiter;
  private stopReloading: (() => void) | undefined;

  private constructor(private readonly opts: RtmpServerOptions) {
    this.log = opts.logger ?? createLogger('rtmp-server');
    this.limits = { ...DEFAULT_PENDING, ...opts.pending };
    // Per code and address: 5 lines per 10 s, then one line with the count.
    this.warnings = createLogRateLimiter(this.log, {
      maxPerWindow: 5,
      windowMs: 10_000,
      what: 'RTMP warnings',
    });
    const onSocket = (socket: net.Socket) => this.onConnection(socket);
    if (opts.tls) {
      checkTlsFiles(opts.tls, 'rtmps');
      const files = opts.tls;
      // A TLS handshake that never completes is bounded like an RTMP one.
      const server = tls.createServer(
        { ...readTlsFiles(files), handshakeTimeout: opts.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS },
        onSocket,
      );
      server.on('tlsClientError', (err, socket) => {
        if (this.warnings.allow(`RTMPS_HANDSHAKE ${socket.remoteAddress ?? ''}`))
          this.log.info({ code: 'TLS_HANDSHAKE_FAILED', err: err.message }, 'RTMPS handshake failed');
      });
      this.stopReloading = reloadOnSignal({
        reload: () => {
          try {
            checkTlsFiles(files, 'rtmps');
            server.setSecureContext(readTlsFiles(files));
            this.log.info({ cert: files.cert }, 'RTMPS certificate reloaded');
            return Promise.resolve(true);
          } catch (err) {
            this.log.error(
              { code: 'TLS_RELOAD_FAILED', err: errorMessage(err) },
              'RTMPS certificate not reloaded: keeping the one in use',
            );
            return Promise.resolve(false);
          }
        },
      });
      this.server = server;
    } else {
      this.server = net.createServer(onSocket);
    }
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

  /** Connections without an accepted publish. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Bytes held in partial messages by connections without an accepted publish. */
  get pendingBufferedBytes(): number {
    let n = 0;
    for (const s of this.pending) n += s.bufferedBytes;
    return n;
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
      this.stopReloading?.();
      this.server.close(() => resolve());
      for (const session of [...this.sessions]) session.close('server closing');
    }).then(() => {
      this.server.removeAllListeners();
      this.warnings.close();
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
    const fromAddress = this.pendingByAddress.get(ip) ?? 0;
    if (this.pending.size >= this.limits.maxConnections || fromAddress >= this.limits.maxPerAddress) {
      const perAddress = fromAddress >= this.limits.maxPerAddress;
      if (this.warnings.allow(`RTMP_TOO_MANY_CONNECTIONS ${ip}`)) {
        log.warn(
          {
            code: 'RTMP_TOO_MANY_CONNECTIONS',
            pending: this.pending.size,
            fromAddress,
            limit: perAddress ? 'maxPerAddress' : 'maxConnections',
          },
          'too many connections without a publish; closing the new one',
        );
      }
      socket.destroy();
      return;
    }
    const leavePending = (s: RtmpSession): void => {
      if (!this.pending.delete(s)) return;
      const n = (this.pendingByAddress.get(ip) ?? 1) - 1;
      if (n > 0) this.pendingByAddress.set(ip, n);
      else this.pendingByAddress.delete(ip);
    };
    socket.setNoDelay(true);
    const session = new RtmpSession({
      transport: {
        remoteAddress: ip,
        write: (data) => {
          if (!socket.destroyed) socket.write(data);
        },
        destroy: () => socket.destroy(),
      },
      onPublish: (req, control) => this.opts.onPublish(req, control),
      apps: this.opts.apps ?? ['live'],
      maxMessageBytes: this.opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
      handshakeTimeoutMs: this.opts.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
      publishTimeoutMs: this.limits.timeoutMs,
      onPublishAccepted: leavePending,
      allowWarning: (code: ErrorCode) => this.warnings.allow(`${code} ${ip}`),
      logger: log,
      onClosed: (s) => {
        leavePending(s);
        this.sessions.delete(s);
      },
    });
    this.sessions.add(session);
    this.pending.add(session);
    this.pendingByAddress.set(ip, fromAddress + 1);
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
