/**
 * Errors of the hub's store, auth and admin functions: a TiercastError whose code is one of the API group
 * (HubErrorCode). Transport maps `code` to HTTP. Messages carry context as `[streamer:alice]` and never
 * contain a stream key or a password.
 */
import { TiercastError, type ErrorContext } from '../../common/errors/index.js';
import type { HubErrorCode } from './types.js';

export type { ErrorContext };

export class HubError extends TiercastError {
  declare readonly code: HubErrorCode;

  constructor(
    code: HubErrorCode,
    message: string,
    context: ErrorContext = {},
    options?: { cause?: unknown },
  ) {
    super(code, message, context, options);
    this.name = 'HubError';
  }
}

export function isHubError(err: unknown, code?: HubErrorCode): err is HubError {
  return err instanceof HubError && (code === undefined || err.code === code);
}

export function hubErrorCode(err: unknown): HubErrorCode | undefined {
  return err instanceof HubError ? err.code : undefined;
}
