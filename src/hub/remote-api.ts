/**
 * The remote-control REST API (docs/openapi.yaml): a streamer's own tools and bots manage their channel.
 * Credentials: HTTP Basic `name:streamKey`, or `Bearer <token>` from POST /api/v1/token. A credential only
 * ever grants its own channel.
 */
import { z } from 'zod';
import type { Logger } from '../common/logging/index.js';
import { ApiError, addJsonRoute, type ApiHandler, type ApiRequest } from '../common/http/json-routes.js';
import type { App } from '../common/http/uws-server.js';
import { RateLimiter } from './auth/rate-limit.js';
import type { ChatHub } from './chat/chat-hub.js';
import type { Directory } from './directory.js';
import { broadcastUpdateSchema } from './account-api.js';
import { broadcastView, type Broadcasts } from './broadcasts.js';
import { broadcastParam, parseBody, streamParam } from './internal-api.js';
import type { Sessions } from './sessions.js';
import { streamerUpdateSchema } from './streamer-update.js';
import { raiseTitleChange, type HubEvents } from './hub-events.js';
import { channelWebhooks, type WebhookControl } from './webhooks/webhook-api.js';
import { channelOutputs, type OutputsControl } from './restream/outputs-api.js';
import type { AnalyticsReader } from './analytics/analytics-api.js';
import { channelChatRules } from './chat/rules-api.js';
import type { Store } from './store/types.js';

export function addRemoteRoutes(
  app: App,
  deps: {
    store: Store;
    sessions: Sessions;
    chat: ChatHub;
    directory: Directory;
    logger: Logger;
    changed: () => void;
    loginRatePerMinute: number;
    broadcasts: Broadcasts;
    /** The community events (ADR 0021): title changes are raised here. */
    events?: HubEvents;
    /** The channel's webhooks (issue 16): the running service, and whether targets may be private. */
    webhooks?: WebhookControl;
    /** Restream outputs (issue 16). */
    outputs?: OutputsControl;
    /** Analytics (issue 16). */
    analytics?: AnalyticsReader;
  },
): void {
  const { store, sessions, chat, directory, logger } = deps;
  const limiter = new RateLimiter({ capacity: deps.loginRatePerMinute * 6, perMs: 60_000 });

  /** The channel the credentials belong to. */
  const authenticate = (req: ApiRequest): string => {
    const auth = req.headers.authorization ?? '';
    if (auth.startsWith('Basic ')) {
      if (!limiter.take(`remote:${req.remote.split(':')[0]}`))
        throw new ApiError('RATE_LIMITED', 'too many attempts');
      const decoded = Buffer.from(auth.slice(6), 'base64').toString('utf8');
      const i = decoded.indexOf(':');
      const name = decoded.slice(0, i);
      const key = decoded.slice(i + 1);
      const s = i > 0 ? store.streamers.verifyKey(key) : undefined;
      if (!s || s.name !== name) {
        logger.info({ code: 'BAD_CREDENTIALS', remote: req.remote }, 'remote API credentials refused');
        throw new ApiError('UNAUTHENTICATED', 'wrong streamer name or key');
      }
      return s.name;
    }
    if (auth.startsWith('Bearer ')) {
      const s = sessions.verify(auth.slice(7));
      if (!s || s.kind !== 'streamer') throw new ApiError('UNAUTHENTICATED', 'invalid or expired token');
      return s.name;
    }
    throw new ApiError('UNAUTHENTICATED', 'credentials required (Basic name:streamKey or Bearer token)');
  };

  const own = (req: ApiRequest): string => {
    const who = authenticate(req);
    const name = streamParam(req);
    if (who !== name) throw new ApiError('FORBIDDEN', 'these credentials belong to another channel');
    return name;
  };

  const unauthorizedHeader = { 'www-authenticate': 'Basic realm="tiercast", charset="UTF-8"' };
  const wrap =
    (h: ApiHandler): ApiHandler =>
    async (req) => {
      try {
        return await h(req);
      } catch (err) {
        if (err instanceof ApiError && err.code === 'UNAUTHENTICATED') {
          return {
            status: 401,
            headers: unauthorizedHeader,
            body: { error: { code: err.code, message: err.message } },
          };
        }
        throw err;
      }
    };
  const opts = { logger };

  addJsonRoute(
    app,
    'post',
    '/api/v1/token',
    wrap((req) => {
      const name = authenticate(req);
      const token = sessions.issueStreamer(name);
      return { body: { token, expiresAt: Date.now() + sessions.sessionTtlMs } };
    }),
    opts,
  );

  const info = (name: string) => {
    const s = store.streamers.get(name)!;
    return {
      name,
      live: directory.isLive(name),
      viewers: directory.viewerCount(name),
      chatMembers: chat.members(name).map((m) => m.name),
      title: s.title,
      description: s.description,
      category: s.category,
      protected: s.hasPassword,
    };
  };

  addJsonRoute(
    app,
    'get',
    '/api/v1/streams/:name',
    wrap((req) => ({ body: info(own(req)) })),
    opts,
  );

  addJsonRoute(
    app,
    'patch',
    '/api/v1/streams/:name',
    wrap((req) => {
      const name = own(req);
      const patch = parseBody(streamerUpdateSchema, req.body);
      const before = store.streamers.get(name);
      raiseTitleChange(deps.events, before, store.streamers.update(name, patch));
      logger.info({ stream: name, fields: Object.keys(patch) }, 'channel updated through the remote API');
      deps.changed();
      return { body: info(name) };
    }),
    opts,
  );

  addJsonRoute(
    app,
    'get',
    '/api/v1/streams/:name/chat',
    wrap((req) => {
      const name = own(req);
      const limit = Math.min(
        200,
        Math.max(1, Number(new URLSearchParams(req.query).get('limit') ?? 50) || 50),
      );
      return { body: { messages: chat.recent(name, limit) } };
    }),
    opts,
  );

  addJsonRoute(
    app,
    'post',
    '/api/v1/streams/:name/chat',
    wrap((req) => {
      const name = own(req);
      const { text } = parseBody(z.strictObject({ text: z.string().min(1).max(2000) }), req.body);
      return { status: 201, body: { message: chat.postAsStreamer(name, text) } };
    }),
    opts,
  );

  // Chat rules and the moderation log (issue 16): the channel's own, as on the dashboard.
  const rules = channelChatRules(store, chat, logger, 'remote API');
  addJsonRoute(
    app,
    'get',
    '/api/v1/streams/:name/chat/rules',
    wrap((req) => ({ body: rules.get(own(req)) })),
    opts,
  );
  addJsonRoute(
    app,
    'put',
    '/api/v1/streams/:name/chat/rules',
    wrap((req) => ({ body: rules.set(own(req), req.body) })),
    opts,
  );
  addJsonRoute(
    app,
    'get',
    '/api/v1/streams/:name/moderation-log',
    wrap((req) => ({ body: rules.log(own(req)) })),
    opts,
  );

  // Webhooks (issue 16, ADR 0021): the channel's own; a new hook's secret is in its creation's answer only.
  if (deps.webhooks) {
    const hooks = channelWebhooks(store, deps.webhooks, logger, 'remote API');
    const path = '/api/v1/streams/:name/webhooks';
    addJsonRoute(
      app,
      'get',
      path,
      wrap((req) => ({ body: hooks.list(own(req)) })),
      opts,
    );
    addJsonRoute(
      app,
      'post',
      path,
      wrap(async (req) => ({ status: 201, body: await hooks.add(own(req), req.body) })),
      opts,
    );
    addJsonRoute(
      app,
      'del',
      `${path}/:id`,
      wrap((req) => {
        hooks.remove(own(req), req.params[1] ?? '');
        return { status: 204 };
      }),
      opts,
    );
    addJsonRoute(
      app,
      'get',
      `${path}/:id/deliveries`,
      wrap((req) => ({ body: hooks.deliveries(own(req), req.params[1] ?? '') })),
      opts,
    );
  }

  // Restream outputs (issue 16, ADR 0021): the channel's own; a key goes in and never comes back out.
  if (deps.outputs) {
    const outs = channelOutputs(store, deps.outputs, logger, 'remote API');
    const path = '/api/v1/streams/:name/outputs';
    addJsonRoute(
      app,
      'get',
      path,
      wrap((req) => ({ body: outs.list(own(req)) })),
      opts,
    );
    addJsonRoute(
      app,
      'post',
      path,
      wrap(async (req) => ({ status: 201, body: await outs.add(own(req), req.body) })),
      opts,
    );
    addJsonRoute(
      app,
      'del',
      `${path}/:id`,
      wrap((req) => {
        outs.remove(own(req), req.params[1] ?? '');
        return { status: 204 };
      }),
      opts,
    );
  }

  // Analytics (issue 16): the channel's own, as JSON or CSV.
  if (deps.analytics) {
    const reader = deps.analytics;
    const path = '/api/v1/streams/:name/analytics';
    addJsonRoute(
      app,
      'get',
      path,
      wrap((req) => ({ body: reader.report(own(req), req.query) })),
      opts,
    );
    addJsonRoute(
      app,
      'get',
      `${path}.csv`,
      wrap((req) => reader.csv(own(req), req.query)),
      opts,
    );
  }

  // Past broadcasts (issue 15): the channel's own, hidden ones included.
  const ownBroadcast = (req: ApiRequest) => {
    const name = own(req);
    const b = store.broadcasts.get(broadcastParam(req, 1));
    if (!b || b.stream !== name) throw new ApiError('NOT_FOUND', 'no such broadcast on this channel');
    return b;
  };
  addJsonRoute(
    app,
    'get',
    '/api/v1/streams/:name/videos',
    wrap((req) => ({ body: { videos: deps.broadcasts.list(own(req), true) } })),
    opts,
  );
  addJsonRoute(
    app,
    'patch',
    '/api/v1/streams/:name/videos/:id',
    wrap((req) => {
      const b = ownBroadcast(req);
      const patch = parseBody(broadcastUpdateSchema, req.body);
      logger.info(
        { stream: b.stream, broadcast: b.id, fields: Object.keys(patch) },
        'broadcast updated through the remote API',
      );
      return { body: { video: broadcastView(store.broadcasts.update(b.id, patch)) } };
    }),
    opts,
  );
  addJsonRoute(
    app,
    'del',
    '/api/v1/streams/:name/videos/:id',
    wrap(async (req) => {
      const b = ownBroadcast(req);
      await deps.broadcasts.remove(b.id, `remote:${b.stream}`);
      return { status: 204 };
    }),
    opts,
  );
}
