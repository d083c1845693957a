/**
 * Transport: edge selection over HTTP. A viewer entering at a page or a manifest (`/watch/NAME`,
 * `/embed/NAME`, `manifest.mpd`, `master.m3u8`) is answered with a 302 to a better edge when the
 * EdgeSelector says so (another region's viewer, or this edge full); `/api/edges/NAME` gives the player
 * the ranked list it fails over along. Redirect targets come from discovery and the config only, never
 * from the request (no open redirect). A redirected request carries `redirected=1`: the edge it reaches
 * serves or refuses it but never sends it on again, so two edges with different views of the load cannot
 * bounce a viewer between them.
 */
import type { Logger } from '../common/logging/index.js';
import { createLogRateLimiter } from '../common/logging/rate-limit.js';
import { isValidName } from '../common/protocol/index.js';
import type { ProxyTrust } from '../common/http/client.js';
import { send, sendError, type App, type HttpRequest, type HttpResponse } from '../common/http/uws-server.js';
import type { EdgeSelector } from './edge-selection.js';

export interface EdgeEntry {
  /**
   * Call first thing in an entry route (it reads the request synchronously). Returns true when it answered
   * (a redirect, or "this edge is full" with nowhere to send the viewer); the route then does nothing more.
   */
  divert(res: HttpResponse, req: HttpRequest, route: string): boolean;
}

export interface EdgeSelectionHttpDeps {
  selector: EdgeSelector;
  /** The viewer's address, through trusted proxies. */
  clients: ProxyTrust;
  redirect: boolean;
  logger: Logger;
  count: (route: string, status: string) => void;
}

const REDIRECTED = 'redirected';

export function addEdgeSelection(app: App, deps: EdgeSelectionHttpDeps): EdgeEntry {
  const { selector, clients, logger, count } = deps;
  const fullLog = createLogRateLimiter(logger, { maxPerWindow: 5, windowMs: 10_000, what: 'full lines' });

  app.get('/api/edges/:name', (res, req) => {
    const name = req.getParameter(0) ?? '';
    if (!isValidName(name)) {
      count('edges', '404');
      return sendError(res, '404 Not Found', 'STREAM_NOT_FOUND', 'no such stream');
    }
    const ranking = selector.rank(clients.of(res, req).ip);
    count('edges', '200');
    const body = {
      region: ranking.region,
      self: selector.selfId(),
      edges: ranking.edges.map((e) => ({ id: e.id, region: e.region, url: e.url })),
    };
    send(res, '200 OK', JSON.stringify(body), {
      'content-type': 'application/json',
      'cache-control': 'no-store',
    });
  });

  return {
    divert(res, req, route) {
      const query = req.getQuery() ?? '';
      const params = new URLSearchParams(query);
      const address = clients.of(res, req).ip;
      const best = deps.redirect && !params.has(REDIRECTED) ? selector.redirectFor(address) : undefined;
      if (best) {
        params.set(REDIRECTED, '1');
        const location = `${best.url}${req.getUrl()}?${params.toString()}`;
        count(route, '302');
        logger.debug({ route, edge: best.id, region: best.region }, 'viewer sent to a better edge');
        send(res, '302 Found', '', { location, 'cache-control': 'no-store' });
        return true;
      }
      if (!selector.atCapacity()) return false;
      count(route, '503');
      if (fullLog.allow(route))
        logger.warn({ route, code: 'EDGE_AT_CAPACITY' }, 'viewer refused: this edge is full');
      res.cork(() => {
        res.writeStatus('503 Service Unavailable');
        res.writeHeader('retry-after', '5');
        res.writeHeader('content-type', 'application/json');
        res.writeHeader('cache-control', 'no-store');
        res.end(
          JSON.stringify({
            error: { code: 'EDGE_AT_CAPACITY', message: 'this edge is full and no other edge has room' },
          }),
        );
      });
      return true;
    },
  };
}
