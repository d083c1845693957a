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
import { HubEvents, raiseLiveEvents } from './hub-events.js';
import { startWebhooks, type WebhookService } from './webhooks/service.js';
import { startNotifications } from './notifications.js';
import { createWebPush } from './push/web-push.js';
import { createKeySealer } from './restream/sealed-keys.js';
import { OutputStates, type OutputsControl } from './restream/outputs-api.js';
import { EdgeLinkServer } from './edge-link-server.js';
import { Broadcasts } from './broadcasts.js';
import { addInternalRoutes } from './internal-api.js';
import { openObjectStore } from '../common/storage/open-store.js';
import { addRemoteRoutes } from './remote-api.js';
import { Sessions } from './sessions.js';
import { openHubStore } from './store/open-hub-store.js';
import type { Store } from './store/types.js';
import { callSafely } from '../common/events/safe-emitter.js';
import { setupDiscovery } from '../common/discovery/node-discovery.js';
import { ConsulApi } from '../common/discovery/consul-api.js';
import { ConsulLeadership, SoleLeadership, type HubLeadership } from './leadership.js';
import { leaderOnly, refuseAsStandby } from './leader-gate.js';
import { AudienceBook } from './analytics/audience-book.js';
import { AnalyticsRecorder } from './analytics/analytics-recorder.js';
import { analyticsReader } from './analytics/analytics-api.js';

export interface HubNode {
  readonly port: number;
  readonly url: string;
  readonly store: Store;
  readonly chat: ChatHub;
  readonly directory: Directory;
  /** The community events this hub raises (as the leader: only the leader's directory changes). */
  readonly events: HubEvents;
  /** Webhooks, run while this hub leads. */
  readonly webhooks: WebhookService;
  /** Whether this hub leads (always, unless `ha.enabled` and another hub holds the lock). */
  readonly leadership: HubLeadership;
  broadcasts: Broadcasts;
  close(): Promise<void>;
}

/** One hub leads on its own; with `ha.enabled` the hubs elect one in Consul (a standby until it wins). */
function electLeader(config: HubConfig, logger: Logger): HubLeadership & { start?(): Promise<void> } {
  const host = config.http.host === '0.0.0.0' ? '127.0.0.1' : config.http.host;
  if (!config.ha.enabled) return new SoleLeadership(logger.child({ module: 'leadership' }));
  const consul = config.discovery.consul;
  return new ConsulLeadership({
    api: new ConsulApi({
      address: consul.address,
      token: consul.token,
      requestTimeoutMs: consul.requestTimeoutMs,
    }),
    key: config.ha.key,
    nodeId: config.nodeId,
    url: config.ha.advertiseUrl ?? `http://${host}:${config.http.port}`,
    sessionTtlMs: consul.sessionTtlMs,
    lockDelayMs: consul.lockDelayMs,
    logger: logger.child({ module: 'leadership' }),
  });
}

export async function startHub(config: HubConfig, parentLogger?: Logger): Promise<HubNode> {
  const logger = createLogger('hub', { node_id: config.nodeId, role: 'hub' }, parentLogger);
  const metrics = createMetrics(config.nodeId, 'hub');
  const store = openHubStore(config, logger.child({ module: 'store' }));
  const directory = new Directory(Date.now, config.liveReportTimeoutMs);
  const events = new HubEvents(logger.child({ module: 'events' }));
  let webhookService: WebhookService | undefined;
  const sessions = new Sessions(config.clusterSecret, store, {
    sessionMs: config.sessionTtlMs,
    accessMs: config.accessTokenTtlMs,
  });
  const app = createApp();
  const leadership = electLeader(config, logger);
  const gated = leaderOnly(app, leadership);
  const links = new EdgeLinkServer(app, {
    refuse: (res) => {
      if (leadership.isLeader) return false;
      res.cork(() => refuseAsStandby(res, leadership));
      return true;
    },
    clusterSecret: config.clusterSecret,
    logger: logger.child({ module: 'edge-link' }),
    metrics,
    idleTimeoutS: config.edgeLinkIdleTimeoutS,
    greeting: {
      directory: () => directory.entries(store.streamers.list()),
      recordings: () => directory.recordings(),
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
    // Called only while the hub serves chat, after the directory below exists.
    isLive: (name) => directory.isLive(name),
    onMessage: (channel, msg) =>
      events.emit({ type: 'chat.message', channel, at: msg.at, author: msg.author, text: msg.text }),
  });

  // Directory changes are coalesced: many reports in a burst become one push to the edges.
  let pushTimer: NodeJS.Timeout | undefined;
  const changed = () => {
    pushTimer ??= setTimeout(() => {
      pushTimer = undefined;
      // The store may be away (PostgreSQL restarting): this push is skipped, the next one comes.
      callSafely(logger, 'directory push failed', {}, () =>
        links.publishDirectory(directory.entries(store.streamers.list()), directory.recordings()),
      );
    }, 100);
  };
  // The store may be away when a stream starts: the event still goes, with the channel's name as its title.
  raiseLiveEvents(
    directory,
    (name) => {
      try {
        return store.streamers.get(name);
      } catch {
        return undefined;
      }
    },
    events,
  );
  const periodic = setInterval(() => {
    // Streams whose ingress stopped reporting end on time (and say so), not when someone next looks.
    directory.sweep();
    changed();
  }, config.directoryPushIntervalMs);
  periodic.unref();

  // What edges send goes to the chat hub and the directory (the links are the chat's output, so the two are
  // joined by events rather than by handing one to the other before it exists).
  links.on('join', (ref, channel, identity) => chat.join(ref, channel, identity));
  links.on('leave', (ref) => chat.leave(ref));
  links.on('act', (ref, action, origin) => {
    chat.act(ref, action, origin);
    // Acknowledged after the store has it (PostgreSQL statements are synchronous here, ADR 0016).
    if (origin !== undefined) links.ack(ref.edge, origin);
  });
  links.on('viewers', (edge, counts) => directory.reportViewers(edge, counts));
  const audience = new AudienceBook();
  links.on('audience', (edge, report) => audience.report(edge, report));
  links.on('edgeGone', (edge) => {
    chat.dropEdge(edge);
    directory.dropEdge(edge);
    audience.dropEdge(edge);
    changed();
  });

  addMetricsRoute(app, metrics.registry, logger);
  app.get('/healthz', (res) => send(res, '200 OK', 'ok', { 'content-type': 'text/plain' }));
  // Past broadcasts: the recording storage (for deletion and retention) is checked like the ingress checks it.
  const recordingStore = config.recordings.storage ? openObjectStore(config.recordings.storage) : undefined;
  if (recordingStore) {
    try {
      await recordingStore.check();
    } catch (err) {
      recordingStore.close();
      chat.close();
      store.close();
      throw err;
    }
  }
  const broadcasts = new Broadcasts({
    store,
    directory,
    storage: recordingStore,
    retention: config.recordings.retention,
    staleAfterMs: config.recordings.staleAfterMs,
    clips: config.recordings.clips,
    // With several hubs, the leader alone deletes what retention removes.
    leads: () => leadership.isLeader,
    logger: logger.child({ module: 'broadcasts' }),
    events,
  });
  const outputs: OutputsControl = {
    sealer: createKeySealer(config.restream.secretsKey ?? config.clusterSecret),
    states: new OutputStates(),
    allowPrivateTargets: config.restream.allowPrivateTargets,
    isLive: (channel) => directory.isLive(channel),
  };
  // Analytics (issue 16): written by the leader from the edges' audience and the community events.
  const analyticsRecorder = config.analytics.enabled
    ? new AnalyticsRecorder({
        store,
        directory,
        book: audience,
        events,
        config: config.analytics,
        leads: () => leadership.isLeader,
        logger: logger.child({ module: 'analytics' }),
      })
    : undefined;
  const analytics = analyticsReader(store, config.analytics);
  addInternalRoutes(gated, {
    clusterSecret: config.clusterSecret,
    outputs,
    store,
    directory,
    broadcasts,
    logger: logger.child({ module: 'internal-api' }),
    changed,
  });
  // The service starts once the hub listens (it needs the hub's URL): until then nothing runs to reload.
  const webhookControl = {
    reload: () => webhookService?.reload(),
    failing: (id: string) => webhookService?.failing(id) ?? false,
    allowPrivateTargets: config.webhooks.allowPrivateTargets,
  };
  const push = createWebPush({ store, config: config.push, logger: logger.child({ module: 'push' }) });
  addAccountRoutes(gated, {
    clusterSecret: config.clusterSecret,
    store,
    sessions,
    chat,
    directory,
    logger: logger.child({ module: 'account-api' }),
    loginRatePerMinute: config.loginRatePerMinute,
    changed,
    broadcasts,
    clipsBy: config.recordings.clips.who,
    events,
    webhooks: webhookControl,
    push,
    outputs,
    analytics,
  });
  addRemoteRoutes(gated, {
    store,
    sessions,
    chat,
    directory,
    logger: logger.child({ module: 'remote-api' }),
    changed,
    loginRatePerMinute: config.loginRatePerMinute,
    broadcasts,
    events,
    webhooks: webhookControl,
    outputs,
    analytics,
  });
  gated.get('/emoji/:name', (res, req) => {
    const e = store.emoji.get(req.getParameter(0) ?? '');
    if (!e) return sendError(res, '404 Not Found', 'NOT_FOUND', 'no such emoji');
    send(res, '200 OK', e.data, {
      'content-type': e.mime,
      'cache-control': 'public, max-age=3600',
      'x-content-type-options': 'nosniff',
    });
  });
  gated.get('/thumbs/:file', (res, req) => {
    const m = /^([A-Za-z0-9_-]{1,64})\.jpg$/.exec(req.getParameter(0) ?? '');
    const stream = m?.[1];
    const t = stream && !store.streamers.get(stream)?.hasPassword ? directory.thumbnail(stream) : undefined;
    if (!t) return sendError(res, '404 Not Found', 'NOT_FOUND', 'no thumbnail');
    send(res, '200 OK', t.data, { 'content-type': 'image/jpeg', 'cache-control': 'public, max-age=5' });
  });
  gated.any('/*', (res) => sendError(res, '404 Not Found', 'NOT_FOUND', 'not found'));

  // The first round of the election before listening: once the hub answers, it knows whether it leads and,
  // if not, who does.
  leadership.on('elected', () => {
    metrics.hubLeader.set(1);
    changed();
  });
  leadership.on('deposed', () => {
    metrics.hubLeader.set(0);
    // The new leader takes the edges and chat from here; nothing of this hub's chat state may outlive it.
    links.dropAll('this hub no longer leads');
    chat.forgetAll();
  });
  await leadership.start?.();
  metrics.hubLeader.set(leadership.isLeader ? 1 : 0);
  let listening;
  try {
    listening = await listen(app, config.http.host, config.http.port);
  } catch (err) {
    await leadership.close();
    broadcasts.close();
    analyticsRecorder?.close();
    recordingStore?.close();
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
    {
      port: listening.port,
      dataDir: config.dataDir,
      streamers: store.streamers.list().length,
      leads: leadership.isLeader,
    },
    'hub listening',
  );
  const l = listening;
  const webhooks = (webhookService = startWebhooks({
    store,
    events,
    leadership,
    logger: logger.child({ module: 'webhooks' }),
    publicUrl: config.webhooks.publicUrl ?? `http://${host}:${l.port}`,
    allowPrivateTargets: config.webhooks.allowPrivateTargets,
    operatorHooks: config.webhooks.hooks,
  }));
  const notifications = startNotifications({
    store,
    events,
    leadership,
    logger: logger.child({ module: 'notifications' }),
    push,
  });
  let closing: Promise<void> | undefined;
  return {
    port: l.port,
    url: `http://${host}:${l.port}`,
    webhooks,
    store,
    chat,
    directory,
    events,
    leadership,
    broadcasts,
    close: () =>
      (closing ??= (async () => {
        // The lead is handed over first: a standby takes the edges while this hub closes.
        await leadership.close();
        await nd.close();
        clearInterval(periodic);
        broadcasts.close();
        analyticsRecorder?.close();
        recordingStore?.close();
        if (pushTimer) clearTimeout(pushTimer);
        l.close();
        links.close();
        chat.close();
        webhooks.close();
        notifications.close();
        store.close();
        logger.info('hub stopped');
        await Promise.resolve();
      })()),
  };
}
