/**
 * Edge node: pulls streams from a parent on demand and serves viewers: pages, LL-DASH over HTTP,
 * the WebSocket push path, the stream list (`/api/streams`) and /metrics.
 * Closing order: stop listening → close viewers → drop upstream → stop relay.
 */
import type { EdgeConfig } from '../common/config/index.js';
import { createLogger, type Logger } from '../common/logging/index.js';
import { createMetrics } from '../common/metrics/index.js';
import { addMetricsRoute, createApp, listen } from '../common/http/uws-server.js';
import { createPullingRelay } from '../common/relay/relay-runtime.js';
import type { RelayNode } from '../common/relay/relay-node.js';
import { addEdgeRoutes } from './edge-http.js';
import { addBroadcastApi, browserIngestUrl } from './broadcast-http.js';
import { loadStaticFiles } from './static-files.js';
import { servedFiles } from './static-serve.js';
import { ViewerCounter } from './viewer-count.js';
import { addViewerSocket } from './viewer-socket.js';
import { P2pTracker } from './p2p/tracker.js';
import { AccessGate } from './access-gate.js';
import { ChatBridge } from './chat-bridge.js';
import { addChatSocket, chatTopic } from './chat-socket.js';
import { HubHosts } from '../common/http/hub-hosts.js';
import { HubLink } from './hub-link.js';
import { addHubProxy } from './hub-proxy.js';
import { addVideoRoutes, hubLookups } from './video-http.js';
import { openObjectStore } from '../common/storage/open-store.js';
import type { HubDirectoryEntry } from '../common/protocol/index.js';
import { UNKNOWN_CAPACITY } from '../common/discovery/index.js';
import { advertisedHost } from '../common/discovery/node-discovery.js';
import { EdgeSelector, candidateFromNode, type EdgeCandidate } from './edge-selection.js';
import { addEdgeSelection } from './edge-selection-http.js';
import { RegionMap } from './region-map.js';
import { ProxyTrust } from '../common/http/client.js';
import { openGeoIp } from './geoip.js';
import { audienceMessages, ViewerKeys } from './audience-report.js';
import { timeUrlOf } from './mpd.js';

export interface EdgeNode {
  readonly port: number;
  readonly url: string;
  readonly relay: RelayNode;
  close(): Promise<void>;
}

export async function startEdge(config: EdgeConfig, parentLogger?: Logger): Promise<EdgeNode> {
  const logger = createLogger('edge', { node_id: config.nodeId, role: 'edge' }, parentLogger);
  // Configuration mistakes stop the start, naming the entry: before anything listens or connects.
  const sel = config.edgeSelection;
  const regions = new RegionMap(sel.regions);
  // A site whose public URL is HTTPS is secure even if the proxy in front does not say so per request.
  const clients = new ProxyTrust({
    trustProxy: config.trustProxy,
    forwardedHeader: config.forwardedHeader,
    secure: config.tls !== undefined || (config.publicUrl?.startsWith('https:') ?? false),
  });
  const geoip = sel.geoip ? await openGeoIp(sel.geoip.database, sel.geoip.regions) : undefined;
  if (geoip)
    logger.info(
      { database: sel.geoip?.database, type: geoip.databaseType, built: geoip.builtAt.toISOString() },
      'GeoIP database loaded',
    );
  const metrics = createMetrics(config.nodeId, 'edge');
  // The capacity advertised in discovery is maxViewers when set: other edges rank this one by it.
  const capacity = config.maxViewers ?? config.discovery.capacity;
  const { relay, nd } = createPullingRelay({
    role: 'edge',
    discovery: { ...config.discovery, capacity },
    nodeId: config.nodeId,
    clusterSecret: config.clusterSecret,
    upstream: config.upstream,
    cacheSegments: config.cache.segments,
    maxFrameBytes: config.upstream.maxFrameBytes,
    logger,
    metrics,
  });
  const counter = new ViewerCounter();
  const gate = new AccessGate(config.clusterSecret, {
    // Known only once the stream's description has arrived here; until then the gate holds media viewers.
    streamSaysProtected: (name) => {
      const r = relay.get(name);
      return r?.state === 'live' && r.info ? r.info.protected === true : undefined;
    },
    expectDirectory: config.hub !== undefined,
    logger: logger.child({ module: 'access-gate' }),
  });
  const app = createApp({ tls: config.tls, logger: logger.child({ module: 'tls' }), head: true });
  addMetricsRoute(app, metrics.registry, logger);

  // Edge selection: this edge (its URL is known once it listens), the others from discovery and the config.
  const totalViewers = () => counter.total();
  let selfUrl = config.publicUrl?.replace(/\/+$/, '') ?? '';
  const peers: EdgeCandidate[] = sel.peers.map((p) => ({
    id: `peer:${new URL(p.url).host}`,
    region: p.region,
    url: p.url.replace(/\/+$/, ''),
    load: 0,
    capacity: UNKNOWN_CAPACITY,
  }));
  const selector = new EdgeSelector({
    self: () => ({
      id: config.nodeId,
      region: config.discovery.region,
      url: selfUrl,
      load: totalViewers(),
      capacity: config.maxViewers ?? UNKNOWN_CAPACITY,
    }),
    others: () => [
      ...nd.discovery
        .nodes('edge')
        .filter((n) => n.id !== config.nodeId)
        .map(candidateFromNode),
      ...peers.filter((p) => p.url !== selfUrl),
    ],
    regions,
    geoip,
  });
  const entry = addEdgeSelection(app, {
    selector,
    clients,
    redirect: sel.redirect,
    logger: logger.child({ module: 'edge-selection' }),
    count: (route, status) => metrics.httpRequests.inc({ route, status: status.slice(0, 3) }),
  });

  // Chat, accounts and the hub's directory, when a hub is configured.
  let hubDirectory: HubDirectoryEntry[] | undefined;
  /** Per live stream being recorded, its broadcast, as the hub last said. */
  let hubRecordings: Record<string, string> = {};
  let chatBridge: ChatBridge | undefined;
  let hubLink: HubLink | undefined;
  // One view of which hub leads, shared by the link and the /api proxy (ADR 0018).
  const hubs = config.hub ? new HubHosts(config.hub.url, config.hub.standbys) : undefined;
  if (config.hub && hubs) {
    metrics.registry.registerMetric(metrics.hubConnected);
    const hub = config.hub;
    const viewerKeys = new ViewerKeys(config.clusterSecret);
    hubLink = new HubLink({
      nodeId: config.nodeId,
      clusterSecret: config.clusterSecret,
      config: hub,
      hubs,
      logger: logger.child({ module: 'hub-link' }),
      onState: (up) => metrics.hubConnected.set(up ? 1 : 0),
      viewerCounts: () => {
        const out: Record<string, number> = {};
        for (const e of hubDirectory ?? []) {
          const n = counter.count(e.name);
          if (n > 0) out[e.name] = n;
        }
        for (const r of relay.list()) {
          const n = counter.count(r.name);
          if (n > 0) out[r.name] = n;
        }
        return out;
      },
      audience: () => audienceMessages(counter, viewerKeys, config.discovery.region),
    });
    const link = hubLink;
    chatBridge = new ChatBridge({
      queueLimit: hub.queueLimit,
      edgeId: config.nodeId,
      logger: logger.child({ module: 'chat' }),
      publish: (channel, json) => app.publish(chatTopic(channel), json, false),
      sendToHub: (m) => link.send(m),
      onDirectory: (entries) => {
        hubDirectory = entries;
        gate.setDirectory(entries);
      },
      onRecordings: (streams) => {
        hubRecordings = streams;
      },
    });
  }
  const chatSockets = addChatSocket(app, {
    chat: () => chatBridge,
    gate,
    clients,
    logger: logger.child({ module: 'chat-socket' }),
    idleTimeoutS: config.viewer.chatIdleTimeoutS,
  });
  addHubProxy(app, {
    hubs,
    nodeId: config.nodeId,
    clusterSecret: config.clusterSecret,
    clients,
    logger: logger.child({ module: 'hub-proxy' }),
    timeoutMs: config.hub?.requestTimeoutMs ?? 5000,
  });
  const viewers = addViewerSocket(app, {
    relay,
    config: config.viewer,
    logger: logger.child({ module: 'viewers' }),
    metrics,
    counter,
    gate,
    clients,
    atCapacity: () => selector.atCapacity(),
    p2p: new P2pTracker(config.p2p, logger.child({ module: 'p2p' }), metrics),
    regionOf: (address) => selector.regionOf(address),
  });
  addBroadcastApi(app, {
    ingestUrl: () =>
      browserIngestUrl(config.broadcast.ingestUrl, nd.discovery.nodes('ingress'), config.discovery.region),
    count: (route, status) => metrics.httpRequests.inc({ route, status: status.slice(0, 3) }),
  });
  // Past broadcasts, read from the recording storage (not checked here: an edge may hold read-only credentials).
  const recordingStore = config.recordings.storage ? openObjectStore(config.recordings.storage) : undefined;
  addVideoRoutes(app, {
    storage: recordingStore,
    cacheBytes: config.recordings.cacheBytes,
    dvrWindowS: config.recordings.dvrWindowS,
    timeUrl: timeUrlOf(config.publicUrl),
    lookup: hubs
      ? hubLookups({
          hubs,
          nodeId: config.nodeId,
          clusterSecret: config.clusterSecret,
          timeoutMs: config.hub?.requestTimeoutMs ?? 5000,
        })
      : undefined,
    gate,
    clients,
    logger: logger.child({ module: 'videos' }),
    count: (route, status) => metrics.httpRequests.inc({ route, status: status.slice(0, 3) }),
  });
  addEdgeRoutes(app, {
    config,
    relay,
    logger: logger.child({ module: 'http' }),
    metrics,
    counter,
    files: servedFiles(loadStaticFiles(undefined, config.staticCacheDir), config.staticCacheDir),
    gate,
    clients,
    hubDirectory: () => hubDirectory,
    hubRecordings: () => hubRecordings,
    entry,
  });
  const listening = await listen(app, config.http.host, config.http.port);
  const scheme = config.tls ? 'https' : 'http';
  selfUrl ||= `${scheme}://${advertisedHost(config.discovery, config.http.host)}:${listening.port}`;
  // Hubs registered in discovery join the configured ones (a new hub of the group is found by itself).
  if (hubs) nd.discovery.onChange('hub', (nodes) => hubs.learn(nodes.map((n) => n.wsUrl)));
  await nd.register(
    config.http.host,
    listening.port,
    config.tls ? 'wss' : 'ws',
    totalViewers,
    config.publicUrl,
  );
  if (hubLink && chatBridge) hubLink.start(chatBridge);
  const host = config.http.host === '0.0.0.0' ? '127.0.0.1' : config.http.host;
  logger.info({ port: listening.port, parents: config.upstream.parents }, 'edge listening');
  let closing: Promise<void> | undefined;
  return {
    port: listening.port,
    url: `${scheme}://${host}:${listening.port}`,
    relay,
    close: () =>
      (closing ??= (async () => {
        await nd.close();
        listening.close();
        viewers.close();
        chatSockets.close();
        gate.close();
        recordingStore?.close();
        await hubLink?.close();
        await relay.close();
        logger.info('edge stopped');
      })()),
  };
}
