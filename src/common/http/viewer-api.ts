/**
 * The contract between an edge and the hub for viewers' account calls: the one list of routes an edge may
 * forward on a viewer's behalf (edge `/api/<route>` → hub `/edge-api/<route>`), and the headers that carry
 * the viewer's address and scheme. The hub registers exactly these routes; the edge forwards nothing else. Both sides
 * import this table, so a route added on one side without the other fails the tests, not production.
 */
import { canonicalSegments } from './path.js';
import { isBroadcastId, isClipId } from '../recording/stream-recorder.js';

export const CLIENT_IP_HEADER = 'x-tiercast-client-ip';
/** `1` when the viewer reached the edge over HTTPS: the hub then sets Secure `__Host-` cookies. */
export const CLIENT_SECURE_HEADER = 'x-tiercast-client-secure';
/** The hub's prefix for the routes below; the edge serves them under `/api`. */
export const VIEWER_API_PREFIX = '/edge-api';

export type ViewerApiMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * `:name` matches one stream/account name, `:id` one broadcast id, `:clip` one clip id, `:hook` one webhook
 * id, `:output` one restream output id; others themselves.
 */
const ANALYTICS_QUERY = ['from', 'to', 'by', 'live', 'channel'] as const;

export const VIEWER_API_ROUTES: readonly {
  method: ViewerApiMethod;
  path: string;
  /** Query parameters forwarded (each value checked against QUERY_VALUE); any other is dropped. */
  query?: readonly string[];
}[] = [
  { method: 'GET', path: '/auth/csrf' },
  { method: 'POST', path: '/auth/register' },
  { method: 'POST', path: '/auth/login' },
  { method: 'POST', path: '/auth/streamer' },
  { method: 'POST', path: '/auth/logout' },
  { method: 'GET', path: '/me' },
  // Go-live notifications (issue 16): the bell.
  { method: 'GET', path: '/me/notifications' },
  { method: 'POST', path: '/me/notifications/read' },
  { method: 'GET', path: '/me/push' },
  { method: 'PUT', path: '/me/push' },
  { method: 'POST', path: '/me/push/remove' },
  { method: 'PUT', path: '/follows/:name' },
  { method: 'DELETE', path: '/follows/:name' },
  { method: 'POST', path: '/streams/:name/unlock' },
  { method: 'GET', path: '/dashboard' },
  { method: 'PATCH', path: '/dashboard' },
  { method: 'POST', path: '/dashboard/rotate-key' },
  // The channel's webhooks (issue 16).
  { method: 'GET', path: '/dashboard/webhooks' },
  { method: 'POST', path: '/dashboard/webhooks' },
  { method: 'DELETE', path: '/dashboard/webhooks/:hook' },
  { method: 'GET', path: '/dashboard/webhooks/:hook/deliveries' },
  // The channel's restream outputs (issue 16).
  { method: 'GET', path: '/dashboard/outputs' },
  { method: 'POST', path: '/dashboard/outputs' },
  { method: 'DELETE', path: '/dashboard/outputs/:output' },
  // Analytics (issue 16): the range, the grouping, one live, and an operator's channel (`*`: every channel).
  { method: 'GET', path: '/dashboard/analytics', query: ANALYTICS_QUERY },
  { method: 'GET', path: '/dashboard/analytics.csv', query: ANALYTICS_QUERY },
  // The channel's chat rules and moderation log (issue 16).
  { method: 'GET', path: '/dashboard/chat-rules' },
  { method: 'PUT', path: '/dashboard/chat-rules' },
  { method: 'GET', path: '/dashboard/moderation-log' },
  // Past broadcasts (issue 15).
  { method: 'GET', path: '/channels/:name/videos' },
  { method: 'GET', path: '/videos/:id' },
  { method: 'PATCH', path: '/videos/:id' },
  { method: 'DELETE', path: '/videos/:id' },
  { method: 'GET', path: '/videos/:id/chat' },
  { method: 'GET', path: '/channels/:name/clips' },
  { method: 'POST', path: '/channels/:name/clips' },
  { method: 'GET', path: '/clips/:clip' },
  { method: 'DELETE', path: '/clips/:clip' },
];

const NAME_SEGMENT = /^[A-Za-z0-9_-]{1,64}$/;
/** A webhook id (`wh_` and 12 base64url characters: webhook-api.ts makes them). */
const HOOK_SEGMENT = /^wh_[A-Za-z0-9_-]{12}$/;
/** A restream output id (`out_` and 12 base64url characters: outputs-api.ts makes them). */
export const OUTPUT_ID = /^out_[A-Za-z0-9_-]{12}$/;

/** A forwarded query value: names, ids, numbers and ISO 8601 times (`2026-12-02T10:00:00Z`), nothing else. */
const QUERY_VALUE = /^[A-Za-z0-9_.:*-]{1,64}$/;

export type ViewerApiMatch =
  | { ok: true; path: string }
  | { ok: false; code: 'BAD_REQUEST' | 'NOT_FOUND' | 'METHOD_NOT_ALLOWED'; reason: string };

/**
 * Matches a raw path under `/api` (as the client sent it) against the allow-list after normalisation.
 * On success `path` is the canonical route path, built only from matched segments, safe to append to the
 * hub's URL: no spelling of it can resolve to anything but the route that matched.
 */
export function matchViewerApi(method: string, rawPath: string, rawQuery = ''): ViewerApiMatch {
  let segs: string[];
  try {
    segs = canonicalSegments(rawPath);
  } catch (err) {
    return { ok: false, code: 'BAD_REQUEST', reason: (err as Error).message };
  }
  if (segs[0] !== 'api') return { ok: false, code: 'NOT_FOUND', reason: 'not an /api path' };
  const rest = segs.slice(1);
  let pathMatched = false;
  for (const route of VIEWER_API_ROUTES) {
    const want = route.path.split('/').slice(1);
    if (want.length !== rest.length) continue;
    const fits = (w: string, got: string) =>
      w === ':name'
        ? NAME_SEGMENT.test(got)
        : w === ':id'
          ? isBroadcastId(got)
          : w === ':clip'
            ? isClipId(got)
            : w === ':hook'
              ? HOOK_SEGMENT.test(got)
              : w === ':output'
                ? OUTPUT_ID.test(got)
                : w === got;
    if (!want.every((w, i) => fits(w, rest[i]!))) continue;
    pathMatched = true;
    if (route.method === method)
      return { ok: true, path: `/${rest.join('/')}${forwardedQuery(route.query, rawQuery)}` };
  }
  return pathMatched
    ? { ok: false, code: 'METHOD_NOT_ALLOWED', reason: `${method} is not allowed here` }
    : { ok: false, code: 'NOT_FOUND', reason: 'no such API route' };
}

/** The allowed parameters of a query, rebuilt (one value each, checked): `?a=1&b=2`, or '' for none. */
function forwardedQuery(allowed: readonly string[] | undefined, rawQuery: string): string {
  if (!allowed || rawQuery === '') return '';
  const got = new URLSearchParams(rawQuery);
  const out = new URLSearchParams();
  for (const k of allowed) {
    const v = got.get(k);
    if (v !== null && QUERY_VALUE.test(v)) out.set(k, v);
  }
  const q = out.toString();
  return q ? `?${q}` : '';
}
