/**
 * Wiring shared by the relays (intermediate, edge): a RelayNode pulling from parents over WebSocket.
 */
import type { Logger } from '../logging/index.js';
import type { Metrics } from '../metrics/index.js';
import type { UpstreamConfig } from '../config/index.js';
import { RelayNode } from './relay-node.js';
import { StaticParents, UpstreamPool, type ParentResolver } from './upstream-pool.js';

export function createPullingRelay(opts: {
  nodeId: string;
  clusterSecret: string;
  upstream: UpstreamConfig;
  cacheSegments: number;
  maxFrameBytes: number;
  logger: Logger;
  metrics: Metrics;
  /** Default: the configured parents, in order. */
  resolver?: ParentResolver;
}): { relay: RelayNode; upstream: UpstreamPool } {
  const relay = new RelayNode({
    nodeId: opts.nodeId,
    cacheSegments: opts.cacheSegments,
    idleUnsubscribeMs: opts.upstream.idleUnsubscribeMs,
    logger: opts.logger.child({ module: 'relay' }),
    metrics: opts.metrics,
  });
  const upstream = new UpstreamPool({
    resolver: opts.resolver ?? new StaticParents(() => opts.upstream.parents),
    nodeId: opts.nodeId,
    clusterSecret: opts.clusterSecret,
    config: opts.upstream,
    maxFrameBytes: opts.maxFrameBytes,
    handler: relay,
    logger: opts.logger.child({ module: 'upstream' }),
    metrics: opts.metrics,
  });
  relay.setUpstream(upstream);
  upstream.start();
  return { relay, upstream };
}
