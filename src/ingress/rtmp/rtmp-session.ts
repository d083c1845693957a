/**
 * One RTMP publisher connection: handshake, then the NetConnection / NetStream command exchange that
 * ffmpeg and OBS perform (connect → releaseStream → FCPublish → createStream → publish), then audio,
 * video and metadata messages forwarded to the PublishSink that `onPublish` returned.
 *
 * The session never sees a socket, only a SessionTransport, so it can be driven by a fake in tests.
 *
 * Closing: `close(reason)` is idempotent; it clears the handshake timer and any pending refusal
 * timer, calls `sink.close(reason)` once if a publish was accepted, destroys the transport and
 * reports to `onClosed` (the server's session set). The server calls it when the socket closes.
 * FCUnpublish / deleteStream / closeStream close the sink with "unpublished" (and close() then does
 * not close it again). A sink accepted after the session closed (onPublish resolved late) is closed
 * at once.
 *
 * Before a publish is accepted the peer is unauthenticated: messages are limited to
 * `pendingMaxMessageBytes` (so partial messages hold at most twice that) and handshake, connect and
 * publish must be accepted within `publishTimeoutMs` (RTMP_PUBLISH_TIMEOUT). After, the full
 * `maxMessageBytes` applies. The consumer may end an accepted publish with `control.fail()`: the
 * publisher gets a NetStream.Publish.Failed status with the description, and the connection closes.
 *
 * Stream keys: the publish name is passed to onPublish and nowhere else. It is never logged, never
 * put in a status description, and error messages from onPublish are scrubbed of it before logging.
 */
import { callSafely } from '../../common/events/safe-emitter.js';
import type { Logger } from '../../common/logging/index.js';
import { TiercastError, errorMessage } from '../../common/errors/index.js';
import type { ErrorCode } from '../../common/errors/index.js';
import { ChunkStreamEncoder, ChunkStreamParser } from './chunk-stream.js';
import type { OutgoingMessage, RtmpMessage } from './chunk-stream.js';
import { ServerHandshake } from './handshake.js';
import type { AmfValue } from './amf0.js';
import {
  MessageType,
  UserControlEvent,
  acknowledgementBody,
  parseUserControl,
  readU32Body,
} from './protocol-messages.js';
import {
  connectAcceptedMessages,
  connectApp,
  connectFourCcList,
  connectRejectedMessage,
  controlMessage,
  mediaTags,
  onFCPublishMessage,
  onStatusMessage,
  parseCommand,
  publishStartMessages,
  resultMessage,
  userControlMessage,
} from './net-commands.js';
import { SUPPORTED_FOURCCS } from '../flv/codecs.js';
import type { Command } from './net-commands.js';
import type { FlvTag, PublishControl, PublishRequest, PublishSink } from './types.js';
import {
  DEFAULT_PUBLISH_TIMEOUT_MS,
  FAILURE_CLOSE_DELAY_MS,
  OUT_CHUNK_SIZE,
  PENDING_MAX_MESSAGE_BYTES,
  REFUSAL_DESCRIPTIONS,
  WINDOW_ACK_SIZE,
  type RtmpSessionOptions,
} from './session-options.js';

export type { RtmpSessionOptions, SessionTransport } from './session-options.js';
export { PENDING_MAX_MESSAGE_BYTES } from './session-options.js';
import { isWellFormedStreamKey } from '../../common/protocol/node-api-limits.js';

interface PublishAttempt {
  streamId: number;
  /** Set once onPublish accepted. */
  sink?: PublishSink;
  ended: boolean;
}

export class RtmpSession {
  private readonly handshake = new ServerHandshake();
  private readonly parser: ChunkStreamParser;
  private readonly encoder = new ChunkStreamEncoder();
  private readonly log: Logger;
  private readonly now: () => number;
  private closed = false;
  private app: string | undefined;
  private nextStreamId = 1;
  private publish: PublishAttempt | undefined;
  private handshakeTimer: NodeJS.Timeout | undefined;
  private publishTimer: NodeJS.Timeout | undefined;
  private refuseTimer: NodeJS.Timeout | undefined;
  private bytesIn = 0;
  private lastAckAt = 0;
  private peerWindow: number | undefined;
  private tags = 0;
  private sinkErrors = 0;

  constructor(private readonly opts: RtmpSessionOptions) {
    this.parser = new ChunkStreamParser({
      maxMessageBytes: Math.min(
        opts.pendingMaxMessageBytes ?? PENDING_MAX_MESSAGE_BYTES,
        opts.maxMessageBytes,
      ),
    });
    this.log = opts.logger;
    this.now = opts.now ?? Date.now;
    this.handshakeTimer = setTimeout(() => {
      this.handshakeTimer = undefined;
      this.warn('RTMP_HANDSHAKE_FAILED', {}, 'handshake timed out; closing connection');
      this.close('handshake timeout');
    }, opts.handshakeTimeoutMs);
    this.publishTimer = setTimeout(() => {
      this.publishTimer = undefined;
      this.warn('RTMP_PUBLISH_TIMEOUT', {}, 'no accepted publish in time; closing connection');
      this.close('publish timeout');
    }, opts.publishTimeoutMs ?? DEFAULT_PUBLISH_TIMEOUT_MS);
  }

  /** Whether a publish was accepted on this connection (it is then no longer unauthenticated). */
  get authenticated(): boolean {
    return this.publishTimer === undefined && !this.closed;
  }

  /** Bytes held in partial messages. */
  get bufferedBytes(): number {
    return this.parser.bufferedBytes;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Bytes from the client. A protocol error closes this session only. */
  onData(data: Buffer): void {
    if (this.closed) return;
    try {
      this.bytesIn += data.length;
      let rest = data;
      if (!this.handshake.done) {
        const r = this.handshake.push(data);
        if (r.reply) this.opts.transport.write(r.reply);
        if (!r.done) return;
        clearTimeout(this.handshakeTimer);
        this.handshakeTimer = undefined;
        this.log.debug('handshake complete');
        rest = r.rest;
      }
      if (rest.length > 0) {
        const receivedAt = this.now();
        for (const msg of this.parser.push(rest)) {
          if (this.closed) return;
          this.onMessage(msg, receivedAt);
        }
      }
      this.maybeAcknowledge();
    } catch (err) {
      if (err instanceof TiercastError) {
        this.warn(err.code, { err: err.message }, 'RTMP protocol error; closing connection');
      } else {
        this.log.error({ err: errorMessage(err) }, 'unexpected error handling RTMP data; closing connection');
      }
      this.close('protocol error');
    }
  }

  /** Idempotent. */
  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.handshakeTimer);
    clearTimeout(this.publishTimer);
    clearTimeout(this.refuseTimer);
    this.handshakeTimer = this.publishTimer = this.refuseTimer = undefined;
    this.endPublish(reason);
    this.opts.transport.destroy();
    this.log.debug({ reason }, 'session closed');
    this.opts.onClosed?.(this);
  }

  private onMessage(msg: RtmpMessage, receivedAt: number): void {
    switch (msg.typeId) {
      case MessageType.SET_CHUNK_SIZE:
      case MessageType.ABORT:
        return; // applied by the parser
      case MessageType.ACKNOWLEDGEMENT:
      case MessageType.SET_PEER_BANDWIDTH:
        return;
      case MessageType.WINDOW_ACK_SIZE: {
        const size = readU32Body(msg.payload, 'window acknowledgement size');
        this.peerWindow = size > 0 ? size : undefined;
        return;
      }
      case MessageType.USER_CONTROL: {
        const uc = parseUserControl(msg.payload);
        if (uc.event === UserControlEvent.PING_REQUEST) {
          this.send(userControlMessage(UserControlEvent.PING_RESPONSE, uc.value));
        }
        return;
      }
      case MessageType.COMMAND_AMF0:
        return this.onCommand(msg.streamId, msg.payload);
      case MessageType.COMMAND_AMF3:
        // An AMF3 command starts with a format byte, then AMF0 values (we announce objectEncoding 0).
        return this.onCommand(msg.streamId, msg.payload.subarray(1));
      case MessageType.DATA_AMF0:
      case MessageType.DATA_AMF3:
      case MessageType.AUDIO:
      case MessageType.VIDEO:
      case MessageType.AGGREGATE:
        if (!this.isLive(msg.streamId)) return;
        for (const t of mediaTags(msg)) this.emitTag(t.type, t.timestamp, t.data, receivedAt);
        return;
      default:
        this.log.debug({ type: msg.typeId }, 'ignoring RTMP message type');
    }
  }

  private onCommand(streamId: number, body: Buffer): void {
    const cmd = parseCommand(body);
    if (!cmd) {
      this.log.debug('ignoring command without a name');
      return;
    }
    if (cmd.name === 'connect') return this.onConnect(cmd);
    if (this.app === undefined) {
      this.log.debug({ command: cmd.name.slice(0, 64) }, 'ignoring command before connect');
      return;
    }
    switch (cmd.name) {
      case 'releaseStream':
        return this.send(resultMessage(cmd.txn, undefined));
      case 'FCPublish':
        this.send(onFCPublishMessage());
        if (cmd.txn !== 0) this.send(resultMessage(cmd.txn, undefined));
        return;
      case 'createStream':
        return this.send(resultMessage(cmd.txn, this.nextStreamId++));
      case 'publish':
        return this.onPublishCommand(streamId, cmd.args[0]);
      case 'FCUnpublish':
      case 'deleteStream':
      case 'closeStream':
        return this.endPublish('unpublished');
      default:
        // OBS and others send extras (_checkbw, getStreamLength, …) that a publish-only server may ignore.
        this.log.debug({ command: cmd.name.slice(0, 64) }, 'ignoring unknown command');
    }
  }

  private onConnect(cmd: Command): void {
    if (this.app !== undefined) {
      this.log.debug('ignoring repeated connect');
      return;
    }
    const app = connectApp(cmd.commandObject);
    if (!this.opts.apps.includes(app)) {
      const code = 'NetConnection.Connect.Rejected';
      this.log.warn({ code, app: app.slice(0, 64) }, 'connect to unknown app refused');
      this.send(connectRejectedMessage(cmd.txn));
      this.closeSoon();
      return;
    }
    this.app = app;
    const offered = connectFourCcList(cmd.commandObject);
    const reply = offered ? SUPPORTED_FOURCCS : undefined;
    for (const m of connectAcceptedMessages(cmd.txn, WINDOW_ACK_SIZE, OUT_CHUNK_SIZE, reply)) this.send(m);
    this.log.debug({ app, fourCcList: offered }, 'connected');
  }

  private onPublishCommand(streamId: number, nameValue: AmfValue): void {
    if (this.publish && !this.publish.ended) {
      const description = 'Already publishing on this connection';
      this.send(onStatusMessage(streamId, 'error', 'NetStream.Publish.BadName', description));
      return;
    }
    // Empty, oversize or control characters: an invalid key, refused here without asking anyone.
    if (!isWellFormedStreamKey(nameValue)) {
      this.refuse(streamId, 'BAD_STREAM_KEY');
      return;
    }
    const attempt: PublishAttempt = { streamId, ended: false };
    this.publish = attempt;
    const req: PublishRequest = {
      app: this.app!,
      publishName: nameValue,
      remoteAddress: this.opts.transport.remoteAddress,
    };
    // Promise.resolve().then: an onPublish that throws synchronously is a refusal too.
    const control: PublishControl = {
      fail: (code, description) => this.failPublish(attempt, code, description),
    };
    void Promise.resolve()
      .then(() => this.opts.onPublish(req, control))
      .then(
        (sink) => this.onAccepted(attempt, sink),
        (err: unknown) => this.onRefused(attempt, err, nameValue),
      );
  }

  private onAccepted(attempt: PublishAttempt, sink: PublishSink): void {
    if (this.closed || attempt.ended) {
      // The publisher left (or unpublished) while onPublish was deciding.
      this.closeSink(sink, this.closed ? 'disconnected' : 'unpublished');
      return;
    }
    attempt.sink = sink;
    clearTimeout(this.publishTimer);
    this.publishTimer = undefined;
    this.parser.setMaxMessageBytes(this.opts.maxMessageBytes);
    this.opts.onPublishAccepted?.(this);
    for (const m of publishStartMessages(attempt.streamId)) this.send(m);
    this.log.info({ app: this.app }, 'publish started');
  }

  private onRefused(attempt: PublishAttempt, err: unknown, publishName: string): void {
    attempt.ended = true;
    if (this.closed) return;
    const code = err instanceof TiercastError ? err.code : undefined;
    if (code === undefined) {
      // Not a refusal but a failure; its message might quote the key, so scrub it before logging.
      this.log.error({ err: errorMessage(err).split(publishName).join('[redacted]') }, 'onPublish failed');
    }
    this.refuse(attempt.streamId, code);
  }

  /** `code` undefined: onPublish failed rather than refused. */
  private refuse(streamId: number, code: ErrorCode | undefined): void {
    if (code) this.warn(code, {}, 'publish refused');
    else this.log.warn('publish refused');
    const description = (code && REFUSAL_DESCRIPTIONS[code]) ?? 'Publish refused';
    this.send(onStatusMessage(streamId, 'error', 'NetStream.Publish.BadName', description));
    this.closeSoon();
  }

  /** The consumer gave up on an accepted publish (e.g. a codec the transcoder cannot take). */
  private failPublish(attempt: PublishAttempt, code: ErrorCode, description: string): void {
    if (this.closed || attempt.ended || this.publish !== attempt) return;
    this.log.warn({ code }, 'publish failed; closing connection');
    this.send(onStatusMessage(attempt.streamId, 'error', 'NetStream.Publish.Failed', description));
    this.endPublish(`failed: ${code}`);
    // A client in the middle of publishing reads replies only now and then (ffmpeg: every 10 packets);
    // closing sooner makes its next write fail with EPIPE before it has seen the reason.
    this.closeSoon(FAILURE_CLOSE_DELAY_MS);
  }

  private isLive(streamId: number): boolean {
    const p = this.publish;
    return p !== undefined && !p.ended && p.sink !== undefined && p.streamId === streamId;
  }

  private emitTag(type: 8 | 9 | 18, timestamp: number, data: Buffer, receivedAt: number): void {
    const sink = this.publish?.sink;
    if (!sink || data.length === 0) return;
    const tag: FlvTag = { type, timestamp, data, receivedAt };
    this.tags++;
    // A failing consumer must not take the publisher down; log the first failure, count the rest.
    const log = this.sinkErrors === 0 ? this.log : undefined;
    if (!callSafely(log, 'publish sink onTag threw', {}, () => sink.onTag(tag))) this.sinkErrors++;
  }

  private endPublish(reason: string): void {
    const p = this.publish;
    if (!p || p.ended) return;
    p.ended = true;
    if (p.sink) {
      this.log.info({ reason, tags: this.tags, sinkErrors: this.sinkErrors || undefined }, 'publish ended');
      this.closeSink(p.sink, reason);
    }
  }

  private closeSink(sink: PublishSink, reason: string): void {
    callSafely(this.log, 'publish sink close threw', {}, () => sink.close(reason));
  }

  private maybeAcknowledge(): void {
    const window = this.peerWindow ?? WINDOW_ACK_SIZE;
    if (this.closed || this.bytesIn - this.lastAckAt < window) return;
    this.lastAckAt = this.bytesIn;
    this.send(controlMessage(MessageType.ACKNOWLEDGEMENT, acknowledgementBody(this.bytesIn % 2 ** 32)));
  }

  private closeSoon(delayMs = this.opts.refuseCloseDelayMs ?? 250): void {
    if (this.refuseTimer) return;
    this.refuseTimer = setTimeout(() => {
      this.refuseTimer = undefined;
      // By now the status has reached the client (ffmpeg prints it and exits on its own).
      this.close('refused');
    }, delayMs);
  }

  private warn(code: ErrorCode, fields: Record<string, unknown>, msg: string): void {
    if (this.opts.allowWarning?.(code) ?? true) this.log.warn({ code, ...fields }, msg);
  }

  private send(msg: OutgoingMessage): void {
    if (this.closed) return;
    this.opts.transport.write(this.encoder.encode(msg));
    // Set Chunk Size goes out at the old size and applies to everything after it.
    if (msg.typeId === MessageType.SET_CHUNK_SIZE)
      this.encoder.setChunkSize(readU32Body(msg.payload, 'set chunk size'));
  }
}
