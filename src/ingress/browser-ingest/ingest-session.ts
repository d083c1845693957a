/**
 * One browser publishing over the ingest socket: waits for the key (first message, within a deadline),
 * publishes through the shared publish flow, then checks each media message (structure, size, pace) and
 * hands it to the stream as an FlvTag. Sends the page its receive stats every second and answers pings.
 * Every refusal sends `{"type":"error"}` or `{"ok":false}` with words for the streamer, logs a line with
 * the code (never the key) and closes this socket only. Knows no socket: the transport gives it a port.
 *
 * A page without WebCodecs sends a WebM byte stream instead (hello `"format": "webm"`): a WebmTagWriter turns
 * it into the same tags, which then pass the same checks; a stream that is not WebM is refused like garbage.
 *
 * A browser that reconnects while its old socket is not yet known dead (a network change) takes its
 * stream over: the older browser session of the same name is ended first, as the key holder asked.
 */
import { TiercastError, errorMessage, type ErrorCode } from '../../common/errors/index.js';
import {
  FLV_TAG_SCRIPT,
  VIDEO_CODEC_AVC,
  fourccCodecId,
  onMetaDataBody,
  type FlvTag,
} from '../flv/flv-tag.js';
import { WebmTagWriter } from '../mkv/mkv-to-flv.js';
import type { Logger } from '../../common/logging/index.js';
import type { Metrics } from '../../common/metrics/index.js';
import { CloseCode } from '../../common/protocol/close-codes.js';
import type { PublishSink } from '../rtmp/rtmp-server.js';
import type { PublishFlow } from '../publish-flow.js';
import {
  INGEST_MAX_FRAME_BYTES,
  decodeIngestTag,
  decodePageMessage,
  type ServerMessage,
} from './ingest-protocol.js';

export interface IngestPort {
  readonly remoteAddress: string;
  send(msg: ServerMessage): void;
  /** Closes the socket with a WebSocket close code and a short reason (never the key). */
  end(code: number, reason: string): void;
}

export interface IngestLimits {
  /** Media time may run ahead of the wall clock (since the socket's first tag) by this much. */
  maxAheadMs: number;
  /** The key must arrive this soon after the socket opens. */
  helloTimeoutMs: number;
  maxFrameBytes: number;
}

export const DEFAULT_INGEST_LIMITS: IngestLimits = {
  maxAheadMs: 3000,
  helloTimeoutMs: 10_000,
  maxFrameBytes: INGEST_MAX_FRAME_BYTES,
};

export interface IngestSessionDeps {
  publish: PublishFlow;
  /** Whether the ingress takes Opus audio yet (the page sends video only otherwise). */
  audioSupported: boolean;
  /** Browser sessions publishing now, by stream name (for the takeover on reconnect). */
  sessions: Map<string, BrowserIngestSession>;
  limits: IngestLimits;
  /** The stream's first chunks are out: shown to the page in its stats. */
  isLive: (name: string) => boolean;
  logger: Logger;
  metrics: Pick<Metrics, 'publishRejected'>;
  now?: () => number;
}

type State = 'hello' | 'authorizing' | 'publishing' | 'closed';

export class BrowserIngestSession {
  private state: State = 'hello';
  private name: string | undefined;
  private sink: PublishSink | undefined;
  private firstTs: number | undefined;
  private firstAt = 0;
  private maxTs = 0;
  private lastBehindMs = 0;
  private bytesThisSecond = 0;
  private framesTotal = 0;
  /** Set when the page sends a WebM byte stream (MediaRecorder) rather than tags. */
  private webm: WebmTagWriter | undefined;
  /** The hello announced a microphone (tags only; a WebM header names its tracks). */
  private announcesAudio = false;
  private readonly helloTimer: NodeJS.Timeout;
  private statsTimer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(
    private readonly port: IngestPort,
    private readonly deps: IngestSessionDeps,
  ) {
    this.now = deps.now ?? Date.now;
    this.helloTimer = setTimeout(
      () =>
        this.refuse('BROWSER_INGEST_MALFORMED', 'no stream key arrived in time', CloseCode.MALFORMED_FRAME),
      deps.limits.helloTimeoutMs,
    );
    this.helloTimer.unref();
  }

  get streamName(): string | undefined {
    return this.name;
  }

  onText(text: string): void {
    if (this.state === 'closed') return;
    const m = decodePageMessage(text);
    if (!m.ok) return this.refuse('BROWSER_INGEST_MALFORMED', m.reason, CloseCode.MALFORMED_FRAME);
    if (m.value.kind === 'ping') return this.port.send({ type: 'pong', t: m.value.t });
    if (this.state !== 'hello')
      return this.refuse('BROWSER_INGEST_MALFORMED', 'the key is sent once', CloseCode.MALFORMED_FRAME);
    clearTimeout(this.helloTimer);
    this.state = 'authorizing';
    if (m.value.format === 'webm')
      this.webm = new WebmTagWriter({ maxElementBytes: this.deps.limits.maxFrameBytes });
    this.announcesAudio = m.value.format === 'tags' && m.value.audio && this.deps.audioSupported;
    void this.authorize(m.value.key);
  }

  private async authorize(key: string): Promise<void> {
    try {
      const { name, sink } = await this.deps.publish({
        key,
        remoteAddress: this.port.remoteAddress,
        onFailed: (code, description) => this.failed(code, description),
        beforeClaim: (n) => this.takeOver(n),
      });
      if (this.state === 'closed') {
        sink.close('browser left before the publish began');
        return;
      }
      this.name = name;
      this.sink = sink;
      this.state = 'publishing';
      this.deps.sessions.set(name, this);
      this.port.send({ ok: true, name, audio: this.deps.audioSupported });
      // Like an RTMP encoder's onMetaData: the stream waits a moment for audio that starts after the
      // picture (a browser's microphone often does) instead of going live without it for good.
      if (this.announcesAudio)
        sink.onTag({
          type: FLV_TAG_SCRIPT,
          timestamp: 0,
          data: onMetaDataBody({ videocodecid: VIDEO_CODEC_AVC, audiocodecid: fourccCodecId('Opus') }),
          receivedAt: this.now(),
        });
      this.statsTimer = setInterval(() => this.sendStats(), 1000);
      this.statsTimer.unref();
    } catch (err) {
      if (this.state === 'closed') return;
      const code = err instanceof TiercastError ? err.code : 'BAD_STREAM_KEY';
      const message =
        code === 'BAD_STREAM_KEY'
          ? 'That stream key is not right.'
          : code === 'STREAM_ALREADY_LIVE'
            ? 'This stream is already live from somewhere else.'
            : errorMessage(err);
      this.port.send({ ok: false, code, message });
      this.close(code === 'BAD_STREAM_KEY' ? CloseCode.AUTH_FAILED : CloseCode.PUBLISH_REFUSED, code);
    }
  }

  private async takeOver(name: string): Promise<void> {
    const old = this.deps.sessions.get(name);
    if (!old || old === this) return;
    this.deps.logger.info(
      { remote: this.port.remoteAddress, stream: name },
      'browser publish taken over by a new connection',
    );
    old.refuse(
      'STREAM_ALREADY_LIVE',
      'a newer connection from a browser took this stream over',
      CloseCode.PUBLISH_REFUSED,
      false,
    );
    // The LiveStream leaves the ingress's map synchronously; its ffmpeg finishes closing on its own.
    await Promise.resolve();
  }

  onBinary(msg: Buffer): void {
    if (this.state === 'closed') return;
    if (this.state !== 'publishing')
      return this.refuse(
        'BROWSER_INGEST_MALFORMED',
        'media arrived before the stream key was accepted',
        CloseCode.MALFORMED_FRAME,
      );
    if (msg.length > this.deps.limits.maxFrameBytes)
      return this.refuse(
        'PAYLOAD_TOO_LARGE',
        `a media message is at most ${this.deps.limits.maxFrameBytes} bytes`,
        CloseCode.MESSAGE_TOO_BIG,
      );
    const now = this.now();
    this.bytesThisSecond += msg.length;
    if (this.webm) {
      let tags: FlvTag[];
      try {
        tags = this.webm.push(msg, now);
      } catch (err) {
        if (!(err instanceof TiercastError)) throw err;
        const close =
          err.code === 'PAYLOAD_TOO_LARGE'
            ? CloseCode.MESSAGE_TOO_BIG
            : err.code === 'UNSUPPORTED_CODEC'
              ? CloseCode.PUBLISH_REFUSED
              : CloseCode.MALFORMED_FRAME;
        return this.refuse(err.code, err.message, close);
      }
      for (const tag of tags) if (!this.accept(tag)) return;
      return;
    }
    const d = decodeIngestTag(msg);
    if (!d.ok) return this.refuse('BROWSER_INGEST_MALFORMED', d.reason, CloseCode.MALFORMED_FRAME);
    const { type, timestamp, body } = d.value;
    this.accept({ type, timestamp, data: Buffer.from(body), receivedAt: now });
  }

  /** Checks one tag's pace and hands it to the stream; false when the publish was refused. */
  private accept(tag: FlvTag): boolean {
    const { timestamp, receivedAt: now } = tag;
    if (this.firstTs === undefined) {
      this.firstTs = timestamp;
      this.firstAt = now;
      this.maxTs = timestamp;
    }
    const media = timestamp - this.firstTs;
    const wall = now - this.firstAt;
    if (media - wall > this.deps.limits.maxAheadMs) {
      this.refuse(
        'BROWSER_INGEST_TOO_FAST',
        `media arrives faster than real time (${Math.round((media - wall) / 1000)} s ahead)`,
        CloseCode.TOO_FAST,
      );
      return false;
    }
    if (timestamp < this.maxTs - 10_000) {
      this.refuse(
        'BROWSER_INGEST_MALFORMED',
        'timestamps went back more than 10 s',
        CloseCode.MALFORMED_FRAME,
      );
      return false;
    }
    this.maxTs = Math.max(this.maxTs, timestamp);
    this.lastBehindMs = Math.max(0, wall - (this.maxTs - this.firstTs));
    if (tag.type !== 18) this.framesTotal++;
    this.sink!.onTag(tag);
    return true;
  }

  private sendStats(): void {
    if (this.state !== 'publishing') return;
    this.port.send({
      type: 'stats',
      kbps: Math.round((this.bytesThisSecond * 8) / 1000),
      frames: this.framesTotal,
      behindMs: this.lastBehindMs,
      live: this.deps.isLive(this.name!),
    });
    this.bytesThisSecond = 0;
  }

  /** The stream failed later (unsupported codec, transcoder gave up): words for the page, then close. */
  private failed(code: ErrorCode, description: string): void {
    this.refuse(code, description, CloseCode.PUBLISH_REFUSED);
  }

  /** Ends this socket's publish with a reason the page shows; logged with the code, never the key. */
  refuse(code: ErrorCode, message: string, closeCode: number, count = true): void {
    if (this.state === 'closed') return;
    if (count) this.deps.metrics.publishRejected.inc({ code });
    this.deps.logger.warn(
      { remote: this.port.remoteAddress, stream: this.name, code, reason: message },
      'browser publish refused',
    );
    if (this.state === 'publishing') this.port.send({ type: 'error', code, message });
    else this.port.send({ ok: false, code, message });
    this.close(closeCode, `${code}: ${message}`);
  }

  private close(closeCode: number, reason: string): void {
    this.onClosed('refused');
    // A close reason is at most 123 bytes.
    this.port.end(closeCode, reason.slice(0, 123));
  }

  /** The socket closed (either side): ends the publish. Idempotent. */
  onClosed(why = 'socket closed'): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearTimeout(this.helloTimer);
    if (this.statsTimer) clearInterval(this.statsTimer);
    if (this.name && this.deps.sessions.get(this.name) === this) this.deps.sessions.delete(this.name);
    this.sink?.close(`browser ${why}`);
  }
}
