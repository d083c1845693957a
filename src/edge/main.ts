/**
 * Edge node: pulls streams from a parent on demand and serves viewers: pages, LL-DASH over HTTP,
 * the WebSocket push path, the directory and /metrics.
 * Closing order: stop listening → close viewers → drop upstream → stop relay.
 */
import type { EdgeConfig } from '../common/config/index.js';
import { createLogger, type Logger } from '../common/logging/index.js';
import { createMetrics } from '../common/metrics/index.js';
import { addMetricsRoute, createApp, listen } from '../common/http/uws-server.js';
import { createPullingRelay } from '../common/relay/relay-runtime.js';
import type { RelayNode } from '../common/relay/relay-node.js';
import { addEdgeRoutes } from './edge-http.js';
import { loadStaticFiles } from './static-files.js';
import { ViewerCounter } from './viewer-count.js';
import { addViewerSocket } from './viewer-socket.js';

export interface EdgeNode {
  readonly port: number;
  readonly url: string;
  readonly relay: RelayNode;
  close(): Promise<void>;
}

export async function startEdge(config: EdgeConfig, parentLogger?: Logger): Promise<EdgeNode> {
  const logger = createLogger('edge', { node_id: config.nodeId }, parentLogger);
  const metrics = createMetrics(config.nodeId, 'edge');
  const { relay } = createPullingRelay({
    nodeId: config.nodeId,
    clusterSecret: config.clusterSecret,
    upstream: config.upstream,
    cacheSegments: config.cache.segments,
    maxFrameBytes: 16 * 1024 * 1024,
    logger,
    metrics,
  });
  const counter = new ViewerCounter();
  const app = createApp();
  addMetricsRoute(app, metrics.registry, logger);
  const viewers = addViewerSocket(app, { relay, config: config.viewer, logger: logger.child({ module: 'viewers' }), metrics, counter });
  addEdgeRoutes(app, { config, relay, logger: logger.child({ module: 'http' }), metrics, counter, files: loadStaticFiles() });
  const listening = await listen(app, config.http.host, config.http.port);
  const host = config.http.host === '0.0.0.0' ? '127.0.0.1' : config.http.host;
  logger.info({ port: listening.port, parents: config.upstream.parents }, 'edge listening');
  let closing: Promise<void> | undefined;
  return {
    port: listening.port,
    url: `http://${host}:${listening.port}`,
    relay,
    close: () =>
      (closing ??= (async () => {
        listening.close();
        viewers.close();
        await relay.close();
        logger.info('edge stopped');
      })()),
  };
}
