/**
 * Transport: `/oembed?url=…` (oEmbed 1.0, JSON, type "video"): an iframe of `/embed/NAME` for a watch URL, so
 * sites that embed by pasting a link (chat apps, CMSs) get the player. The iframe's address comes from
 * `publicUrl` when configured, else from the origin of the URL the caller gave (validated: http or https,
 * a `/watch/NAME` path with a valid name); it is never taken from a request header, and everything placed
 * in the HTML is escaped.
 */
import { isValidName } from '../common/protocol/index.js';
import { send, sendError, type App } from '../common/http/uws-server.js';

const DEFAULT_WIDTH = 640;
const DEFAULT_HEIGHT = 360;

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The stream and the origin of a watch URL (absolute, or relative to this edge), or an error. */
export function parseWatchUrl(
  raw: string | null,
): { name: string; origin: string | undefined } | { error: string } {
  if (!raw) return { error: 'url is required' };
  let u: URL;
  try {
    u = new URL(raw, 'http://relative.invalid');
  } catch {
    return { error: 'url is not a URL' };
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return { error: 'url must be http or https' };
  const m = /^\/(?:watch|embed)\/([^/]+)\/?$/.exec(u.pathname);
  const name = m?.[1];
  if (!name || !isValidName(name)) return { error: 'url is not a tiercast watch address' };
  return { name, origin: u.host === 'relative.invalid' ? undefined : u.origin };
}

export function oembedResponse(
  name: string,
  title: string,
  base: string,
  max: { width?: number; height?: number },
): Record<string, unknown> {
  let width = DEFAULT_WIDTH;
  let height = DEFAULT_HEIGHT;
  if (max.width && max.width < width) [width, height] = [max.width, Math.round((max.width * 9) / 16)];
  if (max.height && max.height < height) [width, height] = [Math.round((max.height * 16) / 9), max.height];
  const src = `${base}/embed/${encodeURIComponent(name)}`;
  return {
    version: '1.0',
    type: 'video',
    provider_name: 'tiercast',
    title,
    width,
    height,
    html:
      `<iframe src="${escapeHtml(src)}" width="${width}" height="${height}" title="${escapeHtml(title)}"` +
      ` allow="autoplay; fullscreen" allowfullscreen style="border:0"></iframe>`,
  };
}

export function addOembedRoute(
  app: App,
  deps: {
    publicUrl: string | undefined;
    title: (name: string) => string | undefined;
    count: (route: string, status: string) => void;
  },
): void {
  app.get('/oembed', (res, req) => {
    const q = new URLSearchParams(req.getQuery() ?? '');
    const format = q.get('format');
    if (format && format !== 'json') {
      deps.count('oembed', '501');
      return sendError(res, '501 Not Implemented', 'BAD_REQUEST', 'only format=json is served');
    }
    const parsed = parseWatchUrl(q.get('url'));
    if ('error' in parsed) {
      deps.count('oembed', '404');
      return sendError(res, '404 Not Found', 'NOT_FOUND', parsed.error);
    }
    const title = deps.title(parsed.name);
    if (title === undefined) {
      deps.count('oembed', '404');
      return sendError(res, '404 Not Found', 'STREAM_NOT_FOUND', 'no such stream');
    }
    const base = deps.publicUrl?.replace(/\/+$/, '') ?? parsed.origin ?? '';
    const dim = (k: string) => {
      const n = Number(q.get(k));
      return Number.isInteger(n) && n > 0 && n < 10_000 ? n : undefined;
    };
    deps.count('oembed', '200');
    send(
      res,
      '200 OK',
      JSON.stringify(
        oembedResponse(parsed.name, title, base, { width: dim('maxwidth'), height: dim('maxheight') }),
      ),
      {
        'content-type': 'application/json',
        'cache-control': 'no-cache',
        'access-control-allow-origin': '*',
      },
    );
  });
}
