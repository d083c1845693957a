/**
 * HTTPS and WSS served by the node itself (uWebSockets.js SSLApp), with certificates that can be replaced
 * without a restart. uWS cannot change an app's certificate, so a reload builds a second SSLApp from the
 * new files, gives it every route the first one got (they are recorded as they are registered), listens on
 * the same address (uWS listens with SO_REUSEPORT) and only then closes the first app's listening socket:
 * new connections get the new certificate, connections already open stay on the old app until they end,
 * and `publish` reaches the subscribers of every app. Files are checked with Node's TLS before uWS sees
 * them, so a bad certificate is a clear error (at start: the node does not start; at reload: the old one
 * stays).
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createSecureContext } from 'node:tls';
import type uWS from 'uWebSockets.js';
import { ConfigError } from '../errors/index.js';
import type { Logger } from '../logging/index.js';

export interface TlsFiles {
  /** PEM certificate chain (the leaf first). */
  cert: string;
  /** PEM private key. */
  key: string;
  passphrase?: string;
}

type App = uWS.TemplatedApp;

/** Whatever serves TLS in this process and is listening: SIGHUP reloads them all (`kill -HUP`). */
const live = new Set<{ reload(): Promise<boolean> }>();
let onSignal: (() => void) | undefined;

/** Reloads every listening TLS app's certificate; resolves with each outcome. */
export function reloadAllTls(): Promise<boolean[]> {
  return Promise.all([...live].map((t) => t.reload()));
}

/** Adds a TLS server to the SIGHUP reload; returns its removal. */
export function reloadOnSignal(r: { reload(): Promise<boolean> }): () => void {
  live.add(r);
  watchSignal();
  return () => live.delete(r);
}

/** The PEM files read for Node's TLS (tls.createServer, setSecureContext). */
export function readTlsFiles(files: TlsFiles): { cert: Buffer; key: Buffer; passphrase?: string } {
  return { cert: readFileSync(files.cert), key: readFileSync(files.key), passphrase: files.passphrase };
}

function watchSignal(): void {
  if (onSignal) return;
  onSignal = () => void reloadAllTls();
  process.on('SIGHUP', onSignal);
}
type Registration = { method: string; args: unknown[] };

const ROUTE_METHODS = new Set([
  'get',
  'post',
  'put',
  'patch',
  'del',
  'options',
  'head',
  'any',
  'connect',
  'trace',
  'ws',
]);

/** Throws ConfigError naming the file when the pair does not load (missing, not PEM, key does not match). */
export function checkTlsFiles(files: TlsFiles, what = 'tls'): void {
  let cert: Buffer;
  let key: Buffer;
  try {
    cert = readFileSync(files.cert);
    key = readFileSync(files.key);
  } catch (err) {
    throw new ConfigError(`${what}: cannot read the certificate or key: ${(err as Error).message}`);
  }
  try {
    createSecureContext({ cert, key, passphrase: files.passphrase });
  } catch (err) {
    throw new ConfigError(`${what}: the certificate and key do not load: ${(err as Error).message}`);
  }
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const addr = s.address();
      s.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

export class TlsApp {
  /** What the node's modules register routes on; every call is also kept for the next app. */
  readonly app: App;
  private current: App;
  private readonly apps: App[] = [];
  private readonly registrations: Registration[] = [];
  private listening: { host: string; port: number; token: uWS.us_listen_socket } | undefined;
  private closed = false;

  constructor(
    private readonly uws: typeof uWS,
    private readonly files: TlsFiles,
    private readonly logger: Logger,
  ) {
    checkTlsFiles(files);
    this.current = this.build();
    this.app = this.facade();
  }

  private build(): App {
    const app = this.uws.SSLApp({
      cert_file_name: this.files.cert,
      key_file_name: this.files.key,
      ...(this.files.passphrase ? { passphrase: this.files.passphrase } : {}),
    });
    for (const r of this.registrations) (app[r.method as 'get'] as (...a: unknown[]) => App)(...r.args);
    this.apps.push(app);
    return app;
  }

  private facade(): App {
    return new Proxy(this.current, {
      get: (_target, prop) => {
        if (typeof prop === 'string' && ROUTE_METHODS.has(prop))
          return (...args: unknown[]) => {
            this.registrations.push({ method: prop, args });
            (this.current[prop as 'get'] as (...a: unknown[]) => App)(...args);
            return this.app;
          };
        if (prop === 'publish')
          return (...args: Parameters<App['publish']>) => {
            let any = false;
            for (const a of this.apps) any = a.publish(...args) || any;
            return any;
          };
        if (prop === 'numSubscribers')
          return (topic: string) => this.apps.reduce((n, a) => n + a.numSubscribers(topic), 0);
        const value: unknown = Reflect.get(this.current, prop);
        return typeof value === 'function'
          ? (value as (...a: unknown[]) => unknown).bind(this.current)
          : value;
      },
    });
  }

  async listen(host: string, port: number): Promise<{ port: number; close(): void }> {
    // uSockets sets SO_REUSEPORT, which a reload's second socket needs, only on a port it was given: for
    // port 0 (tests) a free port is found first.
    const wanted = port === 0 ? await freePort(host) : port;
    return this.listenApp(this.current, host, wanted).then((token) => {
      const bound = this.uws.us_socket_local_port(token);
      this.listening = { host, port: bound, token };
      live.add(this);
      watchSignal();
      return {
        port: bound,
        close: () => {
          if (this.closed) return;
          this.closed = true;
          live.delete(this);
          if (this.listening) this.uws.us_listen_socket_close(this.listening.token);
        },
      };
    });
  }

  private listenApp(app: App, host: string, port: number): Promise<uWS.us_listen_socket> {
    return new Promise((resolve, reject) =>
      app.listen(host, port, (token) =>
        token
          ? resolve(token)
          : reject(new Error(`cannot listen on ${host}:${port} (in use or not permitted)`)),
      ),
    );
  }

  /**
   * Reads the files again and serves new connections with them. Resolves true when the new certificate is
   * in use; false (logged with TLS_RELOAD_FAILED, the old one still served) when the files do not load.
   */
  async reload(): Promise<boolean> {
    if (this.closed || !this.listening) return false;
    try {
      checkTlsFiles(this.files);
    } catch (err) {
      this.logger.error(
        { code: 'TLS_RELOAD_FAILED', err: (err as Error).message },
        'TLS certificate not reloaded: keeping the one in use',
      );
      return false;
    }
    const next = this.build();
    const { host, port, token } = this.listening;
    const nextToken = await this.listenApp(next, host, port).catch((err: Error) => {
      this.logger.error({ code: 'TLS_RELOAD_FAILED', err: err.message }, 'TLS certificate not reloaded');
      return undefined;
    });
    if (!nextToken) return false;
    this.current = next;
    this.listening = { host, port, token: nextToken };
    this.uws.us_listen_socket_close(token);
    this.logger.info({ port, cert: this.files.cert }, 'TLS certificate reloaded');
    return true;
  }
}
