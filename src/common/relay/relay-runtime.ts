/**
 * Wiring shared by the relays (intermediate, edge): a RelayNode pulling from parents over WebSocket.
 */
import type { Logger } from '../logging/index.js';
import type { Metrics } from '../metrics/index.js';
import type { UpstreamConfig } from '../config/index.js';
import { RelayNode } from './relay-node.js';
import { WsUpstreamClient } from './ws-upstream-client.js';

export function createPullingRelay(opts: {
  nodeId: string;
  clusterSecret: string;
  upstream: UpstreamConfig;
  cacheSegments: number;
  maxFrameBytes: number;
  logger: Logger;
  metrics: Metrics;
}): { relay: RelayNode; upstream: WsUpstreamClient } {
  const relay = new RelayNode({
    cacheSegments: opts.cacheSegments,
    idleUnsubscribeMs: opts.upstream.idleUnsubscribeMs,
    logger: opts.logger.child({ module: 'relay' }),
    metrics: opts.metrics,
  });
  const upstream = new WsUpstreamClient({
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
