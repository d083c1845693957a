/**
 * tiercast errors: a few classes with stable string codes. Every code is listed in docs/errors.md.
 * Only transport code maps codes to HTTP statuses, RTMP status messages or WebSocket close codes.
 */
export type ErrorCode =
  // configuration
  | 'CONFIG_INVALID'
  // ingest
  | 'BAD_STREAM_KEY'
  | 'STREAM_ALREADY_LIVE'
  | 'RTMP_PROTOCOL_ERROR'
  | 'RTMP_HANDSHAKE_FAILED'
  | 'RTMP_MESSAGE_TOO_LARGE'
  | 'RTMP_PUBLISH_TIMEOUT'
  | 'RTMP_TOO_MANY_CONNECTIONS'
  | 'UNSUPPORTED_CODEC'
  // transcoding
  | 'TRANSCODER_START_FAILED'
  | 'TRANSCODER_DIED'
  | 'TRANSCODER_STALLED'
  | 'MP4_PARSE_ERROR'
  // other child processes (capture input, demo publisher)
  | 'PROCESS_START_FAILED'
  | 'PROCESS_DIED'
  // inter-tier protocol
  | 'PROTOCOL_MALFORMED_FRAME'
  | 'PROTOCOL_VERSION_MISMATCH'
  | 'PROTOCOL_FRAME_TOO_LARGE'
  | 'CLUSTER_AUTH_FAILED'
  | 'UPSTREAM_TIMEOUT'
  | 'UPSTREAM_UNAVAILABLE'
  | 'PARENT_AT_CAPACITY'
  | 'PARENT_LOOP'
  // delivery
  | 'STREAM_NOT_FOUND'
  | 'SEGMENT_NOT_FOUND'
  | 'BAD_REQUEST'
  | 'SLOW_CONSUMER'
  // hub
  | 'HUB_UNAVAILABLE'
  | 'THUMBNAIL_FAILED';

export class TiercastError extends Error {
  readonly code: ErrorCode;
  readonly context: Record<string, string | number | undefined>;

  constructor(code: ErrorCode, message: string, context: Record<string, string | number | undefined> = {}, options?: { cause?: unknown }) {
    const ctx = Object.entries(context)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}:${String(v)}`)
      .join(', ');
    super(ctx ? `${message} [${ctx}]` : message, options);
    this.name = 'TiercastError';
    this.code = code;
    this.context = context;
  }
}

/** Configuration problems: stop start-up with the key named. */
export class ConfigError extends TiercastError {
  constructor(message: string, context: Record<string, string | number | undefined> = {}) {
    super('CONFIG_INVALID', message, context);
    this.name = 'ConfigError';
  }
}

/** Bytes from a peer that do not follow the protocol: close that peer, keep serving everyone else. */
export class ProtocolError extends TiercastError {
  constructor(code: ErrorCode, message: string, context: Record<string, string | number | undefined> = {}) {
    super(code, message, context);
    this.name = 'ProtocolError';
  }
}

/** Child processes (ffmpeg) that failed to start or died. */
export class ProcessError extends TiercastError {
  constructor(code: ErrorCode, message: string, context: Record<string, string | number | undefined> = {}, options?: { cause?: unknown }) {
    super(code, message, context, options);
    this.name = 'ProcessError';
  }
}

export function errorCode(err: unknown): ErrorCode | undefined {
  return err instanceof TiercastError ? err.code : undefined;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
