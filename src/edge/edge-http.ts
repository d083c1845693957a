/**
 * Transport: the edge's HTTP routes (uWebSockets.js). Maps URLs to the relay, the MPD builder and the
 * segment server; maps error codes to statuses. Every response to a bad path is a 404 from a lookup:
 * nothing here reads a file named by a request.
 */
import type { ErrorCode } from '../common/errors/index.js';
import type { Logger } from '../common/logging/index.js';
import { createLogRateLimiter } from '../common/logging/rate-limit.js';
import type { Metrics } from '../common/metrics/index.js';
import type { EdgeConfig } from '../common/config/index.js';
import { isValidName } from '../common/protocol/index.js';
import type { StreamRelay } from '../common/relay/stream-relay.js';
import { send, sendError, type App, type HttpRequest, type HttpResponse } from '../common/http/uws-server.js';
import { anchorShiftMs, buildMpd, timeUrlOf } from './mpd.js';
import { addHlsRoutes, respondPart, type WithKnownStream } from './hls-http.js';
import { addOembedRoute } from './oembed.js';
import {
  serveSegment,
  waitForInit,
  waitForMedia,
  type PendingRequest,
  type SegmentSource,
} from './segment-requests.js';
import { serveStatic, type ServedFile } from './static-serve.js';
import { accessHint, PlayerPages, themeOf } from './player-page.js';
import { pageLanguage } from './page-locale.js';
import { headResponse } from '../common/http/head.js';
import type { ViewerCounter } from './viewer-count.js';
import type { AccessGate, ViewerCredentials } from './access-gate.js';
import type { ProxyTrust } from '../common/http/client.js';
import type { EdgeEntry } from './edge-selection-http.js';
import type { DirectoryEntry, HubDirectoryEntry } from '../common/protocol/index.js';
import type { ResumePosition } from '../common/media.js';
import { parseResume } from './viewer-socket.js';
import { isBroadcastId, isClipId } from '../common/recording/stream-recorder.js';

/** A stream as the routes use it: what segment delivery reads, its description, and marking it in use. */
export type ServedStream = SegmentSource & Pick<StreamRelay, 'whenKnown' | 'touch'>;

/** What the routes need of the edge's RelayNode: a stream found or subscribed, and the tree's directory. */
export interface EdgeStreams {
  /** `resume`: where the viewer is, for a stream this edge subscribes to now (see RelayNode.ensure). */
  ensure(name: string, path?: string[], resume?: ResumePosition[]): ServedStream;
  get(name: string): ServedStream | undefined;
  readonly directory: readonly DirectoryEntry[];
}

export interface EdgeHttpDeps {
  config: EdgeConfig;
  relay: EdgeStreams;
  logger: Logger;
  metrics: Metrics;
  counter: ViewerCounter;
  files: ReadonlyMap<string, ServedFile>;
  gate: AccessGate;
  /** The viewer's address and scheme, through trusted proxies. */
  clients: ProxyTrust;
  /** The hub's directory (all streamers, live or not) once a linked hub sent it; else the routes use the tree's. */
  hubDirectory: () => HubDirectoryEntry[] | undefined;
  /** Per live stream being recorded, its broadcast (the hub's `recordings` message). */
  hubRecordings: () => Record<string, string>;
  /** Edge selection at the entry routes (pages, manifests): a 302 to a better edge, or "full". */
  entry?: EdgeEntry;
}

const NO_STORE = { 'cache-control': 'no-store' };
/** What a page's variant depends on besides its path (serveStatic adds Accept-Encoding). */
const PAGE_VARY = 'accept-language, cookie';
/** The stream's documents and media, and their 404s, are readable by the pages of every edge. */
const PUBLIC_MEDIA = { 'access-control-allow-origin': '*' };
const SEGMENT_RE = /^(\d{1,10})\.m4s$/;
/** An LL-HLS part: chunk P of segment N (src/edge/hls-playlist.ts). */
const PART_RE = /^(\d{1,10})\.(\d{1,4})\.m4s$/;

export function addEdgeRoutes(app: App, deps: EdgeHttpDeps): void {
  const { config, relay, logger, metrics, counter, files, gate, clients } = deps;
  const count = (route: string, status: string) =>
    metrics.httpRequests.inc({ route, status: status.slice(0, 3) });

  const credentials = (res: HttpResponse, req: HttpRequest): ViewerCredentials => ({
    cookies: req.getHeader('cookie'),
    secure: clients.of(res, req).secure,
  });

  const playerPages = new PlayerPages(files, config.staticCacheDir);
  const page = (res: HttpResponse, req: HttpRequest, name: string, stream?: string) => {
    const hint = stream ? accessHint(gate, stream, credentials(res, req)) : null;
    const f = playerPages.page(name, hint, ...lookOf(req));
    if (!f) return sendError(res, '404 Not Found', 'NOT_FOUND', 'page not found');
    // Revalidated on every visit (no-cache), which the ETag makes a 304 while the page is unchanged. A page
    // that says this viewer unlocked the stream is theirs alone. Its language and theme come from the
    // request's cookies and Accept-Language: a cache keeps one copy per combination.
    const cache = hint === 'unlocked' ? 'private, no-cache' : 'no-cache';
    serveStatic(res, req, f, { 'cache-control': cache, vary: PAGE_VARY, ...securityHeaders });
  };
  /** The theme and language a page is served in, from the request's cookies and Accept-Language. */
  const lookOf = (req: HttpRequest) => {
    const cookies = req.getHeader('cookie');
    return [themeOf(cookies), pageLanguage(cookies, req.getHeader('accept-language'))] as const;
  };
  /** A browser asking for a page gets a page; anything else the JSON error. */
  const pageNotFound = (res: HttpResponse, req: HttpRequest, code: ErrorCode, message: string) => {
    const f = playerPages.page('404.html', null, ...lookOf(req));
    if (!f || !req.getHeader('accept').includes('text/html'))
      return sendError(res, '404 Not Found', code, message);
    send(res, '404 Not Found', f.body, {
      'content-type': f.contentType,
      'cache-control': 'no-store',
      'x-tiercast-error': code,
      ...securityHeaders,
    });
  };

  app.get('/', (res, req) => {
    count('page', '200');
    page(res, req, 'index.html');
  });
  app.get('/login', (res, req) => {
    count('page', '200');
    page(res, req, 'login.html');
  });
  app.get('/dashboard', (res, req) => {
    count('page', '200');
    page(res, req, 'dashboard.html');
  });
  app.get('/broadcast', (res, req) => {
    count('page', '200');
    page(res, req, 'broadcast.html');
  });
  const divert = (res: HttpResponse, req: HttpRequest, route: string) =>
    deps.entry?.divert(res, req, route) ?? false;
  app.get('/watch/:name', (res, req) => {
    if (!isValidName(req.getParameter(0) ?? '')) {
      count('page', '404');
      return pageNotFound(res, req, 'STREAM_NOT_FOUND', 'no such stream');
    }
    if (divert(res, req, 'page')) return;
    count('page', '200');
    page(res, req, 'watch.html', req.getParameter(0));
  });
  // A past broadcast's page (issue 15); the page asks /api/videos/ID what it is, video-http.ts serves it.
  app.get('/videos/:id', (res, req) => {
    if (!isBroadcastId(req.getParameter(0) ?? '')) {
      count('page', '404');
      return pageNotFound(res, req, 'VIDEO_NOT_FOUND', 'no such video');
    }
    count('page', '200');
    page(res, req, 'video.html');
  });
  app.get('/clips/:clip', (res, req) => {
    if (!isClipId(req.getParameter(0) ?? '')) {
      count('page', '404');
      return pageNotFound(res, req, 'VIDEO_NOT_FOUND', 'no such clip');
    }
    count('page', '200');
    page(res, req, 'clip.html');
  });
  app.get('/embed/:name', (res, req) => {
    if (!isValidName(req.getParameter(0) ?? '')) {
      count('page', '404');
      return pageNotFound(res, req, 'STREAM_NOT_FOUND', 'no such stream');
    }
    if (divert(res, req, 'page')) return;
    count('page', '200');
    page(res, req, 'embed.html', req.getParameter(0));
  });
  // The chat alone, for a popup window or an OBS browser source; a valid name no one streams under gets the
  // page, as on /watch (the chat says what is wrong).
  app.get('/popout-chat/:name', (res, req) => {
    if (!isValidName(req.getParameter(0) ?? '')) {
      count('page', '404');
      return pageNotFound(res, req, 'STREAM_NOT_FOUND', 'no such stream');
    }
    count('page', '200');
    page(res, req, 'popout-chat.html');
  });
  // A title for oEmbed: from the hub's directory or the tree's; undefined for a name no one streams under.
  const streamTitle = (name: string) => {
    const e = (deps.hubDirectory() ?? relay.directory).find((x) => x.name === name);
    return e ? (e.title ?? e.name) : undefined;
  };
  addOembedRoute(app, { publicUrl: config.publicUrl, title: streamTitle, count });
  app.get('/static/:file', (res, req) => {
    const f = files.get(req.getParameter(0) ?? '');
    if (!f) {
      count('static', '404');
      return sendError(res, '404 Not Found', 'NOT_FOUND', 'no such file');
    }
    count('static', '200');
    serveStatic(res, req, f, { 'cache-control': 'public, max-age=300' });
  });
  // The Web Push service worker (issue 16): at the root so its scope is every page; never cached long, so
  // a new release's worker replaces the old one at the next visit.
  app.get('/sw.js', (res, req) => {
    const f = files.get('push-sw.js');
    if (!f) return sendError(res, '404 Not Found', 'NOT_FOUND', 'no such file');
    count('static', '200');
    serveStatic(res, req, f, { 'cache-control': 'no-cache' });
  });
  app.get('/time', (res) => {
    send(res, '200 OK', new Date().toISOString(), {
      'content-type': 'text/plain',
      ...NO_STORE,
      'access-control-allow-origin': '*',
    });
  });
  app.get('/healthz', (res) => send(res, '200 OK', 'ok', { 'content-type': 'text/plain', ...NO_STORE }));

  // The stream list: the hub's directory as it stands, or without one the tree's live streams.
  app.get('/api/streams', (res) => {
    const hub = deps.hubDirectory();
    if (hub) {
      // A live stream being recorded names its broadcast: the watch page rewinds into it.
      const recorded = deps.hubRecordings();
      const entries = hub.map((e) => ({ ...e, broadcast: (e.live && recorded[e.name]) || null }));
      count('api', '200');
      return send(res, '200 OK', JSON.stringify(entries), {
        'content-type': 'application/json',
        ...NO_STORE,
      });
    }
    const out = relay.directory
      .filter((e) => e.live)
      .map((e) => ({
        name: e.name,
        title: e.title ?? e.name,
        category: e.category ?? '',
        live: e.live,
        viewers: counter.count(e.name),
      }));
    count('api', '200');
    send(res, '200 OK', JSON.stringify(out), {
      'content-type': 'application/json',
      ...NO_STORE,
      'access-control-allow-origin': '*',
    });
  });

  // No request header reaches a document: the MPD's one URL comes from configuration or is relative.
  const timeUrl = timeUrlOf(config.publicUrl);

  /**
   * For documents about a stream (MPD, HLS playlists): subscribes if needed, waits until the stream is known
   * here and its protection is decided, and only then calls `answer` (never for a refused viewer).
   */
  const withKnownStream: WithKnownStream = (res, req, route, answer, transport) => {
    const name = req.getParameter(0) ?? '';
    if (!isValidName(name)) return notFound(res, route, 'STREAM_NOT_FOUND', 'no such stream');
    const client = clients.of(res, req);
    const viewer = { cookies: req.getHeader('cookie'), secure: client.secure };
    if (gate.access(name, viewer) === 'deny') return passwordRequired(res, name);
    // A player that moved here from another edge names where it is: a cold edge subscribes from there.
    const resume = parseResume(new URLSearchParams(req.getQuery() ?? '').get('resume') ?? '') ?? [];
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    const r = relay.ensure(name, [], resume);
    const deadline = Date.now() + config.upstream.subscribeTimeoutMs;
    void r.whenKnown(config.upstream.subscribeTimeoutMs).then(async (info) => {
      if (aborted) return;
      if (!info) return notFound(res, route, 'STREAM_NOT_FOUND', `stream ${name} is not live`);
      // Now that the stream is known here, its protection can be (from the directory or its StreamInfo).
      const access = await gate.settle(name, viewer, Math.max(0, deadline - Date.now()));
      if (aborted) return;
      if (access !== 'allow') return refuse(res, name, viewer);
      r.touch();
      if (transport) counter.httpLabel(name, client.ip, transport);
      answer(r, r.info ?? info, () => aborted);
    });
  };

  app.get('/live/:name/manifest.mpd', (res, req) => {
    if (divert(res, req, 'manifest')) return;
    withKnownStream(
      res,
      req,
      'manifest',
      (r, info) => {
        // The anchor depends on where the media is: a cold edge answers once its parent's backlog is here.
        // onAborted first (it replaces withKnownStream's): the answer may be sent synchronously.
        let done = false;
        const cancel: PendingRequest[] = [];
        res.onAborted(() => {
          done = true;
          for (const c of cancel) c.cancel();
        });
        const pending = waitForMedia(r, config.viewer.segmentWaitMs, () => {
          if (done) return;
          done = true;
          const mpd = buildMpd(info, {
            anchorShiftMs: anchorShiftMs(info, r.mediaLagMs()),
            timeUrl,
            targetLatencyMs: config.viewer.targetLatencyMs,
            cacheSegments: config.cache.segments,
          });
          count('manifest', '200');
          send(res, '200 OK', mpd, {
            'content-type': 'application/dash+xml',
            ...NO_STORE,
            'access-control-allow-origin': '*',
          });
        });
        cancel.push(pending);
      },
      'dash',
    );
  });

  // Registered before the segment route: uWS prefers the literal `playlist.m3u8` to the `:file` parameter.
  addHlsRoutes(app, { withKnownStream, notFound, count, waitMs: config.viewer.segmentWaitMs, divert });

  app.get('/live/:name/:rendition/:file', (res, req) => {
    const name = req.getParameter(0) ?? '';
    const rendition = req.getParameter(1) ?? '';
    const file = req.getParameter(2) ?? '';
    if (!isValidName(name) || !isValidName(rendition))
      return notFound(res, 'segment', 'SEGMENT_NOT_FOUND', 'no such segment');
    const client = clients.of(res, req);
    const viewer = { cookies: req.getHeader('cookie'), secure: client.secure };
    const access = gate.access(name, viewer);
    if (access === 'deny') return passwordRequired(res, name);
    const r = relay.get(name);
    if (!r || r.state !== 'live')
      return notFound(res, 'segment', 'STREAM_NOT_FOUND', 'stream is not live here');
    r.touch();
    const remote = client.ip;
    if (access === 'unknown') {
      // Live here but protection not known yet (no directory from the hub yet): hold, send nothing until it is.
      let aborted = false;
      res.onAborted(() => {
        aborted = true;
      });
      void gate.settle(name, viewer, config.viewer.segmentWaitMs).then((a) => {
        if (aborted) return;
        if (a !== 'allow') return refuse(res, name, viewer);
        serveFile(res, r, name, rendition, file, remote);
      });
      return;
    }
    serveFile(res, r, name, rendition, file, remote);
  });

  function serveFile(
    res: HttpResponse,
    r: ServedStream,
    name: string,
    rendition: string,
    file: string,
    remote: string,
  ): void {
    // A later onAborted replaces an earlier one (uWS keeps one per response): each stage hooks its own.
    if (file === 'init.mp4') {
      // onAborted first: the answer may be sent synchronously, and a finished response must not be touched.
      let done = false;
      const cancel: PendingRequest[] = [];
      res.onAborted(() => {
        done = true;
        for (const c of cancel) c.cancel();
      });
      const pending = waitForInit(r, rendition, config.viewer.segmentWaitMs, (data) => {
        if (done) return;
        done = true;
        if (!data) return notFound(res, 'init', 'SEGMENT_NOT_FOUND', 'no such rendition');
        count('init', '200');
        send(res, '200 OK', data, {
          'content-type': 'video/mp4',
          'cache-control': 'no-cache',
          'access-control-allow-origin': '*',
        });
      });
      cancel.push(pending);
      return;
    }
    const part = PART_RE.exec(file);
    if (part) {
      counter.httpSeen(name, remote);
      return respondPart(res, r, rendition, Number(part[1]), Number(part[2]), {
        waitMs: config.viewer.segmentWaitMs,
        count,
        notFound,
        bytesOut: metrics.bytesOut.labels({ stream: name, transport: 'http' }),
      });
    }
    const m = SEGMENT_RE.exec(file);
    if (!m) return notFound(res, 'segment', 'SEGMENT_NOT_FOUND', 'no such segment');
    counter.httpSeen(name, remote);
    streamSegment(res, r, rendition, Number(m[1]), name);
  }

  function streamSegment(
    res: HttpResponse,
    r: ServedStream,
    rendition: string,
    number: number,
    name: string,
  ): void {
    let aborted = false;
    const cancelers: PendingRequest[] = [];
    // Bound once per request: prom-client hashes a label object on every labelled inc().
    const bytesOut = metrics.bytesOut.labels({ stream: name, transport: 'http' });
    res.onAborted(() => {
      aborted = true;
      for (const c of cancelers) c.cancel();
    });
    // One send per chunk: the status and headers go out with the first bytes, the response's end with the
    // last chunk, and what the cache already holds in one cork (uWS runs a cork inside a cork as part of it).
    let headPending = false;
    const head = (): void => {
      if (!headPending) return;
      headPending = false;
      res.writeStatus('200 OK');
      res.writeHeader('content-type', 'video/iso.segment');
      res.writeHeader('cache-control', 'no-cache');
      res.writeHeader('access-control-allow-origin', '*');
    };
    res.cork(() => {
      const pending = serveSegment(
        r,
        rendition,
        number,
        {
          begin: () => {
            if (aborted) return;
            headPending = true;
            count('segment', '200');
          },
          write: (data, last) => {
            if (aborted) return;
            if (last) aborted = true;
            res.cork(() => {
              head();
              if (last) res.end(data);
              else res.write(data);
            });
            bytesOut.inc(data.length);
          },
          end: () => {
            if (aborted) return;
            aborted = true;
            res.cork(() => {
              head();
              res.end();
            });
          },
          notFound: (code, message) => {
            if (aborted) return;
            aborted = true;
            notFound(res, 'segment', code, message);
          },
        },
        { waitMs: config.viewer.segmentWaitMs },
      );
      cancelers.push(pending);
    });
  }

  /** After a wait: refused outright if known protected; 503 if the edge still cannot tell (never sends media). */
  function refuse(res: HttpResponse, name: string, viewer: ViewerCredentials): void {
    if (gate.access(name, viewer) === 'deny') return passwordRequired(res, name);
    count('protected', '503');
    logger.warn(
      { stream: name, code: 'HUB_UNAVAILABLE' },
      'refused: cannot tell yet whether the stream is password-protected',
    );
    sendError(
      res,
      '503 Service Unavailable',
      'HUB_UNAVAILABLE',
      'this edge cannot check access to the stream yet; try again',
      PUBLIC_MEDIA,
    );
  }

  function passwordRequired(res: HttpResponse, name: string): void {
    count('protected', '403');
    logger.info({ stream: name, code: 'PASSWORD_REQUIRED' }, 'refused: stream is password-protected');
    sendError(res, '403 Forbidden', 'PASSWORD_REQUIRED', 'this stream needs its password');
  }

  // Anyone can ask for any name: one line per request would let a client write the log (route + code key,
  // not the name, so a scan of many names is limited too).
  const notFoundLog = createLogRateLimiter(logger, {
    maxPerWindow: 5,
    windowMs: 10_000,
    what: '404 lines',
    level: 'debug',
  });
  function notFound(res: HttpResponse, route: string, code: ErrorCode, message: string): void {
    count(route, '404');
    if (notFoundLog.allow(`${route} ${code}`)) logger.debug({ route, code }, message);
    // Readable from a page of another edge (a player that moved here): a 404 says "not here", which a
    // blocked answer would not.
    sendError(res, '404 Not Found', code, message, PUBLIC_MEDIA);
  }

  app.any('/*', (res, req: HttpRequest) => {
    count('other', '404');
    logger.debug({ method: req.getMethod(), code: 'NOT_FOUND' }, 'unknown route');
    pageNotFound(req.getMethod() === 'head' ? headResponse(res) : res, req, 'NOT_FOUND', 'not found');
  });
}

/**
 * Pages only load our own scripts: a message or title can never run as code. They connect anywhere over
 * http(s) as over ws(s): a player whose edge is gone fetches the same stream from another edge.
 */
const securityHeaders = {
  'content-security-policy':
    "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self' ws: wss: http: https:; style-src 'self' 'unsafe-inline'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};
