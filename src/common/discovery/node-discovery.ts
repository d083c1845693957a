/**
 * Wiring of discovery into a node (shared by every role's main): create the backend, register once the node
 * listens, report load every few seconds, and close on stop.
 */
import { hostname } from 'node:os';
import type { Logger } from '../logging/index.js';
import type { Metrics } from '../metrics/index.js';
import {
  createDiscovery,
  describeSelf,
  selfTier,
  type Discovery,
  type DiscoveryConfig,
  type NodeRole,
} from './index.js';

export interface NodeDiscovery {
  readonly discovery: Discovery;
  readonly self: { id: string; region: string; tier: number };
  /**
   * Registers the node (resolves even if Consul is away: it retries in the background). `load` (children or
   * viewers now) is read at once and every few seconds; it is given here, when everything it reads exists.
   */
  register(
    listenHost: string,
    port: number,
    scheme: 'ws' | 'wss' | 'http',
    load?: () => number,
    publicUrl?: string,
  ): Promise<void>;
  close(): Promise<void>;
}

export function advertisedHost(config: DiscoveryConfig, listenHost: string): string {
  if (config.consul.serviceAddress) return config.consul.serviceAddress;
  if (listenHost !== '0.0.0.0' && listenHost !== '::') return listenHost;
  return hostname();
}

export function setupDiscovery(opts: {
  config: DiscoveryConfig;
  role: NodeRole;
  nodeId: string;
  parents?: readonly string[];
  logger: Logger;
  metrics: Metrics;
}): NodeDiscovery {
  const m = opts.metrics;
  const discovery = createDiscovery(opts.config, opts.logger.child({ module: 'discovery' }), {
    role: opts.role,
    parents: opts.parents,
    metrics: {
      consulUp: m.consulUp,
      watchErrors: m.discoveryWatchErrors,
      nodes: m.discoveryNodes,
      invalidRegistrations: m.discoveryInvalid,
    },
  });
  let loadTimer: NodeJS.Timeout | undefined;
  return {
    discovery,
    self: { id: opts.nodeId, region: opts.config.region, tier: selfTier(opts.config, opts.role) },
    register: async (listenHost, port, scheme, load = () => 0, publicUrl) => {
      const wsUrl = `${scheme}://${advertisedHost(opts.config, listenHost)}:${port}`;
      await discovery.start(
        describeSelf(opts.config, { id: opts.nodeId, role: opts.role, wsUrl, load: load(), publicUrl }),
      );
      loadTimer = setInterval(() => discovery.setLoad(load()), 2000);
      loadTimer.unref();
    },
    close: async () => {
      if (loadTimer) clearInterval(loadTimer);
      await discovery.close();
    },
  };
}
