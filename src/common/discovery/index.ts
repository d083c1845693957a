/**
 * Discovery behind one interface: `createDiscovery` picks the backend from the role's `discovery` config.
 */
import type { Logger } from 'pino';
import type { DiscoveryConfig } from './config.js';
import { ConsulDiscovery } from './consul-discovery.js';
import { StaticDiscovery } from './static-discovery.js';
import { defaultTier, type Discovery, type DiscoveryMetrics, type NodeInfo, type NodeRole } from './types.js';

export * from './types.js';
export * from './config.js';
export { chooseParent, isEligibleParent, type ChooseParentOptions } from './parent-selection.js';
export { ConsulDiscovery, type ConsulDiscoveryOptions } from './consul-discovery.js';
export { StaticDiscovery, type StaticDiscoveryOptions } from './static-discovery.js';
export { serviceName, serviceId, streamKey } from './consul-records.js';

export interface CreateDiscoveryOptions {
  role: NodeRole;
  /** Static backend: the parent URLs (the role's `upstream.parents`), in order of preference. */
  parents?: readonly string[];
  metrics?: DiscoveryMetrics;
}

export function createDiscovery(
  config: DiscoveryConfig,
  logger: Logger,
  opts: CreateDiscoveryOptions,
): Discovery {
  if (config.backend === 'consul') {
    return new ConsulDiscovery({ config: config.consul, logger, metrics: opts.metrics });
  }
  opts.metrics?.consulUp?.set(1);
  return new StaticDiscovery({
    parents: opts.parents ?? [],
    region: config.region,
    tier: selfTier(config, opts.role),
    logger,
  });
}

export function selfTier(config: Pick<DiscoveryConfig, 'tier'>, role: NodeRole): number {
  return config.tier ?? defaultTier(role);
}

/** This node's description for `start()`, from its config and the URL it listens on. */
export function describeSelf(
  config: DiscoveryConfig,
  node: { id: string; role: NodeRole; wsUrl: string; load?: number; publicUrl?: string },
): NodeInfo {
  return {
    ...(node.publicUrl ? { publicUrl: node.publicUrl } : {}),
    id: node.id,
    role: node.role,
    region: config.region,
    tier: selfTier(config, node.role),
    wsUrl: node.wsUrl,
    capacity: config.capacity,
    load: node.load ?? 0,
  };
}
