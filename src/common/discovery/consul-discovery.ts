/**
 * Discovery through a Consul agent. This node registers itself (service `tiercast-<role>`, tags for region and
 * tier, meta with its URL, capacity and load), keeps a TTL check passing, and deregisters on close. Each role
 * asked about is watched with blocking queries (consul-watch.ts); live-stream claims live in KV
 * (consul-claims.ts).
 *
 * Outages: the node keeps serving with the last known node lists; `healthy` turns false, the outage is logged
 * once (not per retry) and `tiercast_discovery_consul_up` drops to 0; every loop keeps retrying. When Consul
 * answers again, the node registers afresh (the agent may have reaped or forgotten it).
 *
 * Closing: stop the timers, wait for a heartbeat in flight (so it cannot re-register after the deregistration),
 * release the claims, deregister, then abort the blocking queries and wait for the watch loops to end.
 */
import type { Logger } from 'pino';
import { ConfigError, errorMessage } from '../errors/index.js';
import { SafeEmitter } from '../events/safe-emitter.js';
import { createLogger } from '../logging/index.js';
import { ConsulApi, ConsulCallError } from './consul-api.js';
import { StreamClaims } from './consul-claims.js';
import {
  buildRegistration,
  checkId,
  serviceId,
  validateSelf,
  type InvalidRegistration,
} from './consul-records.js';
import { HealthWatch } from './consul-watch.js';
import type { ConsulDiscoveryConfig } from './config.js';
import {
  UNKNOWN_CAPACITY,
  type Discovery,
  type DiscoveryMetrics,
  type NodeInfo,
  type NodeRole,
} from './types.js';

/** Load changes re-register the service at most this often. */
const LOAD_UPDATE_MIN_INTERVAL_MS = 1000;

export interface ConsulDiscoveryOptions {
  config: ConsulDiscoveryConfig;
  logger: Logger;
  metrics?: DiscoveryMetrics | undefined;
  /** Jitter source; injected by tests. */
  random?: () => number;
}

type Listener = (nodes: NodeInfo[]) => void;
type DiscoveryEvents = { [R in NodeRole as `nodes:${R}`]: [nodes: NodeInfo[]] } & {
  claimLost: [stream: string];
};

export class ConsulDiscovery implements Discovery {
  readonly backend = 'consul' as const;
  private readonly api: ConsulApi;
  private readonly log: Logger;
  private readonly config: ConsulDiscoveryConfig;
  private readonly metrics: DiscoveryMetrics;
  private readonly random: () => number;
  private readonly watches = new Map<NodeRole, HealthWatch>();
  private readonly events: SafeEmitter<DiscoveryEvents>;
  /** Invalid registrations already reported (service id → reason), so each is logged once. */
  private readonly reported = new Map<NodeRole, Map<string, string>>();
  private readonly claims: StreamClaims;
  private self: NodeInfo | undefined;
  private registered = false;
  private registeredLoad = -1;
  private lastRegisterAt = 0;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private loadTimer: NodeJS.Timeout | undefined;
  private beatInFlight: Promise<void> | undefined;
  private beatAgain = false;
  /** undefined until the first call settles; then whether Consul answers. */
  private reachable: boolean | undefined;
  private downSince = 0;
  private readonly refusals = new Set<string>();
  private closing: Promise<void> | undefined;

  constructor(opts: ConsulDiscoveryOptions) {
    this.config = opts.config;
    this.log = createLogger('discovery', { backend: 'consul' }, opts.logger);
    this.events = new SafeEmitter(this.log);
    this.metrics = opts.metrics ?? {};
    this.random = opts.random ?? Math.random;
    this.api = new ConsulApi({
      address: opts.config.address,
      token: opts.config.token,
      requestTimeoutMs: opts.config.requestTimeoutMs,
    });
    this.claims = new StreamClaims({
      api: this.api,
      logger: this.log,
      sessionTtlMs: opts.config.sessionTtlMs,
      lockDelayMs: opts.config.lockDelayMs,
      onCallResult: (err, op) => this.callResult(err, op),
      onLost: (stream) => this.emitClaimLost(stream),
    });
  }

  get healthy(): boolean {
    return this.reachable === true;
  }

  async start(self: NodeInfo): Promise<void> {
    if (this.closing) throw new ConfigError('discovery: start() after close()');
    if (this.self) throw new ConfigError('discovery: start() called twice', { node: this.self.id });
    this.self = { ...validateSelf(self) };
    this.runBeat();
    await this.beatInFlight;
    if (!this.registered) {
      this.log.warn(
        { service: serviceId(this.self) },
        'not registered in Consul yet; serving anyway and retrying in the background',
      );
    } else {
      this.log.info({ service: serviceId(this.self) }, 'registered in Consul');
    }
  }

  setLoad(load: number): void {
    if (!Number.isSafeInteger(load) || load < 0) {
      this.log.warn({ load }, 'ignoring a malformed load value');
      return;
    }
    if (!this.self || this.self.load === load) return;
    this.self = { ...this.self, load };
    this.setLoadLater();
  }

  /** Registers the current load once the debounce window since the last registration has passed. */
  private setLoadLater(): void {
    if (this.loadTimer || this.closing) return;
    const wait = Math.max(0, this.lastRegisterAt + LOAD_UPDATE_MIN_INTERVAL_MS - Date.now());
    this.loadTimer = setTimeout(() => {
      this.loadTimer = undefined;
      this.runBeat();
    }, wait);
  }

  nodes(role: NodeRole): NodeInfo[] {
    return (this.watch(role)?.nodes ?? []).map((n) => ({ ...n }));
  }

  onChange(role: NodeRole, listener: Listener): () => void {
    // Each listener gets its own copy: one that edits the list cannot change what the next one sees.
    const off = this.events.on(`nodes:${role}`, (nodes) => listener(nodes.map((n) => ({ ...n }))));
    this.watch(role);
    return off;
  }

  claimStream(stream: string): Promise<boolean> {
    const self = this.self;
    if (!self) return Promise.reject(new ConfigError('discovery: claimStream() before start()', { stream }));
    return this.claims.claim(stream, self);
  }

  releaseStream(stream: string): Promise<void> {
    return this.claims.release(stream);
  }

  onClaimLost(listener: (stream: string) => void): () => void {
    return this.events.on('claimLost', listener);
  }

  async streamOrigin(stream: string): Promise<NodeInfo | undefined> {
    const ingresses = this.watch('ingress');
    const claim = await this.claims.origin(stream);
    if (!claim) return undefined;
    const known = ingresses?.nodes.find((n) => n.id === claim.node_id);
    if (known) return { ...known };
    return {
      id: claim.node_id,
      role: 'ingress',
      region: claim.region,
      tier: 0,
      wsUrl: claim.ws_url,
      capacity: UNKNOWN_CAPACITY,
      load: 0,
    };
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    if (this.heartbeatTimer) clearTimeout(this.heartbeatTimer);
    if (this.loadTimer) clearTimeout(this.loadTimer);
    this.heartbeatTimer = this.loadTimer = undefined;
    await this.beatInFlight;
    await this.claims.close();
    const self = this.self;
    if (self) {
      try {
        await this.api.deregisterService(serviceId(self));
        this.log.info({ service: serviceId(self) }, 'deregistered from Consul');
      } catch (err) {
        if (!(err instanceof ConsulCallError && err.rejected && err.status === 404)) {
          this.log.warn(
            { service: serviceId(self), err: errorMessage(err) },
            'could not deregister; Consul drops the registration when its TTL check stays critical',
          );
        }
      }
    }
    const stopping = [...this.watches.values()].map((w) => w.stop());
    this.api.close();
    await Promise.all(stopping);
    this.events.removeAllListeners();
  }

  private watch(role: NodeRole): HealthWatch | undefined {
    if (this.closing) return this.watches.get(role);
    let w = this.watches.get(role);
    if (!w) {
      w = new HealthWatch({
        api: this.api,
        role,
        waitS: this.config.watchWaitS,
        retryInitialMs: this.config.retryInitialMs,
        retryMaxMs: this.config.retryMaxMs,
        random: this.random,
        onAnswer: (nodes, invalid, changed) => this.answered(role, nodes, invalid, changed),
        onError: (err) => {
          this.metrics.watchErrors?.inc({ role });
          this.callResult(err, `watch ${role}`);
        },
      });
      this.watches.set(role, w);
    }
    return w;
  }

  private answered(
    role: NodeRole,
    nodes: NodeInfo[],
    invalid: InvalidRegistration[],
    changed: boolean,
  ): void {
    this.callResult(undefined, `watch ${role}`);
    this.reportInvalid(role, invalid);
    this.metrics.nodes?.set({ role }, nodes.length);
    if (!changed || this.closing) return;
    this.log.debug({ role, nodes: nodes.map((n) => n.id) }, 'nodes changed');
    this.events.safeEmit(`nodes:${role}`, nodes);
  }

  private reportInvalid(role: NodeRole, invalid: InvalidRegistration[]): void {
    const seen = this.reported.get(role) ?? new Map<string, string>();
    const now = new Map(invalid.map((i) => [i.id, i.reason]));
    for (const [id, reason] of now) {
      if (seen.get(id) === reason) continue;
      this.metrics.invalidRegistrations?.inc({ role });
      this.log.warn({ role, service: id, reason }, 'ignoring a malformed registration in Consul');
    }
    this.reported.set(role, now);
  }

  private emitClaimLost(stream: string): void {
    this.events.safeEmit('claimLost', stream);
  }

  /** Registration and heartbeat, one at a time: a run asked for while one is in flight follows it. */
  private runBeat(): void {
    if (this.closing) return;
    if (this.beatInFlight) {
      this.beatAgain = true;
      return;
    }
    this.beatInFlight = this.beat().finally(() => {
      this.beatInFlight = undefined;
      if (this.closing) return;
      if (this.beatAgain) {
        this.beatAgain = false;
        this.runBeat();
      } else {
        this.scheduleHeartbeat();
      }
    });
  }

  private scheduleHeartbeat(): void {
    if (this.heartbeatTimer) clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = setTimeout(() => {
      this.heartbeatTimer = undefined;
      this.runBeat();
    }, this.config.ttlMs / 3);
  }

  private async beat(): Promise<void> {
    const self = this.self;
    if (!self || this.closing) return;
    const loadChanged = self.load !== this.registeredLoad;
    const debounced = Date.now() - this.lastRegisterAt < LOAD_UPDATE_MIN_INTERVAL_MS;
    // Registering is required after start or an outage; for a load change it is debounced, and meanwhile the
    // check is refreshed (the load timer registers the new meta when the window ends).
    const register = !this.registered || (loadChanged && !debounced);
    if (!register && loadChanged) this.setLoadLater();
    try {
      if (register) {
        await this.api.registerService(buildRegistration(self, this.config));
        this.registered = true;
        this.registeredLoad = self.load;
        this.lastRegisterAt = Date.now();
      } else {
        await this.api.passCheck(checkId(self));
      }
      this.callResult(undefined, 'heartbeat');
    } catch (err) {
      if (this.closing) return;
      if (err instanceof ConsulCallError && err.status !== undefined && !register) {
        // The agent answered but does not know our check (it restarted without its data, or reaped us; older
        // agents say so with a 500): register again now. If Consul really is in trouble, that will tell.
        this.callResult(undefined, 'heartbeat');
        this.log.info(
          { service: serviceId(self), err: errorMessage(err) },
          'Consul no longer knows this node; registering again',
        );
        this.registered = false;
        this.beatAgain = true;
        return;
      }
      this.callResult(err, register ? 'register' : 'heartbeat');
    }
  }

  /**
   * Every Consul call reports here. An answer (even a refusal) means Consul is reachable; no answer or a 5xx
   * is an outage. Transitions are logged once and exported as tiercast_discovery_consul_up.
   */
  private callResult(err: unknown, op: string): void {
    if (err instanceof ConsulCallError && err.aborted && this.closing) return;
    if (err === undefined || !(err instanceof ConsulCallError && err.outage)) {
      if (this.reachable !== true) {
        if (this.reachable === false)
          this.log.info({ downMs: Date.now() - this.downSince }, 'Consul reachable again');
        this.reachable = true;
        this.refusals.clear();
        this.metrics.consulUp?.set(1);
        // Consul may have forgotten or reaped us while away: register afresh now rather than at the next beat.
        if (this.self && !this.registered && !this.beatInFlight) this.runBeat();
      }
      if (err !== undefined) this.refused(err, op);
      return;
    }
    if (this.reachable !== false) {
      this.reachable = false;
      this.downSince = Date.now();
      this.metrics.consulUp?.set(0);
      this.log.warn(
        { op, err: errorMessage(err), consul: new URL(this.config.address).host },
        'Consul unreachable: serving with the last known nodes and retrying',
      );
    }
    this.registered = false;
  }

  private refused(err: unknown, op: string): void {
    const message = `${op}: ${errorMessage(err)}`;
    if (this.refusals.has(message)) return;
    this.refusals.add(message);
    this.log.error({ op, err: errorMessage(err) }, 'Consul refused a request');
  }
}
