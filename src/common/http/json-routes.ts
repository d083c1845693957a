/**
 * JSON API routes over uWebSockets.js: reads a bounded body, parses JSON, calls an async handler with a
 * plain request object, maps errors with a `code` to statuses, and logs refusals with their code.
 * Handlers never see uWS objects, so API logic stays transport-free and testable.
 */
import { TiercastError, type ErrorCode } from '../errors/index.js';
import type { Logger } from '../logging/index.js';
import type { App, HttpResponse } from './uws-server.js';
import { BodyTooLarge, parseCookies, readBody, requestInfo, type RequestInfo } from './request.js';

export interface ApiRequest extends RequestInfo {
  params: string[];
  cookies: Record<string, string>;
  body: unknown;
  rawBody: Buffer;
}

export interface ApiResponse {
  status?: number;
  body?: unknown;
  /** Raw bytes instead of JSON (images). */
  raw?: { data: Buffer; contentType: string };
  headers?: Record<string, string>;
  cookies?: string[];
}

export type ApiHandler = (req: ApiRequest) => Promise<ApiResponse> | ApiResponse;

/** Error codes → HTTP statuses (docs/errors.md). Other codes are 400; an error without a code is 500. */
const STATUS: Partial<Record<ErrorCode, number>> = {
  BAD_REQUEST: 400,
  INVALID_VALUE: 400,
  PAYLOAD_TOO_LARGE: 413,
  UNAUTHENTICATED: 401,
  BAD_CREDENTIALS: 401,
  BAD_STREAM_KEY: 403,
  CLUSTER_AUTH_FAILED: 401,
  CSRF_FAILED: 403,
  FORBIDDEN: 403,
  PASSWORD_REQUIRED: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  UNKNOWN_NAME: 404,
  STREAM_NOT_FOUND: 404,
  VIDEO_NOT_FOUND: 404,
  STORAGE_UNAVAILABLE: 503,
  DUPLICATE_NAME: 409,
  RATE_LIMITED: 429,
  HUB_UNAVAILABLE: 503,
  WEBHOOK_TARGET_REFUSED: 400,
  WEBHOOK_LIMIT: 409,
  PUSH_ENDPOINT_REFUSED: 400,
  PUSH_LIMIT: 409,
  PUSH_UNAVAILABLE: 503,
  RESTREAM_TARGET_REFUSED: 400,
  RESTREAM_LIMIT: 409,
  ANALYTICS_DISABLED: 503,
};

const TEXT: Record<number, string> = {
  200: '200 OK',
  201: '201 Created',
  204: '204 No Content',
  400: '400 Bad Request',
  401: '401 Unauthorized',
  403: '403 Forbidden',
  404: '404 Not Found',
  405: '405 Method Not Allowed',
  409: '409 Conflict',
  413: '413 Payload Too Large',
  429: '429 Too Many Requests',
  500: '500 Internal Server Error',
  502: '502 Bad Gateway',
  503: '503 Service Unavailable',
};

export function statusLine(status: number): string {
  return TEXT[status] ?? `${status} Status`;
}

/** An API refusal with its HTTP status (by default the code's). */
export class ApiError extends TiercastError {
  readonly status: number;

  constructor(code: ErrorCode, message: string, status = STATUS[code] ?? 400) {
    super(code, message);
    this.name = 'ApiError';
    this.status = status;
  }
}

export function errorStatus(err: unknown): { status: number; code: ErrorCode; message: string } {
  if (err instanceof ApiError) return { status: err.status, code: err.code, message: err.message };
  if (err instanceof BodyTooLarge) return { status: 413, code: 'PAYLOAD_TOO_LARGE', message: err.message };
  if (err instanceof TiercastError)
    return { status: STATUS[err.code] ?? 400, code: err.code, message: err.message };
  return { status: 500, code: 'INTERNAL', message: 'internal error' };
}

export function writeApiResponse(res: HttpResponse, r: ApiResponse): void {
  res.cork(() => {
    res.writeStatus(statusLine(r.status ?? 200));
    res.writeHeader('cache-control', 'no-store');
    res.writeHeader('x-content-type-options', 'nosniff');
    for (const [k, v] of Object.entries(r.headers ?? {})) res.writeHeader(k, v);
    for (const c of r.cookies ?? []) res.writeHeader('set-cookie', c);
    if (r.raw) {
      res.writeHeader('content-type', r.raw.contentType);
      res.end(r.raw.data);
    } else if (r.body === undefined) {
      res.end();
    } else {
      res.writeHeader('content-type', 'application/json');
      res.end(JSON.stringify(r.body));
    }
  });
}

export function addJsonRoute(
  app: App,
  method: 'get' | 'post' | 'put' | 'patch' | 'del',
  pattern: string,
  handler: ApiHandler,
  opts: { logger: Logger; maxBodyBytes?: number; paramCount?: number },
): void {
  app[method](pattern, (res, req) => {
    const info = requestInfo(res, req);
    const params: string[] = [];
    for (let i = 0; i < (opts.paramCount ?? 4); i++) params.push(req.getParameter(i) ?? '');
    let aborted = false;
    const respond = (r: ApiResponse) => {
      if (!aborted) writeApiResponse(res, r);
    };
    const run = async () => {
      let rawBody: Buffer = Buffer.alloc(0);
      if (method !== 'get' && method !== 'del') rawBody = await readBody(res, opts.maxBodyBytes ?? 64 * 1024);
      else
        res.onAborted(() => {
          aborted = true;
        });
      let body: unknown = undefined;
      const type = info.headers['content-type'] ?? '';
      if (rawBody.length && type.includes('application/json')) {
        try {
          body = JSON.parse(rawBody.toString('utf8'));
        } catch {
          throw new ApiError('BAD_REQUEST', 'body is not valid JSON');
        }
      }
      return handler({ ...info, params, cookies: parseCookies(info.headers.cookie ?? ''), body, rawBody });
    };
    run().then(respond, (err: unknown) => {
      if ((err as Error)?.message === 'client aborted') {
        aborted = true;
        return;
      }
      const e = errorStatus(err);
      if (e.status >= 500) opts.logger.error({ err, route: pattern }, 'request failed');
      else opts.logger.info({ route: pattern, code: e.code, remote: info.remote }, 'request refused');
      respond({ status: e.status, body: { error: { code: e.code, message: e.message } } });
    });
  });
}
