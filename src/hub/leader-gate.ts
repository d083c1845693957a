/**
 * What a standby hub serves (ADR 0018). Every route registered through `leaderOnly(app, …)` answers 503
 * HUB_NOT_LEADER with the leader's URL (`x-tiercast-hub-leader`) while this hub does not lead, so nodes move on
 * to the leader — except the calls that need nothing but the shared store and the cluster secret (logins,
 * stream-key checks, viewing passwords): those keep working on a standby while a dead leader is replaced.
 * Chat, the directory and everything that reads live state or chat members have one owner: the leader.
 */
import type { RecognizedString } from 'uWebSockets.js';
import { sendError, type App, type HttpRequest, type HttpResponse } from '../common/http/uws-server.js';
import { HUB_LEADER_HEADER } from '../common/http/hub-hosts.js';
import type { HubLeadership } from './leadership.js';

const ROUTES = new Set(['get', 'post', 'put', 'del', 'patch', 'any', 'options', 'head']);

/** Store-only calls a standby answers too: [method, path]. */
const STANDBY_SERVES: ReadonlyArray<readonly [string, RegExp]> = [
  ['post', /^\/internal\/publish\/authorize$/],
  ['get', /^\/edge-api\/auth\/csrf$/],
  ['post', /^\/edge-api\/auth\/(register|login|streamer|logout)$/],
  ['post', /^\/edge-api\/streams\/[A-Za-z0-9_-]{1,64}\/unlock$/],
];

export function servedByStandby(method: string, url: string): boolean {
  const m = method.toLowerCase();
  return STANDBY_SERVES.some(([verb, path]) => verb === m && path.test(url));
}

/** The 503 a standby answers; the leader's URL goes along when it is known. */
export function refuseAsStandby(res: HttpResponse, leadership: HubLeadership): void {
  const leader = leadership.leaderUrl;
  sendError(res, '503 Service Unavailable', 'HUB_NOT_LEADER', 'this hub is a standby; ask the leader', {
    'retry-after': '1',
    'x-tiercast-error': 'HUB_NOT_LEADER',
    ...(leader ? { [HUB_LEADER_HEADER]: leader } : {}),
  });
}

export function leaderOnly(app: App, leadership: HubLeadership): App {
  return new Proxy(app, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      const fn = (value as (...a: unknown[]) => unknown).bind(target);
      if (typeof prop !== 'string' || !ROUTES.has(prop)) return fn;
      return (pattern: RecognizedString, handler: (res: HttpResponse, req: HttpRequest) => void) => {
        fn(pattern, (res: HttpResponse, req: HttpRequest) =>
          leadership.isLeader || servedByStandby(req.getMethod(), req.getUrl())
            ? handler(res, req)
            : refuseAsStandby(res, leadership),
        );
        return receiver as App;
      };
    },
  });
}
