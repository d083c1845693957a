/**
 * SRT ingest (OBS, vMix, ffmpeg: `srt://HOST:PORT?streamid=KEY`): one UDP port where the ingress itself
 * speaks the start of SRT's caller-listener handshake and ffmpeg's libsrt does the rest.
 *
 * Why the front: ffmpeg's listener accepts any caller and any Stream ID, and one ffmpeg listens for one
 * caller. So the front answers every induction itself, statelessly (a SYN cookie of address, port and
 * minute), and reads the conclusion that echoes it: only then does it know the source address is real, and
 * the conclusion carries the Stream ID. The key in it goes through the shared publish flow (key check,
 * discovery claim, LiveStream) like RTMP's, WHIP's and the browser's. A refused key is answered with an SRT
 * rejection (1403 forbidden, 1409 already live, 1503 keys cannot be checked; the caller's error names it),
 * and no ffmpeg is ever started for it. An accepted one gets an `SrtSession`: its own ffmpeg listener on a
 * loopback port, to which the handshake is replayed, then every datagram of that caller is relayed both ways.
 *
 * Limits: conclusions being checked at once (`maxPending`, over it: 1402 overload), anything that is not a
 * handshake from an unknown address is dropped unread (counted, logged rate-limited per address, never with
 * the Stream ID), a caller silent for `idleTimeoutMs` is ended.
 */
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { TiercastError, type ErrorCode } from '../../common/errors/index.js';
import type { Logger } from '../../common/logging/index.js';
import { createLogRateLimiter } from '../../common/logging/rate-limit.js';
import type { Metrics } from '../../common/metrics/index.js';
import type { PublishFlow } from '../publish-flow.js';
import {
  HS_CONCLUSION,
  HS_INDUCTION,
  REJECT,
  inductionResponse,
  isHsv5Conclusion,
  parseHandshake,
  rejection,
  streamIdOf,
  streamKeyFromStreamId,
  synCookie,
} from './srt-packet.js';
import { SrtSession } from './srt-session.js';

export interface SrtServerOptions {
  host: string;
  port: number;
  latencyMs: number;
  maxPending: number;
  idleTimeoutMs: number;
  ffmpegPath: string;
  publish: PublishFlow;
  logger: Logger;
  metrics: Pick<Metrics, 'protocolErrors'>;
}

/** How long a refused caller's retransmitted conclusions get the same answer without a new key check. */
const REJECTED_MEMORY_MS = 5000;
const LISTENER_READY_TIMEOUT_MS = 3000;
const RECV_BUFFER_BYTES = 4 * 1024 * 1024;
/**
 * Inductions answered per second (a burst of twice that): a real caller sends one (again every 250 ms
 * until answered); a flood of them is answered only this often, so it costs no more than that.
 */
const INDUCTIONS_PER_SECOND = 500;

type Entry = { state: 'pending' } | { state: 'live'; session: SrtSession };

export class SrtServer {
  private readonly sock: dgram.Socket;
  private readonly secret = randomBytes(32);
  private readonly listenerId = randomBytes(4).readUInt32BE(0) || 1;
  private readonly epoch = Date.now();
  private readonly peers = new Map<string, Entry>();
  private readonly rejected = new Map<string, { packet: Buffer; until: number }>();
  private pending = 0;
  private inductionTokens = 2 * INDUCTIONS_PER_SECOND;
  private inductionRefill = Date.now();
  private readonly warnLimiter;
  private readonly idleTimer: NodeJS.Timeout;
  private closing: Promise<void> | undefined;

  private constructor(
    sock: dgram.Socket,
    private readonly o: SrtServerOptions,
  ) {
    this.sock = sock;
    this.warnLimiter = createLogRateLimiter(o.logger, {
      maxPerWindow: 3,
      windowMs: 10_000,
      what: 'SRT warnings',
    });
    // Room for bursts (a flood on the port must not crowd out the publishers' datagrams); capped by
    // net.core.rmem_max.
    try {
      sock.setRecvBufferSize(RECV_BUFFER_BYTES);
    } catch (err) {
      o.logger.debug({ err: (err as Error).message }, 'SRT receive buffer left at the default');
    }
    sock.on('message', (msg, rinfo) => this.onDatagram(msg, rinfo));
    sock.on('error', (err) => o.logger.warn({ err: err.message }, 'SRT socket error'));
    this.idleTimer = setInterval(() => this.sweep(), 1000);
    this.idleTimer.unref();
  }

  static async create(o: SrtServerOptions): Promise<SrtServer> {
    const sock = dgram.createSocket(o.host.includes(':') ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(o.port, o.host, () => {
        sock.off('error', reject);
        resolve();
      });
    });
    return new SrtServer(sock, o);
  }

  get port(): number {
    return this.sock.address().port;
  }

  /** Publishes relayed right now (tests). */
  get sessions(): number {
    return [...this.peers.values()].filter((e) => e.state === 'live').length;
  }

  close(): Promise<void> {
    return (this.closing ??= (async () => {
      clearInterval(this.idleTimer);
      const live = [...this.peers.values()].flatMap((e) => (e.state === 'live' ? [e.session] : []));
      await Promise.all(live.map((s) => s.close('ingress shutting down')));
      this.peers.clear();
      this.warnLimiter.close();
      await new Promise<void>((resolve) => this.sock.close(() => resolve()));
    })());
  }

  private now(): number {
    return ((Date.now() - this.epoch) * 1000) >>> 0;
  }

  private send(msg: Buffer, address: string, port: number): void {
    if (this.closing) return;
    this.sock.send(msg, port, address);
  }

  private drop(code: ErrorCode, remote: string, why: string): void {
    this.o.metrics.protocolErrors.inc({ code });
    if (this.warnLimiter.allow(`${code}:${remote}`)) this.o.logger.warn({ remote, code }, why);
  }

  private onDatagram(msg: Buffer, r: dgram.RemoteInfo): void {
    if (this.closing) return;
    const peer = `${r.address}:${r.port}`;
    const entry = this.peers.get(peer);
    if (entry?.state === 'live') {
      const h = parseHandshake(msg);
      // The same address and port starting over (a caller restarted on a fixed port): a new handshake.
      if (h?.type === HS_CONCLUSION && h.socketId !== entry.session.callerId) {
        void entry.session.close('the caller started a new connection');
      } else if (h?.type !== HS_INDUCTION) {
        entry.session.fromCaller(msg);
        return;
      }
    }
    if (entry?.state === 'pending') return; // retransmitted conclusion while its key is being checked
    const h = parseHandshake(msg);
    if (!h) return this.drop('SRT_HANDSHAKE_FAILED', r.address, 'SRT: datagram from an unknown peer dropped');
    if (h.type === HS_INDUCTION) {
      if (!this.takeInductionToken())
        return this.drop(
          'SRT_TOO_MANY_PENDING',
          r.address,
          'SRT: too many connection attempts; some unanswered',
        );
      const cookie = synCookie(this.secret, r.address, r.port, Math.floor(Date.now() / 60_000));
      this.send(
        inductionResponse(msg, {
          cookie,
          listenerId: this.listenerId,
          timestamp: this.now(),
          peerAddress: r.address,
        }),
        r.address,
        r.port,
      );
      return;
    }
    if (h.type !== HS_CONCLUSION)
      return this.drop('SRT_HANDSHAKE_FAILED', r.address, 'SRT: unexpected handshake type');
    const minute = Math.floor(Date.now() / 60_000);
    const okCookie = [minute, minute - 1].some(
      (m) => synCookie(this.secret, r.address, r.port, m) === h.cookie,
    );
    if (!okCookie) return this.drop('SRT_HANDSHAKE_FAILED', r.address, 'SRT: conclusion with a wrong cookie');
    const earlier = this.rejected.get(peer);
    if (earlier && earlier.until > Date.now()) return this.send(earlier.packet, r.address, r.port);
    if (!isHsv5Conclusion(h)) {
      this.drop('SRT_HANDSHAKE_FAILED', r.address, 'SRT: caller without the HSv5 handshake (SRT < 1.3)');
      return this.reject(msg, peer, r, REJECT.FORBIDDEN);
    }
    if (this.pending >= this.o.maxPending) {
      this.drop('SRT_TOO_MANY_PENDING', r.address, 'SRT: too many publishes being checked; refused');
      return this.send(rejection(msg, REJECT.OVERLOAD, this.now()), r.address, r.port);
    }
    const sid = streamIdOf(h) ?? '';
    this.peers.set(peer, { state: 'pending' });
    this.pending++;
    void this.admit(msg, sid, peer, r).finally(() => this.pending--);
  }

  private takeInductionToken(): boolean {
    const now = Date.now();
    this.inductionTokens = Math.min(
      2 * INDUCTIONS_PER_SECOND,
      this.inductionTokens + ((now - this.inductionRefill) * INDUCTIONS_PER_SECOND) / 1000,
    );
    this.inductionRefill = now;
    if (this.inductionTokens < 1) return false;
    this.inductionTokens--;
    return true;
  }

  private reject(conclusion: Buffer, peer: string, r: dgram.RemoteInfo, reason: number): void {
    const packet = rejection(conclusion, reason, this.now());
    this.rejected.set(peer, { packet, until: Date.now() + REJECTED_MEMORY_MS });
    this.send(packet, r.address, r.port);
  }

  private async admit(conclusion: Buffer, sid: string, peer: string, r: dgram.RemoteInfo): Promise<void> {
    const remote = r.address;
    let session: SrtSession | undefined;
    const logger = this.o.logger.child({ remote });
    try {
      const { name, sink } = await this.o.publish({
        key: streamKeyFromStreamId(sid) ?? '',
        remoteAddress: remote,
        onFailed: (code, description) => {
          logger.warn({ code }, `SRT publish ended: ${description}`);
          void session?.close(description);
        },
      });
      session = new SrtSession({
        ffmpegPath: this.o.ffmpegPath,
        latencyMs: this.o.latencyMs,
        listenerReadyTimeoutMs: LISTENER_READY_TIMEOUT_MS,
        toCaller: (m) => this.send(m, r.address, r.port),
        conclusion,
        ourListenerId: this.listenerId,
        streamId: sid,
        logger: logger.child({ stream: name }),
        now: () => this.now(),
        onClosed: () => {
          const e = this.peers.get(peer);
          if (e?.state === 'live' && e.session === session) this.peers.delete(peer);
        },
      });
      if (this.closing) {
        sink.close('ingress shutting down');
        return;
      }
      this.peers.set(peer, { state: 'live', session });
      try {
        await session.start(sink);
      } catch (err) {
        logger.error(
          { stream: name, code: 'PROCESS_START_FAILED', err: (err as Error).message },
          'SRT ingest could not start',
        );
        await session.close('SRT ingest could not start');
        this.reject(conclusion, peer, r, REJECT.INTERNAL);
        return;
      }
      logger.info({ stream: name }, 'SRT publisher connected');
    } catch (err) {
      // The publish flow has counted and logged the refusal (without the key).
      this.peers.delete(peer);
      const code = err instanceof TiercastError ? err.code : 'BAD_STREAM_KEY';
      this.reject(conclusion, peer, r, rejectReason(code));
    }
  }

  private sweep(): void {
    const now = Date.now();
    for (const [peer, e] of this.rejected) if (e.until <= now) this.rejected.delete(peer);
    for (const e of this.peers.values())
      if (e.state === 'live' && e.session.idleMs > this.o.idleTimeoutMs)
        void e.session.close(`no SRT packet for ${this.o.idleTimeoutMs} ms`);
  }
}

function rejectReason(code: ErrorCode): number {
  switch (code) {
    case 'STREAM_ALREADY_LIVE':
      return REJECT.CONFLICT;
    case 'HUB_UNAVAILABLE':
      return REJECT.DOWN;
    case 'BAD_STREAM_KEY':
      return REJECT.FORBIDDEN;
    default:
      return REJECT.INTERNAL;
  }
}
