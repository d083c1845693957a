/**
 * What an RtmpSession is given (transport, callbacks, limits) and the constants of its side of the
 * protocol. Split from rtmp-session.ts, which holds the state machine.
 */
import type { ErrorCode } from '../../common/errors/index.js';
import type { Logger } from '../../common/logging/index.js';
import type { PublishControl, PublishRequest, PublishSink } from './types.js';
import type { RtmpSession } from './rtmp-session.js';

export interface SessionTransport {
  /** The peer's IP address, passed to onPublish. */
  readonly remoteAddress: string;
  write(data: Buffer): void;
  destroy(): void;
}

export interface RtmpSessionOptions {
  transport: SessionTransport;
  onPublish(req: PublishRequest, control: PublishControl): Promise<PublishSink>;
  apps: readonly string[];
  maxMessageBytes: number;
  handshakeTimeoutMs: number;
  /** Handshake + connect + publish must be accepted within this. Default 10 000 ms. */
  publishTimeoutMs?: number;
  /** Largest message before a publish is accepted. Default PENDING_MAX_MESSAGE_BYTES. */
  pendingMaxMessageBytes?: number;
  /** Called once when a publish is accepted: the peer is no longer unauthenticated. */
  onPublishAccepted?(session: RtmpSession): void;
  /**
   * Whether a warning with this code may be logged now (the server rate-limits them per address: a peer
   * that reconnects in a loop must not write a line per connection). Default: always.
   */
  allowWarning?(code: ErrorCode): boolean;
  /** Already bound to the connection (e.g. `{ remote: 'ip:port' }`): the session adds no bindings. */
  logger: Logger;
  onClosed?(session: RtmpSession): void;
  /** Delay between a refusal status and closing, so the client reads the reason. Default 250 ms. */
  refuseCloseDelayMs?: number;
  now?: () => number;
}

/**
 * The acknowledgement window we announce, and the one we acknowledge by until the client announces
 * its own (nginx-rtmp does the same; ffmpeg and OBS only log missing acks, Flash-era clients stall).
 */
export const WINDOW_ACK_SIZE = 2_500_000;
/** Outgoing chunk size: our largest message (the connect _result) fits in one chunk. */
export const OUT_CHUNK_SIZE = 4096;

/**
 * Before a publish is accepted a peer has sent nothing but a handshake and a few commands (an OBS
 * connect is ~500 bytes): 64 KiB is ample, and 128 KiB of partial messages per unauthenticated
 * connection (instead of 2 x rtmpMaxMessageBytes) is what keeps many of them from exhausting memory.
 */
export const PENDING_MAX_MESSAGE_BYTES = 64 * 1024;
export const DEFAULT_PUBLISH_TIMEOUT_MS = 10_000;
/** Between NetStream.Publish.Failed and closing: long enough for a busy publisher to read it. */
export const FAILURE_CLOSE_DELAY_MS = 2000;

export const REFUSAL_DESCRIPTIONS: Partial<Record<ErrorCode, string>> = {
  BAD_STREAM_KEY: 'Invalid stream key',
  STREAM_ALREADY_LIVE: 'Stream already publishing',
  HUB_UNAVAILABLE: 'Stream keys cannot be checked right now; try again shortly',
};
