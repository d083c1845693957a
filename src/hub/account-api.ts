/**
 * Viewer-facing API (accounts, follows, viewing passwords, the streamer dashboard). Browsers reach it only
 * through their edge, which forwards `/api/...` to `/edge-api/...` here with the cluster token and the
 * client's address; cookies the hub sets pass back through the edge. State-changing requests need the
 * CSRF double-submit header.
 */
import { z } from 'zod';
import type { Logger } from '../common/logging/index.js';
import { ApiError, addJsonRoute, type ApiHandler, type ApiRequest } from '../common/http/json-routes.js';
import type { App } from '../common/http/uws-server.js';
import { cookie, readCookie } from '../common/http/request.js';
import {
  CLIENT_IP_HEADER,
  CLIENT_SECURE_HEADER,
  VIEWER_API_PREFIX,
  VIEWER_API_ROUTES,
} from '../common/http/viewer-api.js';
import { CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE, accessCookie } from '../common/protocol/session-tokens.js';
import { createCsrfToken, csrfOk } from './auth/csrf.js';
import { RateLimiter } from './auth/rate-limit.js';
import type { ChatHub } from './chat/chat-hub.js';
import type { SessionInfo } from './chat/types.js';
import type { Directory } from './directory.js';
import { broadcastView, clipView, type Broadcasts } from './broadcasts.js';
import { isClipId } from '../common/recording/stream-recorder.js';
import { broadcastParam, parseBody, requireCluster, streamParam } from './internal-api.js';
import type { Sessions } from './sessions.js';
import { streamerUpdateSchema } from './streamer-update.js';
import { raiseTitleChange, type HubEvents } from './hub-events.js';
import type { Store } from './store/types.js';
import { channelWebhooks, type WebhookControl } from './webhooks/webhook-api.js';
import { channelChatRules } from './chat/rules-api.js';
import type { WebPush } from './push/web-push.js';
import { pushSubscriptionSchema } from './push/subscription.js';
import { channelOutputs, type OutputsControl } from './restream/outputs-api.js';
import type { AnalyticsReader } from './analytics/analytics-api.js';
import { MAX_STREAM_KEY_CHARS } from '../common/protocol/node-api-limits.js';

const credentials = z.strictObject({
  name: z.string().min(1).max(64),
  password: z.string().min(1).max(1024),
});

export interface AccountApiDeps {
  clusterSecret: string;
  store: Store;
  sessions: Sessions;
  chat: ChatHub;
  directory: Directory;
  logger: Logger;
  loginRatePerMinute: number;
  changed: () => void;
  broadcasts: Broadcasts;
  /** Who may clip a live stream (hub.recordings.clips.who). */
  clipsBy?: 'accounts' | 'moderators';
  /** The community events (ADR 0021): title changes and follows are raised here. */
  events?: HubEvents;
  /** The channel's webhooks (issue 16), managed from the dashboard. */
  webhooks?: WebhookControl;
  /** Web Push of go-live (issue 16): the key browsers subscribe with, and checking their endpoints. */
  push?: WebPush;
  /** The channel's restream outputs (issue 16), managed from the dashboard. */
  outputs?: OutputsControl;
  /** Analytics (issue 16): a streamer's own channel; an admin's any channel or the whole network. */
  analytics?: AnalyticsReader;
}

/** What a streamer may change of a past broadcast. */
export const broadcastUpdateSchema = z
  .strictObject({
    title: z.string().trim().min(1).max(140).optional(),
    hidden: z.boolean().optional(),
  })
  .refine((p) => p.title !== undefined || p.hidden !== undefined, 'nothing to change');

export function addAccountRoutes(app: App, deps: AccountApiDeps): void {
  const { store, sessions, logger } = deps;
  const limiter = new RateLimiter({ capacity: deps.loginRatePerMinute, perMs: 60_000 });

  const clientIp = (req: ApiRequest) => req.headers[CLIENT_IP_HEADER] ?? 'unknown';
  /** The viewer reached its edge over HTTPS (the edge says so; only an edge reaches these routes). */
  const secure = (req: ApiRequest) => req.headers[CLIENT_SECURE_HEADER] === '1';
  const session = (req: ApiRequest): SessionInfo | undefined =>
    sessions.verify(readCookie(req.cookies, SESSION_COOKIE, secure(req)));
  const throttle = (req: ApiRequest) => {
    if (!limiter.take(`login:${clientIp(req)}`))
      throw new ApiError('RATE_LIMITED', 'too many attempts; wait a minute');
  };
  const sessionCookie = (req: ApiRequest, token: string) =>
    cookie(SESSION_COOKIE, token, {
      maxAgeS: Math.floor(sessions.sessionTtlMs / 1000),
      secure: secure(req),
    });

  /**
   * Every /edge-api route: only an edge forwarding a viewer's call may reach it (a `viewer-proxy` token),
   * state changes need the CSRF header, and the route must be on the shared allow-list the edge forwards.
   */
  const route = (
    method: 'get' | 'post' | 'put' | 'patch' | 'del',
    path: string,
    handler: ApiHandler,
    maxBodyBytes?: number,
  ) => {
    const httpMethod = method === 'del' ? 'DELETE' : method.toUpperCase();
    if (!VIEWER_API_ROUTES.some((r) => r.method === httpMethod && r.path === path)) {
      throw new Error(
        `account route ${httpMethod} ${path} is missing from VIEWER_API_ROUTES (src/common/http/viewer-api.ts)`,
      );
    }
    addJsonRoute(
      app,
      method,
      `${VIEWER_API_PREFIX}${path}`,
      (req) => {
        requireCluster(deps.clusterSecret, req, 'viewer-proxy');
        if (
          method !== 'get' &&
          path !== '/auth/csrf' &&
          !csrfOk(readCookie(req.cookies, CSRF_COOKIE, secure(req)), req.headers[CSRF_HEADER])
        ) {
          throw new ApiError('CSRF_FAILED', 'missing or wrong CSRF token');
        }
        return handler(req);
      },
      { logger, maxBodyBytes },
    );
  };

  route('get', '/auth/csrf', (req) => {
    const token = createCsrfToken();
    return {
      body: { csrf: token },
      cookies: [cookie(CSRF_COOKIE, token, { httpOnly: false, secure: secure(req) })],
    };
  });

  route('post', '/auth/register', (req) => {
    throttle(req);
    const { name, password } = parseBody(credentials, req.body);
    // A streamer's name is theirs: only someone logged in with that streamer's key may register it, and the
    // account becomes the streamer's own (host badge, dashboard). Every other look-alike is refused by the store.
    const s = session(req);
    const claim = s?.kind === 'streamer' && s.name.toLowerCase() === name.toLowerCase() ? s.name : undefined;
    const user = store.users.create(name, password, 'user', claim);
    logger.info({ user: user.name }, 'account registered');
    return {
      status: 201,
      body: { user: { name: user.name, role: user.role } },
      cookies: [sessionCookie(req, sessions.issueUser(user))],
    };
  });

  route('post', '/auth/login', (req) => {
    throttle(req);
    const { name, password } = parseBody(credentials, req.body);
    const user = store.users.verify(name, password);
    if (!user) {
      logger.info({ code: 'BAD_CREDENTIALS', ip: clientIp(req) }, 'login refused');
      throw new ApiError('BAD_CREDENTIALS', 'wrong name or password');
    }
    return {
      body: { user: { name: user.name, role: user.role } },
      cookies: [sessionCookie(req, sessions.issueUser(user))],
    };
  });

  route('post', '/auth/streamer', (req) => {
    throttle(req);
    const { key } = parseBody(z.strictObject({ key: z.string().min(1).max(MAX_STREAM_KEY_CHARS) }), req.body);
    const s = store.streamers.verifyKey(key);
    if (!s) {
      logger.info({ code: 'BAD_STREAM_KEY', ip: clientIp(req) }, 'streamer login refused');
      throw new ApiError('BAD_CREDENTIALS', 'wrong stream key');
    }
    return {
      body: { streamer: { name: s.name } },
      cookies: [sessionCookie(req, sessions.issueStreamer(s.name))],
    };
  });

  route('post', '/auth/logout', (req) => ({
    status: 204,
    cookies: [cookie(SESSION_COOKIE, '', { maxAgeS: 0, secure: secure(req) })],
  }));

  route('get', '/me', (req) => {
    const s = session(req);
    if (!s) return { body: { user: null, following: [] } };
    if (s.kind === 'streamer') return { body: { user: { name: s.name, role: 'streamer' }, following: [] } };
    const following = store.follows
      .list(s.userId)
      .map((name) => ({ name, live: deps.directory.isLive(name) }));
    return { body: { user: { name: s.name, role: s.role }, following } };
  });

  // The bell (issue 16): an account's go-live notifications, newest first, and marking them read.
  const account = (req: ApiRequest) => {
    const s = session(req);
    if (!s || s.kind !== 'user') throw new ApiError('UNAUTHENTICATED', 'log in to see notifications');
    return s.userId;
  };
  route('get', '/me/notifications', (req) => {
    const user = account(req);
    return {
      body: {
        unread: store.notifications.unreadCount(user),
        notifications: store.notifications.list(user, 20),
      },
    };
  });
  route('post', '/me/notifications/read', (req) => {
    const user = account(req);
    const { upTo } = parseBody(z.strictObject({ upTo: z.number().int().min(1).optional() }), req.body);
    store.notifications.markRead(user, upTo);
    return { body: { unread: store.notifications.unreadCount(user) } };
  });

  // Web Push (issue 16): the key a browser subscribes with, storing its subscription, and removing it.
  route('get', '/me/push', (req) => {
    const user = account(req);
    const publicKey = deps.push?.publicKey;
    if (!publicKey) throw new ApiError('PUSH_UNAVAILABLE', 'this site does not send push notifications');
    return { body: { publicKey, browsers: store.push.endpoints(user).length } };
  });
  route('put', '/me/push', async (req) => {
    const user = account(req);
    if (!deps.push?.publicKey)
      throw new ApiError('PUSH_UNAVAILABLE', 'this site does not send push notifications');
    const sub = parseBody(pushSubscriptionSchema, req.body);
    const refused = await deps.push.checkEndpoint(sub.endpoint);
    if (refused) {
      logger.info(
        { code: 'PUSH_ENDPOINT_REFUSED', reason: refused, userId: user },
        'push subscription refused',
      );
      throw new ApiError('PUSH_ENDPOINT_REFUSED', `this push endpoint is refused: ${refused}`);
    }
    store.push.add(user, { endpoint: sub.endpoint, p256dh: sub.keys.p256dh, auth: sub.keys.auth });
    return { status: 201, body: { browsers: store.push.endpoints(user).length } };
  });
  route('post', '/me/push/remove', (req) => {
    const user = account(req);
    const { endpoint } = parseBody(z.object({ endpoint: z.string().min(1).max(2048) }), req.body);
    store.push.remove(user, endpoint);
    return { body: { browsers: store.push.endpoints(user).length } };
  });

  const followRoute = (follow: boolean) => (req: ApiRequest) => {
    const s = session(req);
    if (!s || s.kind !== 'user') throw new ApiError('UNAUTHENTICATED', 'log in to follow streamers');
    const name = streamParam(req);
    if (!store.streamers.get(name)) throw new ApiError('NOT_FOUND', 'no such streamer');
    if (follow) {
      const already = store.follows.list(s.userId).includes(name);
      store.follows.follow(s.userId, name);
      if (!already)
        deps.events?.emit({ type: 'channel.followed', channel: name, at: Date.now(), follower: s.name });
    } else store.follows.unfollow(s.userId, name);
    return { body: { following: store.follows.list(s.userId) } };
  };
  route('put', '/follows/:name', followRoute(true));
  route('del', '/follows/:name', followRoute(false));

  route('post', '/streams/:name/unlock', (req) => {
    throttle(req);
    const name = streamParam(req);
    const { password } = parseBody(z.strictObject({ password: z.string().min(1).max(1024) }), req.body);
    const s = store.streamers.get(name);
    if (!s) throw new ApiError('NOT_FOUND', 'no such stream');
    if (s.hasPassword && !store.streamers.verifyPassword(name, password)) {
      logger.info({ stream: name, code: 'BAD_CREDENTIALS', ip: clientIp(req) }, 'viewing password refused');
      throw new ApiError('BAD_CREDENTIALS', 'wrong password');
    }
    return {
      body: { ok: true },
      cookies: [
        cookie(accessCookie(name), sessions.issueAccess(name), {
          maxAgeS: Math.floor(sessions.accessTtlMs / 1000),
          secure: secure(req),
        }),
      ],
    };
  });

  /** The channel a session may manage: a stream-key login, or the streamer's own account (never a name match). */
  const managed = (req: ApiRequest): string => {
    const s = session(req);
    if (!s) throw new ApiError('UNAUTHENTICATED', 'log in with your stream key');
    const name = s.kind === 'streamer' ? s.name : store.streamers.ownedBy(s.userId);
    if (name === undefined || !store.streamers.get(name))
      throw new ApiError('FORBIDDEN', 'this account has no channel');
    return name;
  };

  route('get', '/dashboard', (req) => {
    const name = managed(req);
    const s = store.streamers.get(name)!;
    return {
      body: {
        streamer: s,
        live: deps.directory.isLive(name),
        viewers: deps.directory.viewerCount(name),
        followers: store.follows.count(name),
        chatMembers: deps.chat.members(name),
        moderators: store.moderators.list(name),
      },
    };
  });

  route('patch', '/dashboard', (req) => {
    const name = managed(req);
    const patch = parseBody(streamerUpdateSchema, req.body);
    const before = store.streamers.get(name);
    const s = store.streamers.update(name, patch);
    raiseTitleChange(deps.events, before, s);
    logger.info({ stream: name, fields: Object.keys(patch) }, 'channel updated from the dashboard');
    deps.changed();
    return { body: { streamer: s } };
  });

  route('post', '/dashboard/rotate-key', (req) => {
    const name = managed(req);
    const key = createCsrfToken(); // 32 random bytes, base64url: a fine stream key
    store.streamers.rotateKey(name, key);
    logger.info({ stream: name }, 'stream key rotated');
    // Shown once; the old key stopped working. The session stays valid.
    return { body: { key } };
  });

  // The channel's chat rules and moderation log (issue 16), as in the remote API.
  const rules = channelChatRules(store, deps.chat, logger, 'dashboard');
  route('get', '/dashboard/chat-rules', (req) => ({ body: rules.get(managed(req)) }));
  route('put', '/dashboard/chat-rules', (req) => ({ body: rules.set(managed(req), req.body) }));
  route('get', '/dashboard/moderation-log', (req) => ({ body: rules.log(managed(req)) }));

  // The channel's webhooks (issue 16): the same four things as the remote API, for the dashboard's session.
  if (deps.webhooks) {
    const hooks = channelWebhooks(store, deps.webhooks, logger, 'dashboard');
    route('get', '/dashboard/webhooks', (req) => ({ body: hooks.list(managed(req)) }));
    route('post', '/dashboard/webhooks', async (req) => ({
      status: 201,
      body: await hooks.add(managed(req), req.body),
    }));
    route('del', '/dashboard/webhooks/:hook', (req) => {
      hooks.remove(managed(req), req.params[0] ?? '');
      return { status: 204 };
    });
    route('get', '/dashboard/webhooks/:hook/deliveries', (req) => ({
      body: hooks.deliveries(managed(req), req.params[0] ?? ''),
    }));
  }

  // The channel's restream outputs (issue 16): the same three things as the remote API.
  if (deps.outputs) {
    const outs = channelOutputs(store, deps.outputs, logger, 'dashboard');
    route('get', '/dashboard/outputs', (req) => ({ body: outs.list(managed(req)) }));
    route('post', '/dashboard/outputs', async (req) => ({
      status: 201,
      body: await outs.add(managed(req), req.body),
    }));
    route('del', '/dashboard/outputs/:output', (req) => {
      outs.remove(managed(req), req.params[0] ?? '');
      return { status: 204 };
    });
  }

  // Analytics (issue 16): the channel this account manages; an admin names any (`channel`, `*` for all).
  if (deps.analytics) {
    const reader = deps.analytics;
    const analyticsChannel = (req: ApiRequest): string | null => {
      const asked = new URLSearchParams(req.query).get('channel');
      const s = session(req);
      if (s?.kind === 'user' && s.role === 'admin' && (asked || !store.streamers.ownedBy(s.userId))) {
        if (!asked || asked === '*') return null;
        if (!store.streamers.get(asked)) throw new ApiError('NOT_FOUND', 'no such channel');
        return asked;
      }
      const own = managed(req);
      if (asked && asked !== own) throw new ApiError('FORBIDDEN', 'only an admin sees other channels');
      return own;
    };
    route('get', '/dashboard/analytics', (req) => ({
      body: reader.report(analyticsChannel(req), req.query),
    }));
    route('get', '/dashboard/analytics.csv', (req) => reader.csv(analyticsChannel(req), req.query));
  }

  // Past broadcasts (issue 15): a channel's list, one broadcast, and the owner's (or an admin's) changes.
  /** Whether this request's session manages `stream`'s channel or is an admin's. */
  const mayManage = (req: ApiRequest, stream: string): boolean => {
    const s = session(req);
    if (!s) return false;
    if (s.kind === 'user' && s.role === 'admin') return true;
    const name = s.kind === 'streamer' ? s.name : store.streamers.ownedBy(s.userId);
    return name === stream;
  };
  /** A broadcast this request may see: a hidden one only by whoever may manage it. */
  const visibleBroadcast = (req: ApiRequest) => {
    const b = store.broadcasts.get(broadcastParam(req));
    if (!b || (b.hidden && !mayManage(req, b.stream))) throw new ApiError('NOT_FOUND', 'no such broadcast');
    return b;
  };
  const ownedBroadcast = (req: ApiRequest) => {
    const b = visibleBroadcast(req);
    if (!mayManage(req, b.stream)) {
      if (!session(req)) throw new ApiError('UNAUTHENTICATED', 'log in to manage your broadcasts');
      throw new ApiError('FORBIDDEN', 'this broadcast belongs to another channel');
    }
    return b;
  };

  route('get', '/channels/:name/videos', (req) => {
    const name = streamParam(req);
    if (!store.streamers.get(name)) throw new ApiError('NOT_FOUND', 'no such channel');
    return { body: { videos: deps.broadcasts.list(name, mayManage(req, name)) } };
  });

  route('get', '/videos/:id', (req) => {
    const b = visibleBroadcast(req);
    const protectedStream = store.streamers.get(b.stream)?.hasPassword ?? false;
    return { body: { video: { ...broadcastView(b), protected: protectedStream } } };
  });

  // The chat of a past broadcast, for its replay: what the history still holds of the broadcast's time.
  // A password-protected channel's chat is not replayed (its live chat needs the password too).
  route('get', '/videos/:id/chat', (req) => {
    const b = visibleBroadcast(req);
    if (store.streamers.get(b.stream)?.hasPassword && !mayManage(req, b.stream))
      return { body: { messages: [], replay: 'protected' } };
    const end = b.endedAt ?? Date.now();
    const messages = deps.chat.recent(b.stream, 1000).filter((m) => m.at >= b.startedAt && m.at <= end);
    return { body: { messages, replay: 'history' } };
  });

  route('patch', '/videos/:id', (req) => {
    const b = ownedBroadcast(req);
    const patch = parseBody(broadcastUpdateSchema, req.body);
    const updated = store.broadcasts.update(b.id, patch);
    logger.info({ stream: b.stream, broadcast: b.id, fields: Object.keys(patch) }, 'broadcast updated');
    return { body: { video: broadcastView(updated) } };
  });

  route('del', '/videos/:id', async (req) => {
    const b = ownedBroadcast(req);
    await deps.broadcasts.remove(b.id, session(req)?.name ?? 'unknown');
    return { status: 204 };
  });

  // Clips (issue 15): "clip the last 30 s" of a live, recorded stream; its page and MP4 are on the edges.
  const clipParam = (req: ApiRequest) => {
    const c = store.clips.get(req.params[0] ?? '');
    if (!c || !isClipId(c.id)) throw new ApiError('NOT_FOUND', 'no such clip');
    return c;
  };
  route('post', '/channels/:name/clips', async (req) => {
    const name = streamParam(req);
    const s = session(req);
    if (!s) throw new ApiError('UNAUTHENTICATED', 'log in to make clips');
    if (!store.streamers.get(name)) throw new ApiError('NOT_FOUND', 'no such channel');
    const isStaff = mayManage(req, name) || (s.kind === 'user' && store.moderators.is(name, s.name));
    if (deps.clipsBy === 'moderators' && !isStaff)
      throw new ApiError('FORBIDDEN', "on this site only the channel's moderators make clips");
    const body = parseBody(
      z.strictObject({
        seconds: z.number().int().optional(),
        title: z.string().max(140).optional(),
      }),
      req.body ?? {},
    );
    const clip = await deps.broadcasts.clip(name, s.name, body.seconds, body.title);
    return { status: 201, body: { clip } };
  });
  route('get', '/channels/:name/clips', (req) => {
    const name = streamParam(req);
    if (!store.streamers.get(name)) throw new ApiError('NOT_FOUND', 'no such channel');
    return { body: { clips: store.clips.list(name).map(clipView) } };
  });
  route('get', '/clips/:clip', (req) => {
    const c = clipParam(req);
    const b = store.broadcasts.get(c.broadcastId);
    if (!b || (b.hidden && !mayManage(req, b.stream))) throw new ApiError('NOT_FOUND', 'no such clip');
    return {
      body: { clip: { ...clipView(c), protected: store.streamers.get(c.stream)?.hasPassword ?? false } },
    };
  });
  route('del', '/clips/:clip', async (req) => {
    const c = clipParam(req);
    const s = session(req);
    if (!s) throw new ApiError('UNAUTHENTICATED', 'log in to delete clips');
    if (!mayManage(req, c.stream) && !(s.kind === 'user' && s.name === c.createdBy))
      throw new ApiError('FORBIDDEN', 'only its maker, the channel or an admin can delete a clip');
    await deps.broadcasts.removeClip(c.id, s.name);
    return { status: 204 };
  });
}
