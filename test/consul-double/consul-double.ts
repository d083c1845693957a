/**
 * TEST DOUBLE of a Consul agent's HTTP API — not Consul. Consul cannot be installed here, so tiercast's Consul
 * backend is tested against this in-process server (node:http, port 0), and the same contract tests also run
 * against a real agent when CONSUL_HTTP_ADDR is set. It implements, with Consul's semantics and response
 * shapes, exactly the subset tiercast uses (see README.md):
 *
 * - PUT /v1/agent/service/register (TTL checks only), PUT /v1/agent/service/deregister/<id>
 * - PUT /v1/agent/check/{pass,warn,fail}/<check-id>; TTL checks go critical when not refreshed, and a service
 *   critical past DeregisterCriticalServiceAfter is removed
 * - GET /v1/health/service/<name>[?passing][&tag=…]
 * - PUT /v1/session/{create,renew/<id>,destroy/<id>}, GET /v1/session/info/<id> (Behavior release/delete,
 *   TTL between 10 s and 24 h, invalidated after twice the TTL like Consul, lock-delay)
 * - GET/PUT/DELETE /v1/kv/<key> with cas / acquire / release / flags / recurse / raw; base64 `Value`
 * - blocking queries on every read: `index` + `wait` (Go durations, default 5m, max 10m, plus up to wait/16 of
 *   jitter), X-Consul-Index on every read (also on a 404)
 * - optional ACL token check (X-Consul-Token)
 *
 * Test controls: stop()/start() (the agent becomes unreachable: connections are cut, timers keep running as
 * on a partitioned agent), restartAgent() (the agent lost its registrations and sessions), wipe() (all data
 * lost: the index goes backwards), and a log of every request to count them.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  HttpError,
  MAX_KV_VALUE,
  optionalUint,
  parseGoDuration,
  parseJson,
  readBody,
  send,
} from './consul-double-http.js';
import { decodeServiceRegistration, decodeSessionCreate } from './consul-double-decode.js';
import { ConsulState, type CheckStatus } from './consul-double-state.js';

export { parseGoDuration };

export interface ConsulDoubleOptions {
  /** When set, every request must carry this token (X-Consul-Token), or gets 403 like an ACL-enabled agent. */
  aclToken?: string;
  nodeName?: string;
}

export interface LoggedRequest {
  method: string;
  path: string;
  query: string;
  at: number;
}

const MAX_WAIT_MS = 10 * 60_000;
const DEFAULT_WAIT_MS = 5 * 60_000;

export class ConsulDouble {
  readonly state = new ConsulState();
  readonly requests: LoggedRequest[] = [];
  private server: Server | undefined;
  private port = 0;
  private readonly nodeName: string;

  private constructor(private readonly opts: ConsulDoubleOptions) {
    this.nodeName = opts.nodeName ?? 'consul-double';
  }

  static async create(opts: ConsulDoubleOptions = {}): Promise<ConsulDouble> {
    const d = new ConsulDouble(opts);
    await d.start();
    return d;
  }

  get address(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.server !== undefined;
  }

  /** Requests seen whose path starts with `prefix`, optionally since a time. */
  count(prefix = '/', since = 0): number {
    return this.requests.filter((r) => r.path.startsWith(prefix) && r.at >= since).length;
  }

  /** Listens (again, on the same port after stop()). */
  async start(): Promise<void> {
    if (this.server) return;
    const server = createServer((req, res) => void this.handle(req, res));
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Consul becomes unreachable: the listener closes and every connection is cut (blocking queries too). */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  /** The agent restarted without its data: its services and checks are gone, its sessions invalidated. */
  restartAgent(): void {
    this.state.restartAgent();
  }

  /** The cluster lost all its data: services, checks, sessions and KV are gone and the index goes backwards. */
  wipe(): void {
    this.state.wipe();
  }

  /** Stops and clears every timer. */
  async close(): Promise<void> {
    await this.stop();
    this.state.wipe();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://double');
    const method = req.method ?? 'GET';
    this.requests.push({ method, path: decodeURIComponent(url.pathname), query: url.search, at: Date.now() });
    try {
      if (this.opts.aclToken !== undefined) {
        const token = req.headers['x-consul-token'] ?? url.searchParams.get('token');
        if (token !== this.opts.aclToken) throw new HttpError(403, 'ACL not found');
      }
      const body = method === 'PUT' || method === 'POST' ? await readBody(req) : Buffer.alloc(0);
      await this.route(method, url, body, res);
    } catch (err) {
      const status = err instanceof HttpError ? err.status : 500;
      const message = err instanceof Error ? err.message : String(err);
      if (!res.headersSent) send(res, status, message);
    }
  }

  private async route(method: string, url: URL, body: Buffer, res: ServerResponse): Promise<void> {
    const path = url.pathname;
    const tail = (prefix: string) => decodeURIComponent(path.slice(prefix.length));
    const q = url.searchParams;
    const only = (m: string) => {
      if (method !== m) throw new HttpError(405, `method ${method} not allowed`);
    };
    if (path === '/v1/agent/service/register') {
      only('PUT');
      const { service, checks } = decodeServiceRegistration(parseJson(body));
      this.state.registerService(service, checks);
      return send(res, 200, '');
    }
    if (path.startsWith('/v1/agent/service/deregister/')) {
      only('PUT');
      const id = tail('/v1/agent/service/deregister/');
      if (!this.state.removeService(id))
        throw new HttpError(
          404,
          `Unknown service ID "${id}". Ensure that the service ID is passed, not the service name.`,
        );
      return send(res, 200, '');
    }
    const checkUpdate = /^\/v1\/agent\/check\/(pass|warn|fail)\//.exec(path);
    if (checkUpdate) {
      only('PUT');
      const id = tail(checkUpdate[0]);
      const status: CheckStatus =
        checkUpdate[1] === 'pass' ? 'passing' : checkUpdate[1] === 'warn' ? 'warning' : 'critical';
      // Consul answers both cases with its NotFoundError (404 since 1.9-ish; older agents said 500).
      if (this.state.updateTtlCheck(id, status, q.get('note') ?? '') !== 'ok')
        throw new HttpError(404, `CheckID "${id}" does not have associated TTL`);
      return send(res, 200, '');
    }
    if (path.startsWith('/v1/health/service/')) {
      only('GET');
      const name = tail('/v1/health/service/');
      return this.blocking(q, res, () => ({
        index: this.state.serviceIndex(name),
        status: 200,
        body: this.healthEntries(name, q),
      }));
    }
    if (path === '/v1/session/create') {
      only('PUT');
      return send(res, 200, {
        ID: this.state.createSession(decodeSessionCreate(body.length ? parseJson(body) : {})).ID,
      });
    }
    if (path.startsWith('/v1/session/renew/')) {
      only('PUT');
      const id = tail('/v1/session/renew/');
      const s = this.state.renewSession(id);
      if (!s) throw new HttpError(404, `Session id '${id}' not found`);
      return send(res, 200, [this.sessionJson(id)]);
    }
    if (path.startsWith('/v1/session/destroy/')) {
      only('PUT');
      this.state.invalidateSession(tail('/v1/session/destroy/'));
      return send(res, 200, true);
    }
    if (path.startsWith('/v1/session/info/')) {
      only('GET');
      const id = tail('/v1/session/info/');
      return this.blocking(q, res, () => ({
        index: this.state.tables.get('sessions') ?? 1,
        status: 200,
        body: this.state.sessions.has(id) ? [this.sessionJson(id)] : null,
      }));
    }
    if (path.startsWith('/v1/kv/')) {
      const key = tail('/v1/kv/');
      if (method === 'GET') return this.blocking(q, res, () => this.kvRead(key, q), q.has('raw'));
      if (method === 'PUT') return send(res, 200, this.kvWrite(key, body, q));
      if (method === 'DELETE')
        return send(
          res,
          200,
          this.state.deleteKv(key, { cas: optionalUint(q, 'cas'), recurse: q.has('recurse') }),
        );
      throw new HttpError(405, `method ${method} not allowed`);
    }
    throw new HttpError(404, `the test double does not implement ${method} ${path}`);
  }

  /** A read that blocks while `index` is given and the result's index has not passed it. */
  private async blocking(
    q: URLSearchParams,
    res: ServerResponse,
    read: () => { index: number; status: number; body: unknown },
    raw = false,
  ): Promise<void> {
    const minIndex = optionalUint(q, 'index') ?? 0;
    let waitMs = DEFAULT_WAIT_MS;
    if (q.has('wait')) {
      const parsed = parseGoDuration(q.get('wait') ?? '');
      if (parsed === undefined) throw new HttpError(400, 'Invalid wait time');
      waitMs = Math.min(parsed, MAX_WAIT_MS);
    }
    let result = read();
    if (minIndex > 0 && result.index <= minIndex) {
      // Like Consul: wait plus up to wait/16 of jitter, so that many watchers do not wake together.
      const deadline = waitMs + Math.random() * (waitMs / 16);
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.state.waiters.delete(check);
          res.off('close', done);
          resolve();
        };
        const check = () => {
          if (read().index > minIndex) done();
        };
        const timer = setTimeout(done, deadline);
        this.state.waiters.add(check);
        res.on('close', done);
      });
      if (res.destroyed) return;
      result = read();
    }
    const headers = {
      'X-Consul-Index': String(Math.max(1, result.index)),
      'X-Consul-KnownLeader': 'true',
      'X-Consul-LastContact': '0',
    };
    if (raw && Buffer.isBuffer(result.body)) return send(res, result.status, result.body, headers);
    send(res, result.status, result.status === 404 ? '' : result.body, headers);
  }

  private healthEntries(name: string, q: URLSearchParams): unknown[] {
    const passingOnly = q.has('passing') && q.get('passing') !== 'false' && q.get('passing') !== '0';
    const tag = q.get('tag');
    const node = {
      ID: '00000000-0000-0000-0000-000000000001',
      Node: this.nodeName,
      Address: '127.0.0.1',
      Datacenter: 'dc1',
      TaggedAddresses: { lan: '127.0.0.1', wan: '127.0.0.1' },
      Meta: {},
      CreateIndex: 1,
      ModifyIndex: 1,
    };
    const serf = {
      Node: this.nodeName,
      CheckID: 'serfHealth',
      Name: 'Serf Health Status',
      Status: 'passing',
      Notes: '',
      Output: 'Agent alive and reachable',
      ServiceID: '',
      ServiceName: '',
      ServiceTags: [],
      Type: '',
      CreateIndex: 1,
      ModifyIndex: 1,
    };
    return [...this.state.services.values()]
      .filter((s) => s.Service === name && (tag === null || s.Tags.includes(tag)))
      .sort((a, b) => (a.ID < b.ID ? -1 : 1))
      .map((s) => {
        const checks = [...this.state.checks.values()]
          .filter((c) => c.ServiceID === s.ID)
          .map((c) => ({
            Node: this.nodeName,
            CheckID: c.CheckID,
            Name: c.Name,
            Status: c.Status,
            Notes: c.Notes,
            Output: c.Output,
            ServiceID: s.ID,
            ServiceName: s.Service,
            ServiceTags: s.Tags,
            Type: 'ttl',
            CreateIndex: c.CreateIndex,
            ModifyIndex: c.ModifyIndex,
          }));
        return {
          Node: node,
          Service: {
            ID: s.ID,
            Service: s.Service,
            Tags: s.Tags,
            Address: s.Address,
            Meta: s.Meta,
            Port: s.Port,
            Weights: { Passing: 1, Warning: 1 },
            EnableTagOverride: false,
            CreateIndex: s.CreateIndex,
            ModifyIndex: s.ModifyIndex,
          },
          Checks: [serf, ...checks],
        };
      })
      .filter((e) => !passingOnly || e.Checks.every((c) => c.Status === 'passing'));
  }

  private sessionJson(id: string) {
    const s = this.state.sessions.get(id)!;
    return {
      ID: s.ID,
      Name: s.Name,
      Node: this.nodeName,
      LockDelay: s.lockDelayMs * 1e6,
      Behavior: s.Behavior,
      TTL: s.TTL,
      NodeChecks: ['serfHealth'],
      ServiceChecks: null,
      CreateIndex: s.CreateIndex,
      ModifyIndex: s.ModifyIndex,
    };
  }

  private kvRead(key: string, q: URLSearchParams): { index: number; status: number; body: unknown } {
    const json = (e: {
      Key: string;
      Value: Buffer;
      Flags: number;
      Session?: string;
      LockIndex: number;
      CreateIndex: number;
      ModifyIndex: number;
    }) => ({
      LockIndex: e.LockIndex,
      Key: e.Key,
      Flags: e.Flags,
      Value: e.Value.length ? e.Value.toString('base64') : null,
      ...(e.Session !== undefined ? { Session: e.Session } : {}),
      CreateIndex: e.CreateIndex,
      ModifyIndex: e.ModifyIndex,
    });
    if (q.has('recurse') || q.has('keys')) {
      const entries = [...this.state.kv.values()]
        .filter((e) => e.Key.startsWith(key))
        .sort((a, b) => (a.Key < b.Key ? -1 : 1));
      const index = this.state.kvIndex();
      if (entries.length === 0) return { index, status: 404, body: '' };
      return { index, status: 200, body: q.has('keys') ? entries.map((e) => e.Key) : entries.map(json) };
    }
    const e = this.state.kv.get(key);
    if (!e) return { index: this.state.kvIndex(key), status: 404, body: '' };
    return { index: e.ModifyIndex, status: 200, body: q.has('raw') ? e.Value : [json(e)] };
  }

  private kvWrite(key: string, body: Buffer, q: URLSearchParams): boolean {
    if (key === '') throw new HttpError(400, 'Missing key name');
    if (body.length > MAX_KV_VALUE) throw new HttpError(413, `Value exceeds ${MAX_KV_VALUE} byte limit`);
    const acquire = q.get('acquire') ?? undefined;
    const release = q.get('release') ?? undefined;
    try {
      return this.state.putKv(key, body, {
        flags: optionalUint(q, 'flags'),
        cas: optionalUint(q, 'cas'),
        acquire,
        release,
      });
    } catch (err) {
      throw new HttpError(500, err instanceof Error ? err.message : String(err));
    }
  }
}
