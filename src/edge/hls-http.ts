/**
 * Transport: the edge's HLS routes. `/live/NAME/master.m3u8` (multivariant) and
 * `/live/NAME/RENDITION/playlist.m3u8` (LL-HLS media playlist, with blocking reload), built from the same
 * cached chunks as the MPD; parts (`N.P.m4s`) are answered through the segment route with `respondPart`.
 * Access is decided exactly as for the MPD (the caller's `withKnownStream`): nothing is sent to a viewer
 * the stream's password refuses.
 */
import type { Counter } from 'prom-client';
import type { ErrorCode } from '../common/errors/index.js';
import type { StreamInfo } from '../common/media.js';
import { isValidName, type AudienceTransport } from '../common/protocol/index.js';
import { send, sendError, type App, type HttpRequest, type HttpResponse } from '../common/http/uws-server.js';
import { buildMasterPlaylist, parseReloadDirective, targetDurationSeconds } from './hls-playlist.js';
import { partsPerSegment, renderedMediaPlaylist, servePart, waitForPlaylist } from './hls-requests.js';
import type { PendingRequest, SegmentSource } from './segment-requests.js';

/** Runs `answer` once the stream named by the route's first parameter is known here and access is allowed. */
export type WithKnownStream = (
  res: HttpResponse,
  req: HttpRequest,
  route: string,
  answer: (stream: SegmentSource, info: StreamInfo, aborted: () => boolean) => void,
  /** Counts the requester as a viewer of this transport (analytics) once it may watch. */
  transport?: AudienceTransport,
) => void;

export interface HlsRouteDeps {
  withKnownStream: WithKnownStream;
  notFound: (res: HttpResponse, route: string, code: ErrorCode, message: string) => void;
  count: (route: string, status: string) => void;
  /** How long a part that does not exist yet is waited for (a preload hint asks for it early). */
  waitMs: number;
  /** Edge selection at the multivariant playlist (the viewer's entry): true when it answered. */
  divert?: (res: HttpResponse, req: HttpRequest, route: string) => boolean;
}

const PLAYLIST_TYPE = 'application/vnd.apple.mpegurl';
/** Playlists, parts and their errors are readable by the pages of every edge (a player that moved here). */
const CORS = { 'access-control-allow-origin': '*' };
const HEADERS = { 'cache-control': 'no-cache', ...CORS };

export function addHlsRoutes(app: App, deps: HlsRouteDeps): void {
  const { withKnownStream, notFound, count } = deps;

  app.get('/live/:name/master.m3u8', (res, req) => {
    if (deps.divert?.(res, req, 'playlist')) return;
    withKnownStream(
      res,
      req,
      'playlist',
      (_s, info) => {
        count('playlist', '200');
        send(res, '200 OK', buildMasterPlaylist(info), { 'content-type': PLAYLIST_TYPE, ...HEADERS });
      },
      'hls',
    );
  });

  app.get('/live/:name/:rendition/playlist.m3u8', (res, req) => {
    const rendition = req.getParameter(1) ?? '';
    const directive = parseReloadDirective(new URLSearchParams(req.getQuery() ?? ''));
    if (directive && 'error' in directive) {
      count('playlist', '400');
      return sendError(res, '400 Bad Request', 'BAD_REQUEST', directive.error, CORS);
    }
    withKnownStream(
      res,
      req,
      'playlist',
      (stream, info, streamAborted) => {
        // uWS keeps one onAborted per response: the wait below replaces the caller's, so track both here.
        let waitAborted = false;
        const aborted = () => waitAborted || streamAborted();
        const r = isValidName(rendition) ? info.renditions.find((x) => x.id === rendition) : undefined;
        if (!r) return notFound(res, 'playlist', 'SEGMENT_NOT_FOUND', 'no such rendition');
        const answer = (retried = false): void => {
          if (aborted()) return;
          const cache = stream.renditions.get(r.id);
          const playlist = cache && renderedMediaPlaylist(cache, info, r);
          if (!playlist) {
            if (retried) return notFound(res, 'playlist', 'SEGMENT_NOT_FOUND', 'no segment yet');
            // A cold edge has just subscribed: its first chunks are on their way. Hold this request for them.
            const cold: PendingRequest[] = [];
            res.onAborted(() => {
              waitAborted = true;
              for (const c of cold) c.cancel();
            });
            cold.push(
              waitForPlaylist(stream, info, r, { msn: 0, part: 0 }, 1, deps.waitMs, () => answer(true)),
            );
            return;
          }
          count('playlist', '200');
          send(res, '200 OK', playlist.body, { 'content-type': PLAYLIST_TYPE, ...HEADERS });
        };
        if (!directive) return answer();
        const cache = stream.renditions.get(r.id);
        const target =
          (cache && renderedMediaPlaylist(cache, info, r)?.targetS) ?? targetDurationSeconds(info, []);
        // onAborted first: the answer may come synchronously, and a finished response must not be touched.
        const cancel: PendingRequest[] = [];
        res.onAborted(() => {
          waitAborted = true;
          for (const c of cancel) c.cancel();
        });
        // RFC 8216bis: a blocking reload is held at most three target durations.
        const pending = waitForPlaylist(
          stream,
          info,
          r,
          directive,
          partsPerSegment(info),
          target * 3000,
          (outcome) => {
            if (aborted()) return;
            if (outcome === 'ready') return answer();
            if (outcome === 'ahead') {
              count('playlist', '400');
              return sendError(
                res,
                '400 Bad Request',
                'BAD_REQUEST',
                'the requested part is too far ahead of the live edge',
                CORS,
              );
            }
            if (outcome === 'gone') return notFound(res, 'playlist', 'STREAM_NOT_FOUND', 'the stream ended');
            count('playlist', '503');
            sendError(
              res,
              '503 Service Unavailable',
              'UPSTREAM_TIMEOUT',
              'the requested part did not arrive in time',
              CORS,
            );
          },
        );
        cancel.push(pending);
      },
      'hls',
    );
  });
}

/** Answers one part: at once from the cache, or when it arrives; 404 SEGMENT_NOT_FOUND if it never will. */
export function respondPart(
  res: HttpResponse,
  stream: SegmentSource,
  rendition: string,
  segment: number,
  part: number,
  deps: Pick<HlsRouteDeps, 'waitMs' | 'count' | 'notFound'> & { bytesOut: Counter.Internal },
): void {
  let done = false;
  const cancel: PendingRequest[] = [];
  // onAborted first: the answer may be sent synchronously, and a finished response must not be touched.
  res.onAborted(() => {
    done = true;
    for (const c of cancel) c.cancel();
  });
  const pending = servePart(stream, rendition, segment, part, deps.waitMs, (data) => {
    if (done) return;
    done = true;
    if (!data) return deps.notFound(res, 'part', 'SEGMENT_NOT_FOUND', 'no such part');
    deps.count('part', '200');
    deps.bytesOut.inc(data.length);
    send(res, '200 OK', data, { 'content-type': 'video/mp4', ...HEADERS });
  });
  cancel.push(pending);
}
