/**
 * Where the /broadcast page sends media: `GET /api/broadcast/ingest` answers `{"url": "ws(s)://…/publish/ws"}`,
 * the ingress's browser ingest socket. From the edge's config (`broadcast.ingestUrl`), else from discovery (an
 * ingress of this edge's region first; its public URL when it registered one, else its cluster address, which
 * browsers reach only on a flat network). Nothing secret is in the answer: the key goes over the socket.
 */
import type { NodeInfo } from '../common/discovery/index.js';
import { send, sendError, type App } from '../common/http/uws-server.js';
import { BROWSER_INGEST_PATH } from '../common/protocol/browser-ingest.js';

/** The ingest URL for the page, or undefined when this edge knows no ingress. Pure. */
export function browserIngestUrl(
  configured: string | undefined,
  ingresses: readonly Pick<NodeInfo, 'region' | 'wsUrl' | 'publicUrl'>[],
  region: string,
): string | undefined {
  if (configured) return configured;
  const sorted = [...ingresses].sort((a, b) => Number(b.region === region) - Number(a.region === region));
  const n = sorted[0];
  if (!n) return undefined;
  const base = (n.publicUrl ?? n.wsUrl).replace(/^http/, 'ws').replace(/\/+$/, '');
  return `${base}${BROWSER_INGEST_PATH}`;
}

export function addBroadcastApi(
  app: App,
  deps: { ingestUrl: () => string | undefined; count: (route: string, status: string) => void },
): void {
  app.get('/api/broadcast/ingest', (res) => {
    const url = deps.ingestUrl();
    if (!url) {
      deps.count('api', '503');
      return sendError(
        res,
        '503 Service Unavailable',
        'UPSTREAM_UNAVAILABLE',
        'this edge knows no ingress for browsers (set broadcast.ingestUrl)',
      );
    }
    deps.count('api', '200');
    send(res, '200 OK', JSON.stringify({ url }), {
      'content-type': 'application/json',
      'cache-control': 'no-store',
    });
  });
}
