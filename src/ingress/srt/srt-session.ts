/**
 * One authorized SRT publish: ffmpeg's libsrt listens on a loopback port of its own, the SRT front relays
 * the caller's datagrams to it through a loopback socket of this session, and ffmpeg turns the MPEG-TS it
 * receives into FLV tags (`-c copy -f flv pipe:3`) for the stream's LiveStream. Nothing reaches ffmpeg
 * before the key was accepted: the front answered the induction itself, and this session replays the
 * handshake to ffmpeg (its own induction, then the caller's conclusion with ffmpeg's cookie) only now.
 *
 * ffmpeg's arguments name a loopback port and nothing else: the key travels only inside the caller's
 * handshake, which ffmpeg's listener never logs (its stderr is redacted of the Stream ID all the same).
 *
 * Closing (idempotent): SHUTDOWN to the caller, stop ffmpeg (SIGTERM, then SIGKILL), close the loopback
 * socket, close the publish (the LiveStream ends). ffmpeg ending by itself (the caller hung up, or went
 * silent past libsrt's 5 s peer timeout) closes the session the same way.
 */
import dgram from 'node:dgram';
import type { ErrorCode } from '../../common/errors/index.js';
import { errorMessage } from '../../common/errors/index.js';
import type { Logger } from '../../common/logging/index.js';
import { FlvReader, type FlvTag } from '../flv/flv-reader.js';
import type { PublishSink } from '../rtmp/types.js';
import { FfmpegProcess } from '../transcoder/ffmpeg-supervisor.js';
import {
  HS_CONCLUSION,
  HS_INDUCTION,
  conclusionForListener,
  inductionRequestFrom,
  parseHandshake,
  shutdown,
} from './srt-packet.js';

export interface SrtSessionOptions {
  ffmpegPath: string;
  /** Receiver latency offered to the caller (the larger of both sides wins). */
  latencyMs: number;
  /** How long ffmpeg's listener may take to answer its induction. */
  listenerReadyTimeoutMs: number;
  /** Sends a datagram to the caller through the front's socket. */
  toCaller(msg: Buffer): void;
  /** The caller's conclusion (front's cookie in it). */
  conclusion: Buffer;
  ourListenerId: number;
  /** Removed from ffmpeg's stderr lines before they are logged. */
  streamId: string;
  logger: Logger;
  /** Called once the session has closed, whatever closed it. */
  onClosed(): void;
  /** Microseconds-ish timestamp for packets we write. */
  now(): number;
}

const UNSUPPORTED = /(Video|Audio) codec (\S+) not compatible with flv/i;

export class SrtSession {
  private proc: FfmpegProcess | undefined;
  private sock: dgram.Socket | undefined;
  private sink: PublishSink | undefined;
  private ffmpegCookie = 0;
  private ffmpegListenerId = 0;
  private readonly callerSocketId: number;
  private closed = false;
  private lastFromCaller = Date.now();

  constructor(private readonly o: SrtSessionOptions) {
    this.callerSocketId = o.conclusion.readUInt32BE(16 + 24);
  }

  get callerId(): number {
    return this.callerSocketId;
  }

  get idleMs(): number {
    return Date.now() - this.lastFromCaller;
  }

  /**
   * Starts ffmpeg and replays the handshake to it; resolves once the caller's conclusion has gone to ffmpeg
   * (ffmpeg's answer then travels back through `toCaller`). Rejects if ffmpeg cannot start or listen.
   */
  async start(sink: PublishSink): Promise<void> {
    this.sink = sink;
    const port = await freeUdpPort();
    const sid = this.o.streamId;
    const proc = await FfmpegProcess.start({
      ffmpegPath: this.o.ffmpegPath,
      args: srtIngestArgs(port, this.o.latencyMs, this.o.listenerReadyTimeoutMs + 5000),
      outputPipes: 1,
      logger: this.o.logger,
      codes: { startFailed: 'PROCESS_START_FAILED', died: 'PROCESS_DIED' },
      startupWindowMs: 0,
      redact: (t) => (sid.length >= 4 ? t.split(sid).join('[streamid]') : t),
    });
    this.proc = proc;
    if (this.closed) {
      await proc.close();
      throw new Error('session closed while ffmpeg started');
    }
    const reader = new FlvReader();
    proc.outputs[0]!.on('data', (d: Buffer) => {
      let tags: FlvTag[];
      try {
        tags = reader.push(d);
      } catch (err) {
        this.o.logger.error(
          { err: errorMessage(err) },
          'SRT ingest: ffmpeg output unreadable; ending the publish',
        );
        void this.close('ffmpeg output unreadable');
        return;
      }
      for (const t of tags) this.sink?.onTag(t);
    });
    proc.on('died', (err) => {
      const m = UNSUPPORTED.exec(proc.lastLines());
      if (m) {
        this.o.logger.warn(
          { code: 'UNSUPPORTED_CODEC' satisfies ErrorCode, codec: m[2] },
          `SRT publish refused: unsupported codec ${m[2]}: publish H.264 video and AAC audio over SRT`,
        );
        void this.close(`unsupported codec ${m[2]}`);
        return;
      }
      this.o.logger.info({ code: err.code }, 'SRT publisher gone (ffmpeg ended)');
      void this.close('SRT connection ended');
    });
    await this.handshakeWithListener(port);
  }

  /** A datagram from the caller: to ffmpeg, a retransmitted conclusion with ffmpeg's cookie. */
  fromCaller(msg: Buffer): void {
    this.lastFromCaller = Date.now();
    if (!this.sock || !this.ffmpegCookie) return;
    const h = (msg[0]! & 0x80) !== 0 ? parseHandshake(msg) : undefined;
    if (h?.type === HS_INDUCTION) return;
    const out =
      h?.type === HS_CONCLUSION
        ? conclusionForListener(msg, {
            cookie: this.ffmpegCookie,
            ourListenerId: this.o.ourListenerId,
            theirListenerId: this.ffmpegListenerId,
          })
        : msg;
    this.sock.send(out);
  }

  close(reason: string): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    try {
      this.o.toCaller(shutdown(this.callerSocketId, this.o.now()));
    } catch {
      // the front may be closed already
    }
    const sock = this.sock;
    this.sock = undefined;
    if (sock) sock.close();
    this.sink?.close(reason);
    return (this.proc?.close() ?? Promise.resolve()).finally(() => this.o.onClosed());
  }

  /** ffmpeg's listener answers an induction once it listens: that answer is the readiness signal too. */
  private async handshakeWithListener(port: number): Promise<void> {
    const sock = dgram.createSocket('udp4');
    this.sock = sock;
    // ECONNREFUSED: ffmpeg not listening yet (while probing) or gone (then 'died' closes the session).
    sock.on('error', (err) => this.o.logger.debug({ err: err.message }, 'SRT relay socket error'));
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(0, '127.0.0.1', () => {
        sock.off('error', reject);
        resolve();
      });
    });
    sock.connect(port, '127.0.0.1');
    await new Promise<void>((resolve) => sock.once('connect', () => resolve()));
    const induction = inductionRequestFrom(this.o.conclusion, this.o.now());
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => sock.send(induction), 50);
      const deadline = setTimeout(() => {
        clearInterval(timer);
        reject(new Error('ffmpeg did not listen for SRT in time'));
      }, this.o.listenerReadyTimeoutMs);
      sock.send(induction);
      const onMessage = (m: Buffer) => {
        const h = parseHandshake(m);
        if (h?.type !== HS_INDUCTION) return;
        this.ffmpegCookie = h.cookie;
        this.ffmpegListenerId = h.socketId;
        clearInterval(timer);
        clearTimeout(deadline);
        sock.off('message', onMessage);
        resolve();
      };
      sock.on('message', onMessage);
    });
    if (this.closed) throw new Error('session closed during the handshake');
    sock.on('message', (m: Buffer) => this.o.toCaller(m));
    sock.send(
      conclusionForListener(this.o.conclusion, {
        cookie: this.ffmpegCookie,
        ourListenerId: this.o.ourListenerId,
        theirListenerId: this.ffmpegListenerId,
      }),
    );
  }
}

/** ffmpeg: listen for one SRT caller on a loopback port, MPEG-TS in, the tracks copied into FLV on pipe 3. */
export function srtIngestArgs(port: number, latencyMs: number, listenTimeoutMs: number): string[] {
  const url =
    `srt://127.0.0.1:${port}?mode=listener&latency=${latencyMs * 1000}` +
    `&listen_timeout=${listenTimeoutMs * 1000}`;
  return [
    ...['-hide_banner', '-loglevel', 'level+error', '-nostdin'],
    // A second of probing is enough for MPEG-TS with H.264 and AAC (default 5 s: 5 s later live).
    // Packets SRT gave up on (too late to retransmit) leave holes in the MPEG-TS; the demuxer marks what
    // they broke as corrupt, and copying a broken ADTS frame would end ffmpeg (aac_adtstoasc): drop those.
    ...['-fflags', '+discardcorrupt', '-analyzeduration', '1000000', '-fpsprobesize', '0'],
    ...['-f', 'mpegts', '-i', url],
    ...['-map', '0:v:0', '-map', '0:a:0?', '-c', 'copy'],
    // AAC from MPEG-TS has its AudioSpecificConfig only after the first frame: without this flag the FLV
    // sequence header would be empty (and refused as MALFORMED_MEDIA_TAG).
    ...['-flvflags', '+aac_seq_header_detect+no_duration_filesize'],
    ...['-flush_packets', '1', '-f', 'flv', 'pipe:3'],
  ];
}

async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => resolve());
  });
  const { port } = s.address();
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}
