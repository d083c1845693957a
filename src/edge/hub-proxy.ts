/**
 * Transport: browsers talk only to their edge. `/api/...` calls that are on the viewer-API allow-list
 * (src/common/http/viewer-api.ts), matched after normalising the path, are forwarded to the hub's
 * `/edge-api/...` at their canonical path with a `viewer-proxy` cluster token (a capability the hub's
 * cluster-only routes refuse) and the client's address; anything else is refused here. `/emoji/*` and
 * `/thumbs/*` are fetched from the hub (thumbnails cached for a few seconds). Without a hub: 503 HUB_UNAVAILABLE.
 */
import type { Logger } from '../common/logging/index.js';
import { AUTH_HEADER, createClusterToken } from '../common/protocol/index.js';
import { CSRF_HEADER } from '../common/protocol/session-tokens.js';
import { readBody, requestInfo } from '../common/http/request.js';
import { statusLine, writeApiResponse } from '../common/http/json-routes.js';
import type { App, HttpResponse } from '../common/http/uws-server.js';
import {
  CLIENT_IP_HEADER,
  CLIENT_SECURE_HEADER,
  VIEWER_API_PREFIX,
  matchViewerApi,
} from '../common/http/viewer-api.js';
import type { ProxyTrust } from '../common/http/client.js';
import type { HubHosts } from '../common/http/hub-hosts.js';

const FORWARD_HEADERS = ['cookie', 'content-type', CSRF_HEADER];
const MAX_BODY = 256 * 1024;

export function addHubProxy(
  app: App,
  deps: {
    /** The hubs, asked in turn for the leader; undefined without a hub. */
    hubs: HubHosts | undefined;
    nodeId: string;
    clusterSecret: string;
    /** The viewer's address and scheme, through trusted proxies. */
    clients: ProxyTrust;
    logger: Logger;
    timeoutMs: number;
  },
): void {
  const { hubs, logger } = deps;
  const unavailable = (res: HttpResponse) =>
    writeApiResponse(res, {
      status: 503,
      body: { error: { code: 'HUB_UNAVAILABLE', message: 'accounts and chat are unavailable right now' } },
    });

  app.any('/api/*', (res, req) => {
    const client = deps.clients.of(res, req);
    const info = requestInfo(res, req);
    const method = info.method;
    const route = matchViewerApi(method, info.url, info.query);
    if (!route.ok) {
      logger.info(
        { code: route.code, method, path: info.url.slice(0, 200), remote: client.ip, reason: route.reason },
        'API request refused',
      );
      const status = route.code === 'BAD_REQUEST' ? 400 : route.code === 'METHOD_NOT_ALLOWED' ? 405 : 404;
      return writeApiResponse(res, { status, body: { error: { code: route.code, message: route.reason } } });
    }
    if (!hubs) return unavailable(res);
    const hasBody = method !== 'GET' && method !== 'HEAD' && method !== 'DELETE';
    let aborted = false;
    const bodyPromise = hasBody ? readBody(res, MAX_BODY) : Promise.resolve(undefined);
    if (!hasBody) res.onAborted(() => (aborted = true));
    const headers: Record<string, string> = {
      [AUTH_HEADER]: createClusterToken(deps.clusterSecret, deps.nodeId, 'viewer-proxy'),
      [CLIENT_IP_HEADER]: client.ip,
      [CLIENT_SECURE_HEADER]: client.secure ? '1' : '0',
    };
    for (const h of FORWARD_HEADERS) if (info.headers[h]) headers[h] = info.headers[h];
    // Built from the matched route only: neither the raw path nor the raw query reaches the hub (a route's
    // allowed parameters are rebuilt, each value checked).
    const target = `${VIEWER_API_PREFIX}${route.path}`;
    bodyPromise
      .then(async (body) => {
        const r = await hubs.fetch(
          target,
          { method, headers, body: body ? new Uint8Array(body) : undefined, redirect: 'manual' },
          deps.timeoutMs,
        );
        const data = Buffer.from(await r.arrayBuffer());
        if (aborted) return;
        res.cork(() => {
          res.writeStatus(statusLine(r.status));
          res.writeHeader('cache-control', 'no-store');
          const type = r.headers.get('content-type');
          if (type) res.writeHeader('content-type', type);
          for (const c of r.headers.getSetCookie()) res.writeHeader('set-cookie', c);
          res.end(data);
        });
      })
      .catch((err: unknown) => {
        if ((err as Error)?.message === 'client aborted') return;
        if (aborted) return;
        const tooLarge = (err as Error)?.constructor?.name === 'BodyTooLarge';
        logger.warn(
          { code: tooLarge ? 'PAYLOAD_TOO_LARGE' : 'HUB_UNAVAILABLE', path: info.url },
          'hub API call failed',
        );
        if (tooLarge)
          writeApiResponse(res, {
            status: 413,
            body: { error: { code: 'PAYLOAD_TOO_LARGE', message: 'request body too large' } },
          });
        else unavailable(res);
      });
  });

  const thumbs = new Map<string, { at: number; data: Buffer }>();
  const asset = (prefix: '/emoji/' | '/thumbs/', cacheMs: number) =>
    app.get(`${prefix}:file`, (res, req) => {
      const file = req.getParameter(0) ?? '';
      if (!hubs || !/^[A-Za-z0-9_-]{1,64}(\.jpg)?$/.test(file)) {
        return writeApiResponse(res, {
          status: 404,
          body: { error: { code: 'NOT_FOUND', message: 'not found' } },
        });
      }
      let aborted = false;
      res.onAborted(() => (aborted = true));
      const cached = thumbs.get(prefix + file);
      const type = prefix === '/thumbs/' ? 'image/jpeg' : undefined;
      if (cached && Date.now() - cached.at < cacheMs && type) {
        return writeApiResponse(res, {
          raw: { data: cached.data, contentType: type },
          headers: { 'cache-control': 'public, max-age=5' },
        });
      }
      hubs
        .fetch(`${prefix}${file}`, {}, deps.timeoutMs)
        .then(async (r) => {
          const data = Buffer.from(await r.arrayBuffer());
          if (aborted) return;
          if (!r.ok)
            return writeApiResponse(res, {
              status: 404,
              body: { error: { code: 'NOT_FOUND', message: 'not found' } },
            });
          const contentType = r.headers.get('content-type') ?? 'application/octet-stream';
          if (type) thumbs.set(prefix + file, { at: Date.now(), data });
          if (thumbs.size > 1000) thumbs.clear();
          writeApiResponse(res, {
            raw: { data, contentType },
            headers: { 'cache-control': `public, max-age=${Math.ceil(cacheMs / 1000)}` },
          });
        })
        .catch(() => {
          if (!aborted) unavailable(res);
        });
    });
  asset('/emoji/', 3600_000);
  asset('/thumbs/', 3000);
}
