/**
 * Hub node: the store (SQLite or PostgreSQL), chat, accounts, the directory and the remote-control API.
 * Closing order: stop listening → close edge links → close chat → close the store.
 */
import type { HubConfig } from '../common/config/index.js';
import { createLogger, type Logger } from '../common/logging/index.js';
import { createMetrics } from '../common/metrics/index.js';
import { addMetricsRoute, createApp, listen, send, sendError } from '../common/http/uws-server.js';
import { addAccountRoutes } from './account-api.js';
import { ChatHub } from './chat/chat-hub.js';
import { Directory } from './directory.js';
import { EdgeLinkServer } from './edge-link-server.js';
import { addInternalRoutes } from './internal-api.js';
import { addRemoteRoutes } from './remote-api.js';
import { Sessions } from './sessions.js';
import { openHubStore } from './store/open-hub-store.js';
import type { Store } from './store/types.js';
import { setupDiscovery } from '../common/discovery/node-discovery.js';

export interface HubNode {
  readonly port: number;
  readonly url: string;
  readonly store: Store;
  readonly chat: ChatHub;
  readonly directory: Directory;
  close(): Promise<void>;
}

export async function startHub(config: HubConfig, parentLogger?: Logger): Promise<HubNode> {
  const logger = createLogger('hub', { node_id: config.nodeId, role: 'hub' }, parentLogger);
  const metrics = createMetrics(config.nodeId, 'hub');
  const store = openHubStore(config, logger.child({ module: 'store' }));
  const directory = new Directory();
  const sessions = new Sessions(config.clusterSecret, store, {
    sessionMs: config.sessionTtlMs,
    accessMs: config.accessTokenTtlMs,
  });
  const app = createApp();
  const links = new EdgeLinkServer(app, {
    clusterSecret: config.clusterSecret,
    logger: logger.child({ module: 'edge-link' }),
    metrics,
    idleTimeoutS: config.edgeLinkIdleTimeoutS,
    greeting: {
      directory: () => directory.entries(store.streamers.list()),
      chatLimits: () => ({
        maxMessageChars: config.chat.maxMessageChars,
        maxDrawingBytes: config.chat.maxDrawingBytes,
      }),
    },
  });
  const chat = new ChatHub({
    store,
    output: {
      broadcast: (channel, event) => {
        if (event.type === 'message') metrics.chatMessages.inc();
        links.broadcast(channel, event);
      },
      direct: (ref, event) => links.direct(ref, event),
      kick: (ref, reason) => links.kick(ref, reason),
    },
    limits: config.chat,
    logger: logger.child({ module: 'chat' }),
    verifySession: (t) => sessions.verify(t),
    channelExists: (name) => store.streamers.get(name) !== undefined,
    emojiUrl: (name) => `/emoji/${name}`,
  });

  // Directory changes are coalesced: many reports in a burst become one push to the edges.
  let pushTimer: NodeJS.Timeout | undefined;
  const changed = () => {
    pushTimer ??= setTimeout(() => {
      pushTimer = undefined;
      links.publishDirectory(directory.entries(store.streamers.list()));
    }, 100);
  };
  const periodic = setInterval(changed, config.directoryPushIntervalMs);
  periodic.unref();

  // What edges send goes to the chat hub and the directory (the links are the chat's output, so the two are
  // joined by events rather than by handing one to the other before it exists).
  links.on('join', (ref, channel, identity) => chat.join(ref, channel, identity));
  links.on('leave', (ref) => chat.leave(ref));
  links.on('act', (ref, action) => chat.act(ref, action));
  links.on('viewers', (edge, counts) => directory.reportViewers(edge, counts));
  links.on('edgeGone', (edge) => {
    chat.dropEdge(edge);
    directory.dropEdge(edge);
    changed();
  });

  addMetricsRoute(app, metrics.registry, logger);
  app.get('/healthz', (res) => send(res, '200 OK', 'ok', { 'content-type': 'text/plain' }));
  addInternalRoutes(app, {
    clusterSecret: config.clusterSecret,
    store,
    directory,
    logger: logger.child({ module: 'internal-api' }),
    changed,
  });
  addAccountRoutes(app, {
    clusterSecret: config.clusterSecret,
    store,
    sessions,
    chat,
    directory,
    logger: logger.child({ module: 'account-api' }),
    loginRatePerMinute: config.loginRatePerMinute,
    changed,
  });
  addRemoteRoutes(app, {
    store,
    sessions,
    chat,
    directory,
    logger: logger.child({ module: 'remote-api' }),
    changed,
    loginRatePerMinute: config.loginRatePerMinute,
  });
  app.get('/emoji/:name', (res, req) => {
    const e = store.emoji.get(req.getParameter(0) ?? '');
    if (!e) return sendError(res, '404 Not Found', 'NOT_FOUND', 'no such emoji');
    send(res, '200 OK', e.data, {
      'content-type': e.mime,
      'cache-control': 'public, max-age=3600',
      'x-content-type-options': 'nosniff',
    });
  });
  app.get('/thumbs/:file', (res, req) => {
    const m = /^([A-Za-z0-9_-]{1,64})\.jpg$/.exec(req.getParameter(0) ?? '');
    const stream = m?.[1];
    const t = stream && !store.streamers.get(stream)?.hasPassword ? directory.thumbnail(stream) : undefined;
    if (!t) return sendError(res, '404 Not Found', 'NOT_FOUND', 'no thumbnail');
    send(res, '200 OK', t.data, { 'content-type': 'image/jpeg', 'cache-control': 'public, max-age=5' });
  });
  app.any('/*', (res) => sendError(res, '404 Not Found', 'NOT_FOUND', 'not found'));

  let listening;
  try {
    listening = await listen(app, config.http.host, config.http.port);
  } catch (err) {
    chat.close();
    store.close();
    throw err;
  }
  const nd = setupDiscovery({
    config: config.discovery,
    role: 'hub',
    nodeId: config.nodeId,
    logger,
    metrics,
  });
  await nd.register(config.http.host, listening.port, 'http', () => links.edgeCount);
  const host = config.http.host === '0.0.0.0' ? '127.0.0.1' : config.http.host;
  logger.info(
    { port: listening.port, dataDir: config.dataDir, streamers: store.streamers.list().length },
    'hub listening',
  );
  const l = listening;
  let closing: Promise<void> | undefined;
  return {
    port: l.port,
    url: `http://${host}:${l.port}`,
    store,
    chat,
    directory,
    close: () =>
      (closing ??= (async () => {
        await nd.close();
        clearInterval(periodic);
        if (pushTimer) clearTimeout(pushTimer);
        l.close();
        links.close();
        chat.close();
        store.close();
        logger.info('hub stopped');
        await Promise.resolve();
      })()),
  };
}
