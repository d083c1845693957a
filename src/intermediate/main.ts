/**
 * Intermediate node: pulls streams from a parent on demand and fans them out to child relays.
 * Closing order: stop accepting children → close children → drop upstream → stop relay.
 */
import type { IntermediateConfig } from '../common/config/index.js';
import { createLogger, type Logger } from '../common/logging/index.js';
import { createMetrics } from '../common/metrics/index.js';
import { addMetricsRoute, createApp, listen, send } from '../common/http/uws-server.js';
import { ClusterServer } from '../common/relay/cluster-server.js';
import { createPullingRelay } from '../common/relay/relay-runtime.js';
import type { RelayNode } from '../common/relay/relay-node.js';

export interface IntermediateNode {
  readonly port: number;
  readonly url: string;
  readonly relay: RelayNode;
  close(): Promise<void>;
}

export async function startIntermediate(
  config: IntermediateConfig,
  parentLogger?: Logger,
): Promise<IntermediateNode> {
  const logger = createLogger('intermediate', { node_id: config.nodeId, role: 'intermediate' }, parentLogger);
  const metrics = createMetrics(config.nodeId, 'intermediate');
  const { relay, nd } = createPullingRelay({
    role: 'intermediate',
    discovery: config.discovery,
    nodeId: config.nodeId,
    clusterSecret: config.clusterSecret,
    upstream: config.upstream,
    cacheSegments: config.cache.segments,
    maxFrameBytes: config.upstream.maxFrameBytes,
    logger,
    metrics,
  });
  const app = createApp({ tls: config.tls, logger: logger.child({ module: 'tls' }) });
  addMetricsRoute(app, metrics.registry, logger);
  app.get('/healthz', (res) => send(res, '200 OK', 'ok', { 'content-type': 'text/plain' }));
  const cluster = new ClusterServer(app, {
    nodeId: config.nodeId,
    clusterSecret: config.clusterSecret,
    config: config.cluster,
    heartbeatIntervalMs: config.upstream.heartbeatIntervalMs,
    relay,
    logger: logger.child({ module: 'cluster' }),
    metrics,
  });
  const listening = await listen(app, config.http.host, config.http.port);
  await nd.register(config.http.host, listening.port, config.tls ? 'wss' : 'ws', () => cluster.childCount);
  const host = config.http.host === '0.0.0.0' ? '127.0.0.1' : config.http.host;
  logger.info({ port: listening.port, parents: config.upstream.parents }, 'intermediate listening');
  let closing: Promise<void> | undefined;
  return {
    port: listening.port,
    url: `${config.tls ? 'wss' : 'ws'}://${host}:${listening.port}`,
    relay,
    close: () =>
      (closing ??= (async () => {
        await nd.close();
        listening.close();
        cluster.close();
        await relay.close();
        logger.info('intermediate stopped');
      })()),
  };
}
