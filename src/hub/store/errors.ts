/**
 * Errors of the hub's store, auth and admin functions. HubError extends Error rather than TiercastError
 * because its codes (HubErrorCode, listed in ./types.ts) are not TiercastError's ErrorCode: pretending
 * otherwise would let `errorCode()` return codes its type does not admit. Transport maps `code` to HTTP.
 * Messages carry context as `[streamer:alice]` and never contain a stream key or a password.
 */
import type { HubErrorCode } from './types.js';

export type ErrorContext = Record<string, string | number | undefined>;

export class HubError extends Error {
  readonly code: HubErrorCode;
  readonly context: ErrorContext;

  constructor(
    code: HubErrorCode,
    message: string,
    context: ErrorContext = {},
    options?: { cause?: unknown },
  ) {
    const ctx = Object.entries(context)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}:${String(v)}`)
      .join(', ');
    super(ctx ? `${message} [${ctx}]` : message, options);
    this.name = 'HubError';
    this.code = code;
    this.context = context;
  }
}

export function isHubError(err: unknown, code?: HubErrorCode): err is HubError {
  return err instanceof HubError && (code === undefined || err.code === code);
}

export function hubErrorCode(err: unknown): HubErrorCode | undefined {
  return err instanceof HubError ? err.code : undefined;
}
