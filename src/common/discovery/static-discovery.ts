/**
 * Static discovery: the parents listed in the config (the embedded default on one machine, no external
 * service). Parents are known only by URL, so they get this node's region, the tier just above ours
 * (ingress when that is tier 0) and an unknown load; stream claims are local (always granted) and there is
 * no stream origin to look up: the static tree has one ingress at its root.
 */
import type { Logger } from 'pino';
import { ConfigError, TiercastError } from '../errors/index.js';
import { createLogger } from '../logging/index.js';
import { nodeUrlProblem, STREAM_NAME_RE, validateSelf } from './consul-records.js';
import { UNKNOWN_CAPACITY, type Discovery, type NodeInfo, type NodeRole } from './types.js';

export interface StaticDiscoveryOptions {
  /** Parent URLs (ws:// or wss://), in order of preference. */
  parents: readonly string[];
  /** This node's region (the parents are assumed to share it). */
  region: string;
  /** This node's tier; the parents sit one tier above (tier − 1). */
  tier: number;
  logger: Logger;
}

export class StaticDiscovery implements Discovery {
  readonly backend = 'static' as const;
  readonly healthy = true;
  private readonly parents: NodeInfo[];
  private self: NodeInfo | undefined;
  private readonly log: Logger;

  constructor(opts: StaticDiscoveryOptions) {
    this.log = createLogger('discovery', { backend: 'static' }, opts.logger);
    const tier = Math.max(0, opts.tier - 1);
    const role: NodeRole = tier === 0 ? 'ingress' : 'intermediate';
    this.parents = opts.parents.map((wsUrl, i) => {
      const problem = nodeUrlProblem(role, wsUrl);
      if (problem) throw new ConfigError(`discovery: malformed parent URL (${problem})`, { parent: i });
      return {
        id: `static-parent-${i + 1}`,
        role,
        region: opts.region,
        tier,
        wsUrl,
        capacity: UNKNOWN_CAPACITY,
        load: 0,
      };
    });
  }

  start(self: NodeInfo): Promise<void> {
    try {
      this.self = { ...validateSelf(self) };
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    this.log.info({ parents: this.parents.map((p) => p.wsUrl) }, 'static discovery');
    return Promise.resolve();
  }

  setLoad(load: number): void {
    if (this.self && Number.isSafeInteger(load) && load >= 0) this.self = { ...this.self, load };
  }

  /** The configured parents (in configured order) for their role, plus this node for its own role. */
  nodes(role: NodeRole): NodeInfo[] {
    const list = this.parents.filter((p) => p.role === role);
    if (this.self?.role === role) list.push(this.self);
    return list.map((n) => ({ ...n }));
  }

  /** The set never changes: the listener is never called. */
  onChange(_role: NodeRole, _listener: (nodes: NodeInfo[]) => void): () => void {
    return () => undefined;
  }

  claimStream(stream: string): Promise<boolean> {
    if (!STREAM_NAME_RE.test(stream))
      return Promise.reject(new TiercastError('BAD_REQUEST', 'malformed stream name'));
    return Promise.resolve(true);
  }

  releaseStream(_stream: string): Promise<void> {
    return Promise.resolve();
  }

  onClaimLost(_listener: (stream: string) => void): () => void {
    return () => undefined;
  }

  streamOrigin(_stream: string): Promise<NodeInfo | undefined> {
    return Promise.resolve(undefined);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
