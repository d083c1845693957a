/**
 * Transport helpers around uWebSockets.js shared by every node: listening (port 0 for tests),
 * closing, small response helpers and the /metrics route.
 */
import type uWS from 'uWebSockets.js';
import type { Registry } from 'prom-client';
import type { ErrorCode } from '../errors/index.js';
import type { Logger } from '../logging/index.js';
import { nativeUws } from './uws-runtime.js';
import { createLogger } from '../logging/index.js';
import { withHead } from './head.js';
import { TlsApp, type TlsFiles } from './tls-app.js';

export type App = uWS.TemplatedApp;
export type HttpResponse = uWS.HttpResponse;
export type HttpRequest = uWS.HttpRequest;
export type { WebSocket } from 'uWebSockets.js';

export interface Listening {
  port: number;
  close(): void;
}

/** Apps that serve TLS themselves, by the app their node registers routes on. */
const tlsApps = new WeakMap<App, TlsApp>();

/**
 * Throws UWS_NATIVE_UNAVAILABLE when no native uWebSockets.js build loads (./uws-runtime.ts). With `tls`,
 * HTTPS/WSS with certificates reloaded on SIGHUP (./tls-app.ts); `head` answers HEAD wherever GET exists.
 */
export function createApp(opts: { tls?: TlsFiles; logger?: Logger; head?: boolean } = {}): App {
  let app: App;
  if (opts.tls) {
    const t = new TlsApp(nativeUws(), opts.tls, opts.logger ?? createLogger('tls'));
    app = opts.head ? withHead(t.app) : t.app;
    tlsApps.set(app, t);
  } else {
    app = opts.head ? withHead(nativeUws().App()) : nativeUws().App();
  }
  return app;
}

export function listen(app: App, host: string, port: number): Promise<Listening> {
  const t = tlsApps.get(app);
  if (t) return t.listen(host, port);
  return new Promise((resolve, reject) => {
    app.listen(host, port, (token) => {
      if (!token) {
        reject(new Error(`cannot listen on ${host}:${port} (in use or not permitted)`));
        return;
      }
      let closed = false;
      resolve({
        port: nativeUws().us_socket_local_port(token),
        close: () => {
          if (closed) return;
          closed = true;
          nativeUws().us_listen_socket_close(token);
        },
      });
    });
  });
}

export function remoteAddress(res: HttpResponse | uWS.WebSocket<unknown>): string {
  return Buffer.from(res.getRemoteAddressAsText()).toString();
}

/** Ends a response with a body; everything written inside one cork (one syscall). */
export function send(
  res: HttpResponse,
  status: string,
  body: string | Buffer,
  headers: Record<string, string> = {},
): void {
  res.cork(() => {
    res.writeStatus(status);
    for (const [k, v] of Object.entries(headers)) res.writeHeader(k, v);
    res.end(body);
  });
}

export function sendError(
  res: HttpResponse,
  status: string,
  code: ErrorCode,
  message: string,
  headers: Record<string, string> = {},
): void {
  send(res, status, JSON.stringify({ error: { code, message } }), {
    'content-type': 'application/json',
    'cache-control': 'no-store',
    ...headers,
  });
}

export function addMetricsRoute(app: App, registry: Registry, logger: Logger): void {
  app.get('/metrics', (res) => {
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    registry.metrics().then(
      (text) => {
        if (!aborted) send(res, '200 OK', text, { 'content-type': registry.contentType });
      },
      (err: unknown) => {
        logger.error({ err }, 'metrics collection failed');
        if (!aborted)
          sendError(res, '500 Internal Server Error', 'METRICS_FAILED', 'metrics collection failed');
      },
    );
  });
}
