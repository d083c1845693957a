/**
 * The part of Consul's HTTP API tiercast uses, over the npm `consul` client. This is the only module that
 * knows that client; everything it returns is validated here or by consul-records.ts.
 *
 * The client does what we need (blocking queries with `index`/`wait`, per-request timeout and cancellation,
 * sessions, KV acquire/release), but its bundled typings leave out the blocking-query options and the
 * response access (`ctx.includeResponse`), and declare `timeout` required on every check. So the client is
 * seen through `ConsulClient` below: the subset we call, typed as the library behaves (lib/utils.js options(),
 * responseResult()).
 */
import { EventEmitter } from 'node:events';
import Consul from 'consul';
import { z } from 'zod';
import { formatDuration, type ServiceRegistration } from './consul-records.js';

interface RequestOptions {
  /** papi: absolute request timeout in ms. */
  timeout?: number;
  /** papi: an EventEmitter; emitting 'cancel' aborts the request. With includeResponse, results are [res, body]. */
  ctx?: EventEmitter;
}

interface ConsulClient {
  agent: {
    service: {
      register(o: RequestOptions & Record<string, unknown>): Promise<unknown>;
      deregister(o: RequestOptions & { id: string }): Promise<unknown>;
    };
    check: { pass(o: RequestOptions & { id: string }): Promise<unknown> };
  };
  health: {
    service(
      o: RequestOptions & { service: string; passing?: boolean; index?: string; wait?: string },
    ): Promise<unknown>;
  };
  session: {
    create(
      o: RequestOptions & {
        name?: string;
        ttl?: string;
        behavior?: 'release' | 'delete';
        lockdelay?: string;
      },
    ): Promise<unknown>;
    renew(o: RequestOptions & { id: string }): Promise<unknown>;
    destroy(o: RequestOptions & { id: string }): Promise<unknown>;
  };
  kv: {
    get(o: RequestOptions & { key: string }): Promise<unknown>;
    set(
      o: RequestOptions & { key: string; value: string; acquire?: string; release?: string; cas?: number },
    ): Promise<unknown>;
    del(o: RequestOptions & { key: string; cas?: number }): Promise<unknown>;
  };
  destroy(): void;
}

/**
 * A Consul call that failed: no answer (connection refused, timeout), an HTTP error status, or an answer we
 * could not read (`malformed`). Only the first and a 5xx are an outage.
 */
export class ConsulCallError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
    options?: { cause?: unknown; malformed?: boolean },
  ) {
    super(message, options);
    this.name = 'ConsulCallError';
    this.malformed = options?.malformed ?? false;
  }

  readonly malformed: boolean;

  /** Consul answered and refused this request (bad request, ACL, unknown check, missing session…). */
  get rejected(): boolean {
    return this.status !== undefined && this.status >= 400 && this.status < 500;
  }

  /** Our own close() cancelled the request. */
  get aborted(): boolean {
    return this.status === undefined && this.message.includes('request aborted');
  }

  /** Consul did not answer, or answered that it cannot serve (5xx: no leader, agent trouble). */
  get outage(): boolean {
    return this.status === undefined ? !this.malformed && !this.aborted : this.status >= 500;
  }
}

export interface KvEntry {
  key: string;
  value: string | null;
  session: string | undefined;
  modifyIndex: number;
}

export interface HealthAnswer {
  /** X-Consul-Index as sent (a decimal string, possibly beyond 2^53). */
  index: string | undefined;
  body: unknown;
}

export interface ConsulApiOptions {
  address: string;
  token?: string | undefined;
  requestTimeoutMs: number;
}

const kvItemSchema = z.object({
  Key: z.string(),
  Value: z.string().nullish(),
  Session: z.string().optional(),
  ModifyIndex: z.number(),
});
const sessionCreatedSchema = z.object({ ID: z.string().min(1).max(128) });

/** Requests carry a cancellable context so that close() never waits for a 10 s blocking query. */
class RequestContext extends EventEmitter {
  readonly includeResponse: boolean;
  constructor(includeResponse: boolean) {
    super();
    this.includeResponse = includeResponse;
  }
}

export class ConsulApi {
  private readonly client: ConsulClient;
  private readonly inFlight = new Set<RequestContext>();
  private closed = false;

  constructor(private readonly opts: ConsulApiOptions) {
    const url = new URL(opts.address);
    const secure = url.protocol === 'https:';
    const lib = new Consul({
      host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: url.port ? Number(url.port) : secure ? 443 : 80,
      secure,
      // The token goes in the X-Consul-Token header (never in a URL, never logged).
      defaults: opts.token ? { token: opts.token } : {},
    });
    this.client = lib as unknown as ConsulClient;
  }

  async registerService(reg: ServiceRegistration): Promise<void> {
    await this.call('register service', (o) =>
      this.client.agent.service.register({
        ...o,
        id: reg.ID,
        name: reg.Name,
        tags: reg.Tags,
        address: reg.Address,
        port: reg.Port,
        meta: reg.Meta,
        check: {
          checkid: reg.Check.CheckID,
          name: reg.Check.Name,
          ttl: reg.Check.TTL,
          status: reg.Check.Status,
          deregistercriticalserviceafter: reg.Check.DeregisterCriticalServiceAfter,
        },
      }),
    );
  }

  async deregisterService(id: string): Promise<void> {
    await this.call('deregister service', (o) => this.client.agent.service.deregister({ ...o, id }));
  }

  async passCheck(id: string): Promise<void> {
    await this.call('pass check', (o) => this.client.agent.check.pass({ ...o, id }));
  }

  /** A blocking query (when `index` is given) on the passing instances of a service. */
  async healthService(
    service: string,
    q: { index: string | undefined; waitS: number },
  ): Promise<HealthAnswer> {
    // Consul adds up to wait/16 of jitter; past that (plus a normal request's timeout) the agent is not answering.
    const waitMs = q.waitS * 1000;
    const timeout = waitMs + Math.ceil(waitMs / 16) + this.opts.requestTimeoutMs;
    const result = await this.call(
      'health query',
      (o) =>
        this.client.health.service({
          ...o,
          service,
          passing: true,
          ...(q.index !== undefined ? { index: q.index, wait: formatDuration(waitMs) } : {}),
        }),
      { timeout, includeResponse: true },
    );
    if (!Array.isArray(result) || result.length < 1)
      throw new ConsulCallError('health query: unexpected client result', undefined, { malformed: true });
    const res: unknown = result[0];
    const header =
      res !== null && typeof res === 'object' && 'headers' in res
        ? (res.headers as Record<string, unknown>)['x-consul-index']
        : undefined;
    return { index: typeof header === 'string' ? header : undefined, body: result[1] ?? [] };
  }

  async createSession(o: {
    name: string;
    ttlMs: number;
    lockDelayMs: number;
    behavior: 'release' | 'delete';
  }): Promise<string> {
    const body = await this.call('create session', (r) =>
      this.client.session.create({
        ...r,
        name: o.name,
        ttl: formatDuration(o.ttlMs),
        behavior: o.behavior,
        lockdelay: formatDuration(o.lockDelayMs),
      }),
    );
    const parsed = sessionCreatedSchema.safeParse(body);
    if (!parsed.success)
      throw new ConsulCallError('create session: malformed answer', undefined, { malformed: true });
    return parsed.data.ID;
  }

  /** False when Consul no longer knows the session (expired or destroyed). */
  async renewSession(id: string): Promise<boolean> {
    try {
      await this.call('renew session', (o) => this.client.session.renew({ ...o, id }));
      return true;
    } catch (err) {
      if (err instanceof ConsulCallError && err.status === 404) return false;
      throw err;
    }
  }

  async destroySession(id: string): Promise<void> {
    await this.call('destroy session', (o) => this.client.session.destroy({ ...o, id }));
  }

  // KV writes answer `true` or `false`. The client resolves a `false` body as undefined (papi treats a falsy
  // value as "no value"), so these calls ask for [response, body] to read the real answer.
  async kvAcquire(key: string, value: string, session: string): Promise<boolean> {
    return booleanAnswer(
      'kv acquire',
      await this.call('kv acquire', (o) => this.client.kv.set({ ...o, key, value, acquire: session }), {
        includeResponse: true,
      }),
    );
  }

  async kvRelease(key: string, value: string, session: string): Promise<boolean> {
    return booleanAnswer(
      'kv release',
      await this.call('kv release', (o) => this.client.kv.set({ ...o, key, value, release: session }), {
        includeResponse: true,
      }),
    );
  }

  async kvGet(key: string): Promise<KvEntry | undefined> {
    const item = await this.call('kv get', (o) => this.client.kv.get({ ...o, key }));
    if (item === undefined || item === null) return undefined;
    const parsed = kvItemSchema.safeParse(item);
    if (!parsed.success || parsed.data.Key !== key)
      throw new ConsulCallError('kv get: malformed answer', undefined, { malformed: true });
    return {
      key,
      value: parsed.data.Value ?? null,
      session: parsed.data.Session || undefined,
      modifyIndex: parsed.data.ModifyIndex,
    };
  }

  async kvDelete(key: string, cas?: number): Promise<boolean> {
    return booleanAnswer(
      'kv delete',
      await this.call(
        'kv delete',
        (o) => this.client.kv.del({ ...o, key, ...(cas !== undefined ? { cas } : {}) }),
        { includeResponse: true },
      ),
    );
  }

  /** Aborts every request in flight and frees the keep-alive sockets. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const ctx of this.inFlight) ctx.emit('cancel');
    this.inFlight.clear();
    this.client.destroy();
  }

  private async call<T>(
    what: string,
    fn: (o: RequestOptions) => Promise<T>,
    opts: { timeout?: number; includeResponse?: boolean } = {},
  ): Promise<T> {
    if (this.closed) throw new ConsulCallError(`${what}: client closed (request aborted)`, undefined);
    const ctx = new RequestContext(opts.includeResponse ?? false);
    this.inFlight.add(ctx);
    try {
      return await fn({ timeout: opts.timeout ?? this.opts.requestTimeoutMs, ctx });
    } catch (err) {
      throw toCallError(what, err);
    } finally {
      this.inFlight.delete(ctx);
    }
  }
}

/** The body of a [response, body] result (includeResponse), which must be a JSON boolean. */
function booleanAnswer(what: string, result: unknown): boolean {
  const body: unknown = Array.isArray(result) ? result[1] : undefined;
  if (typeof body !== 'boolean')
    throw new ConsulCallError(`${what}: malformed answer`, undefined, { malformed: true });
  return body;
}

function toCallError(what: string, err: unknown): ConsulCallError {
  if (err instanceof ConsulCallError) return err;
  let status: number | undefined;
  if (
    err !== null &&
    typeof err === 'object' &&
    'isResponse' in err &&
    'statusCode' in err &&
    typeof err.statusCode === 'number'
  ) {
    status = err.statusCode;
  }
  const message = err instanceof Error ? err.message : String(err);
  // Keep messages short and free of request details: they end up in logs.
  return new ConsulCallError(`${what}: ${message.slice(0, 200)}`, status, { cause: err });
}
