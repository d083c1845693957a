/**
 * Wiring shared by the relays (intermediate, edge): discovery for this node, and a RelayNode pulling from
 * parents over WebSocket, chosen by discovery (Consul) or from the configured list (static).
 */
import type { DiscoveryConfig } from '../discovery/index.js';
import { setupDiscovery, type NodeDiscovery } from '../discovery/node-discovery.js';
import type { Logger } from '../logging/index.js';
import type { Metrics } from '../metrics/index.js';
import type { UpstreamConfig } from '../config/index.js';
import { DiscoveryParents } from './discovery-parents.js';
import { RelayNode, type UpstreamHandler } from './relay-node.js';
import { StaticParents, UpstreamPool } from './upstream-pool.js';

export function createPullingRelay(opts: {
  role: 'intermediate' | 'edge';
  nodeId: string;
  clusterSecret: string;
  upstream: UpstreamConfig;
  discovery: DiscoveryConfig;
  cacheSegments: number;
  maxFrameBytes: number;
  logger: Logger;
  metrics: Metrics;
}): { relay: RelayNode; upstream: UpstreamPool; nd: NodeDiscovery } {
  const nd = setupDiscovery({
    config: opts.discovery,
    role: opts.role,
    nodeId: opts.nodeId,
    parents: opts.upstream.parents,
    logger: opts.logger,
    metrics: opts.metrics,
  });
  const makeUpstream = (handler: UpstreamHandler) =>
    new UpstreamPool({
      resolver:
        opts.discovery.backend === 'consul'
          ? new DiscoveryParents(nd.discovery, nd.self, opts.logger)
          : new StaticParents(() => opts.upstream.parents),
      nodeId: opts.nodeId,
      clusterSecret: opts.clusterSecret,
      config: opts.upstream,
      maxFrameBytes: opts.maxFrameBytes,
      handler,
      logger: opts.logger.child({ module: 'upstream' }),
      metrics: opts.metrics,
    });
  let upstream: UpstreamPool | undefined;
  const relay = new RelayNode({
    nodeId: opts.nodeId,
    cacheSegments: opts.cacheSegments,
    idleUnsubscribeMs: opts.upstream.idleUnsubscribeMs,
    logger: opts.logger.child({ module: 'relay' }),
    metrics: opts.metrics,
    upstream: (handler) => (upstream = makeUpstream(handler)),
  });
  if (!upstream) throw new Error('createPullingRelay: the relay did not create its upstream');
  upstream.start();
  return { relay, upstream, nd };
}
