/**
 * tiercast errors: one family, TiercastError and a few subclasses, with stable string codes from one list
 * (./codes.ts, every code listed in docs/errors.md). The hub's HubError and ChatError and the HTTP layer's
 * ApiError are subclasses too, so `errorCode()` and the transports treat every error alike. Only transport
 * code maps codes to HTTP statuses, RTMP status messages or WebSocket close codes.
 */
import type { ErrorCode } from './codes.js';

export {
  API_ERROR_CODES,
  CHAT_NOTICE_CODES,
  ERROR_CODES,
  NODE_ERROR_CODES,
  isErrorCode,
  type ApiErrorCode,
  type ChatNoticeCode,
  type ErrorCode,
  type NodeErrorCode,
} from './codes.js';

export type ErrorContext = Record<string, string | number | undefined>;

export class TiercastError extends Error {
  readonly code: ErrorCode;
  readonly context: ErrorContext;

  constructor(code: ErrorCode, message: string, context: ErrorContext = {}, options?: { cause?: unknown }) {
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
  constructor(message: string, context: ErrorContext = {}) {
    super('CONFIG_INVALID', message, context);
    this.name = 'ConfigError';
  }
}

/** Bytes from a peer that do not follow the protocol: close that peer, keep serving everyone else. */
export class ProtocolError extends TiercastError {
  constructor(code: ErrorCode, message: string, context: ErrorContext = {}) {
    super(code, message, context);
    this.name = 'ProtocolError';
  }
}

/** Child processes (ffmpeg) that failed to start or died. */
export class ProcessError extends TiercastError {
  constructor(code: ErrorCode, message: string, context: ErrorContext = {}, options?: { cause?: unknown }) {
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
