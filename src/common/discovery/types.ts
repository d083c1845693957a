/**
 * Discovery: how a node announces itself and finds the others. One interface, two backends:
 * `static` (parents listed in the config; the embedded default on one machine) and `consul`.
 */

export type NodeRole = 'ingress' | 'intermediate' | 'edge' | 'hub';

export const NODE_ROLES: readonly NodeRole[] = ['ingress', 'intermediate', 'edge', 'hub'];

export interface NodeInfo {
  id: string;
  role: NodeRole;
  region: string;
  /** 0 ingress, 1.. intermediates, edges last. A relay's parent has a lower tier. */
  tier: number;
  /** ws://host:port (cluster roles) or http://host:port (hub). */
  wsUrl: string;
  /** Most children/viewers this node takes. */
  capacity: number;
  /** Current children/viewers. */
  load: number;
  /** Edges: the http(s) base URL viewers use, when it is not the node's own address (behind a proxy). */
  publicUrl?: string;
}

/** Capacity reported for a node whose capacity is not known (static parents, an origin read from KV). */
export const UNKNOWN_CAPACITY = Number.MAX_SAFE_INTEGER;

export interface Discovery {
  readonly backend: 'static' | 'consul';
  /**
   * Register this node and keep it healthy (TTL heartbeat) until close(). Rejects with a ConfigError when
   * `self` is malformed. If Consul is unreachable at start it resolves anyway, logs, and retries in the
   * background.
   */
  start(self: NodeInfo): Promise<void>;
  /** Current load for the meta (re-registration debounced to at most once per second). */
  setLoad(load: number): void;
  /**
   * Healthy nodes of a role from the last successful watch (never blocks; empty before the first answer).
   * The first call for a role starts its watch. Includes this node itself if it has that role.
   */
  nodes(role: NodeRole): NodeInfo[];
  /** Called when the set for a role changes (starts the role's watch). Returns an unsubscribe function. */
  onChange(role: NodeRole, listener: (nodes: NodeInfo[]) => void): () => void;
  /**
   * Claim a live stream for this ingress: exactly one claimant wins (consul: KV acquire with a session);
   * false if another ingress holds it. Static: always true. Rejects when Consul cannot be asked.
   */
  claimStream(stream: string): Promise<boolean>;
  releaseStream(stream: string): Promise<void>;
  /**
   * Called when a claim this node held was lost (consul: its session expired during an outage and another
   * ingress took the stream). Returns an unsubscribe function.
   */
  onClaimLost(listener: (stream: string) => void): () => void;
  /** The ingress node carrying a stream, if any (consul: KV read; static: undefined). */
  streamOrigin(stream: string): Promise<NodeInfo | undefined>;
  /** Deregister (clean stop), release claims and stop watches. Idempotent. */
  close(): Promise<void>;
  /** For health/metrics: is the backend currently reachable? */
  readonly healthy: boolean;
}

/**
 * The metrics discovery reports, structurally compatible with prom-client Gauge/Counter. All optional so that
 * tests and the static backend can pass nothing.
 */
export interface DiscoveryMetrics {
  /** tiercast_discovery_consul_up: 1 while Consul answers, 0 during an outage. */
  consulUp?: { set(value: number): void };
  /** tiercast_discovery_watch_errors_total{role}: failed blocking queries. */
  watchErrors?: { inc(labels: { role: string }): void };
  /** tiercast_discovery_nodes{role}: healthy, valid nodes known per role. */
  nodes?: { set(labels: { role: string }, value: number): void };
  /** tiercast_discovery_invalid_registrations_total{role}: registrations ignored as malformed. */
  invalidRegistrations?: { inc(labels: { role: string }): void };
}

/** Which roles a relay of `role` may take as parents (tiers still decide among them). */
export function parentRoles(role: NodeRole): NodeRole[] {
  return role === 'edge' || role === 'intermediate' ? ['intermediate', 'ingress'] : [];
}

/** Highest tier. Edges default to it so that they sit below any depth of intermediates ("edges last"). */
export const MAX_TIER = 64;

/** The default tier of a role when the config does not set one. */
export function defaultTier(role: NodeRole): number {
  return role === 'ingress' || role === 'hub' ? 0 : role === 'intermediate' ? 1 : MAX_TIER;
}
