/**
 * Past broadcasts at the edge (issue 15, ADR 0020): `/videos/ID/…` serves a recording from the recording
 * storage as static DASH and HLS (src/common/recording/playback.ts), through a read-through cache.
 *
 * The hub says what ID is (GET /edge-api/videos/ID: its channel, whether it ended, hidden or deleted) and the
 * access gate applies the channel's password as for the live stream. Only files the recording's timeline
 * names are read: a path is matched against it, never turned into a storage key as sent.
 */
import type { ErrorCode } from '../common/errors/index.js';
import { errorMessage } from '../common/errors/index.js';
import type { HubHosts } from '../common/http/hub-hosts.js';
import type { ProxyTrust } from '../common/http/client.js';
import { send, sendError, type App, type HttpRequest, type HttpResponse } from '../common/http/uws-server.js';
import { VIEWER_API_PREFIX } from '../common/http/viewer-api.js';
import type { Logger } from '../common/logging/index.js';
import { createLogRateLimiter } from '../common/logging/rate-limit.js';
import { AUTH_HEADER, createClusterToken, isValidName } from '../common/protocol/index.js';
import {
  buildLiveRecordingMpd,
  buildStaticMpd,
  buildVodMaster,
  buildVodPlaylist,
  epochs,
  readRecording,
  recordedWindow,
  type RecordingTimeline,
} from '../common/recording/playback.js';
import { isBroadcastId, isClipId } from '../common/recording/stream-recorder.js';
import type { ObjectStore } from '../common/storage/object-store.js';
import { ReadThroughCache } from '../common/storage/read-cache.js';
import type { AccessGate } from './access-gate.js';

/** What the edge needs to know of a past broadcast (the hub's view of it). */
export interface VideoInfo {
  id: string;
  channel: string;
  live: boolean;
}

/** Finds a broadcast by id; undefined for none (deleted, hidden, never was). */
export type VideoLookup = (id: string) => Promise<VideoInfo | undefined>;

/** What the edge needs to know of a clip: where its MP4 is and whose channel it belongs to. */
export interface ClipInfo {
  id: string;
  channel: string;
  broadcastId: string;
}

export interface HubLookups {
  video: VideoLookup;
  clip: (id: string) => Promise<ClipInfo | undefined>;
}

/** Asks the hub (as the /api proxy does, with a viewer-proxy token), remembering answers for a few seconds. */
export function hubLookups(deps: {
  hubs: HubHosts;
  nodeId: string;
  clusterSecret: string;
  timeoutMs: number;
  ttlMs?: number;
}): HubLookups {
  const ttl = deps.ttlMs ?? 2000;
  const known = new Map<string, { at: number; info: Promise<unknown> }>();
  const ask = <T>(path: string, pick: (body: Record<string, unknown>) => T): Promise<T | undefined> => {
    const hit = known.get(path);
    if (hit && Date.now() - hit.at < ttl) return hit.info as Promise<T | undefined>;
    const info = deps.hubs
      .fetch(
        `${VIEWER_API_PREFIX}${path}`,
        { headers: { [AUTH_HEADER]: createClusterToken(deps.clusterSecret, deps.nodeId, 'viewer-proxy') } },
        deps.timeoutMs,
      )
      .then(async (r) => {
        if (r.status === 404) return undefined;
        if (!r.ok) throw new Error(`hub answered ${r.status}`);
        return pick((await r.json()) as Record<string, unknown>);
      });
    known.set(path, { at: Date.now(), info });
    // A failed lookup is not remembered; a bounded map (ids are checked before they get here).
    info.catch(() => known.delete(path));
    if (known.size > 10_000) known.clear();
    return info;
  };
  return {
    video: (id) =>
      ask(`/videos/${id}`, (b) => {
        const v = b.video as VideoInfo;
        return { id: v.id, channel: v.channel, live: v.live };
      }),
    clip: (id) =>
      ask(`/clips/${id}`, (b) => {
        const c = b.clip as ClipInfo;
        return { id: c.id, channel: c.channel, broadcastId: c.broadcastId };
      }),
  };
}

const INIT_RE = /^init-(\d{1,9})\.mp4$/;
const SEGMENT_RE = /^(\d{8})\.m4s$/;
const TIMELINES = 32;
/** A live broadcast's timeline is read again when older than this. */
const LIVE_TIMELINE_MS = 1000;

export function addVideoRoutes(
  app: App,
  deps: {
    storage: ObjectStore | undefined;
    cacheBytes: number;
    /** How far back a live broadcast can be rewound (its playlists' sliding window), seconds. */
    dvrWindowS: number;
    /** Where a DASH player reads the time (the live MPD's UTCTiming). */
    timeUrl: string;
    lookup: HubLookups | undefined;
    gate: AccessGate;
    clients: ProxyTrust;
    logger: Logger;
    count: (route: string, status: string) => void;
  },
): void {
  const { storage, lookup, gate, clients, logger, count } = deps;
  const cache = storage ? new ReadThroughCache(storage, deps.cacheBytes) : undefined;
  /**
   * Parsed timelines, the most recently used last. An ended broadcast's no longer changes; a live one's is
   * read again (from its last index block on) when it is older than a second.
   */
  const timelines = new Map<
    string,
    { at: number; live: boolean; t: Promise<RecordingTimeline | undefined> }
  >();
  const trouble = createLogRateLimiter(logger, {
    maxPerWindow: 2,
    windowMs: 10_000,
    what: 'past-broadcast storage errors',
    level: 'warn',
  });

  const notFound = (res: HttpResponse, message = 'no such video') => {
    count('video', '404');
    sendError(res, '404 Not Found', 'VIDEO_NOT_FOUND', message);
  };

  const timeline = (v: VideoInfo): Promise<RecordingTimeline | undefined> => {
    const had = timelines.get(v.id);
    let entry = had;
    const stale = had && (had.live !== v.live || (v.live && Date.now() - had.at > LIVE_TIMELINE_MS));
    if (!had || stale) {
      // While it is written, its timeline objects change: they are read past the cache (segments are not).
      const reader = {
        get: (k: string) => (v.live && k.endsWith('.json') ? storage!.get(k) : cache!.get(k)),
        list: (p: string) => storage!.list(p),
      };
      const prev = had?.t.catch(() => undefined);
      const t = (prev ?? Promise.resolve(undefined)).then((p) => readRecording(reader, v.channel, v.id, p));
      entry = { at: Date.now(), live: v.live, t };
      t.catch(() => timelines.delete(v.id));
    }
    timelines.delete(v.id);
    timelines.set(v.id, entry!);
    if (timelines.size > TIMELINES) timelines.delete(timelines.keys().next().value!);
    return entry!.t;
  };

  /**
   * Resolves the video of a request and checks the viewer may see it; calls `answer` with its timeline, or
   * answers the refusal itself.
   */
  const withVideo = (
    res: HttpResponse,
    req: HttpRequest,
    answer: (v: VideoInfo, t: RecordingTimeline, done: () => boolean) => Promise<void> | void,
  ) => {
    const id = req.getParameter(0) ?? '';
    const viewer = { cookies: req.getHeader('cookie'), secure: clients.of(res, req).secure };
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    if (!isBroadcastId(id)) return notFound(res);
    if (!storage || !lookup) return notFound(res, 'this edge plays no past broadcasts');
    void (async () => {
      try {
        const v = await lookup.video(id);
        if (aborted) return;
        if (!v) return notFound(res);
        const access = await gate.settle(v.channel, viewer, 3000);
        if (aborted) return;
        if (access === 'deny') return refuse(res, 'PASSWORD_REQUIRED', 'this stream needs its password');
        if (access !== 'allow')
          return refuse(res, 'HUB_UNAVAILABLE', 'this edge cannot check access to the video yet');
        const t = await timeline(v);
        if (aborted) return;
        if (!t) return notFound(res, 'this video has no recording');
        await answer(v, t, () => aborted);
      } catch (err) {
        if (trouble.allow('read'))
          logger.warn(
            { code: 'STORAGE_UNAVAILABLE', video: id, err: errorMessage(err) },
            'past broadcast unreadable',
          );
        if (aborted) return;
        count('video', '503');
        sendError(
          res,
          '503 Service Unavailable',
          'STORAGE_UNAVAILABLE',
          'the recording cannot be read right now',
        );
      }
    })();
  };

  function refuse(res: HttpResponse, code: ErrorCode, message: string): void {
    const status = code === 'PASSWORD_REQUIRED' ? '403 Forbidden' : '503 Service Unavailable';
    count('video', status);
    sendError(res, status, code, message);
  }

  const document = (res: HttpResponse, body: string, type: string) => {
    count('video', '200');
    send(res, '200 OK', body, { 'content-type': type, 'cache-control': 'private, no-cache' });
  };

  app.get('/videos/:id/manifest.mpd', (res, req) =>
    withVideo(res, req, (v, t, done) => {
      if (done()) return;
      // A broadcast still live: a dynamic MPD over the DVR window, which grows with the recording.
      const mpd = v.live
        ? buildLiveRecordingMpd(t, { windowS: deps.dvrWindowS, now: Date.now(), timeUrl: deps.timeUrl })
        : buildStaticMpd(t);
      document(res, mpd, 'application/dash+xml');
    }),
  );
  app.get('/videos/:id/master.m3u8', (res, req) =>
    withVideo(res, req, (_v, t, done) => {
      if (!done()) document(res, buildVodMaster(t), 'application/vnd.apple.mpegurl');
    }),
  );
  // What can be rewound to (the watch page's seek bar): wall-clock ms, with the edge's clock to measure by.
  app.get('/videos/:id/window.json', (res, req) =>
    withVideo(res, req, (v, t, done) => {
      if (done()) return;
      const w = recordedWindow(t, { live: v.live, windowS: deps.dvrWindowS });
      if (!w) return notFound(res, 'nothing is recorded yet');
      count('video', '200');
      send(res, '200 OK', JSON.stringify({ live: v.live, windowS: deps.dvrWindowS, ...w, now: Date.now() }), {
        'content-type': 'application/json',
        'cache-control': 'no-store',
      });
    }),
  );
  app.get('/videos/:id/thumbnail.jpg', (res, req) =>
    withVideo(res, req, async (v, _t, done) => {
      const data = await cache!.get(`${v.channel}/${v.id}/thumbnail.jpg`);
      if (done()) return;
      if (!data) return notFound(res, 'no thumbnail');
      count('video', '200');
      send(res, '200 OK', data, { 'content-type': 'image/jpeg', 'cache-control': 'private, max-age=300' });
    }),
  );
  app.get('/videos/:id/:rendition/playlist.m3u8', (res, req) => {
    const rendition = req.getParameter(1) ?? '';
    withVideo(res, req, (v, t, done) => {
      const playlist = isValidName(rendition)
        ? buildVodPlaylist(t, rendition, { live: v.live, windowS: deps.dvrWindowS })
        : undefined;
      if (done()) return;
      if (!playlist) return notFound(res, 'no such rendition');
      document(res, playlist, 'application/vnd.apple.mpegurl');
    });
  });
  app.get('/videos/:id/:rendition/:file', (res, req) => {
    const rendition = req.getParameter(1) ?? '';
    const file = req.getParameter(2) ?? '';
    withVideo(res, req, async (v, t, done) => {
      const key = recordedFile(t, rendition, file);
      if (!key) return notFound(res, 'no such file in this video');
      const data = await cache!.get(`${v.channel}/${v.id}/${key}`);
      if (done()) return;
      if (!data) return notFound(res, 'this part of the video was not recorded');
      count('video', '200');
      send(res, '200 OK', data, {
        'content-type': file.endsWith('.mp4') ? 'video/mp4' : 'video/iso.segment',
        'cache-control': 'private, max-age=3600',
      });
    });
  });

  // A clip's MP4 (its page is served with the other pages): the channel's password applies as to the live stream.
  app.get('/clips/:clip/clip.mp4', (res, req) => {
    const id = req.getParameter(0) ?? '';
    const range = req.getHeader('range');
    const viewer = { cookies: req.getHeader('cookie'), secure: clients.of(res, req).secure };
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    if (!isClipId(id) || !storage || !lookup) return notFound(res, 'no such clip');
    void (async () => {
      try {
        const c = await lookup.clip(id);
        if (aborted) return;
        if (!c) return notFound(res, 'no such clip');
        const access = await gate.settle(c.channel, viewer, 3000);
        if (aborted) return;
        if (access === 'deny') return refuse(res, 'PASSWORD_REQUIRED', 'this stream needs its password');
        if (access !== 'allow') return refuse(res, 'HUB_UNAVAILABLE', 'this edge cannot check access yet');
        const data = await cache!.get(`${c.channel}/${c.broadcastId}/clips/${c.id}.mp4`);
        if (aborted) return;
        if (!data) return notFound(res, 'this clip has no media');
        sendRange(res, data, range);
        count('video', '200');
      } catch (err) {
        if (trouble.allow('read'))
          logger.warn({ code: 'STORAGE_UNAVAILABLE', clip: id, err: errorMessage(err) }, 'clip unreadable');
        if (aborted) return;
        count('video', '503');
        sendError(res, '503 Service Unavailable', 'STORAGE_UNAVAILABLE', 'the clip cannot be read right now');
      }
    })();
  });
}

/** An MP4 whole, or the one byte range asked for (`bytes=a-b`, `bytes=a-`, `bytes=-n`): players seek by ranges. */
function sendRange(res: HttpResponse, data: Buffer, range: string): void {
  const headers = {
    'content-type': 'video/mp4',
    'accept-ranges': 'bytes',
    'cache-control': 'private, max-age=3600',
  };
  const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
  if (!m || (m[1] === '' && m[2] === '')) return send(res, '200 OK', data, headers);
  const size = data.length;
  let start = m[1] === '' ? size - Number(m[2]) : Number(m[1]);
  let end = m[1] === '' || m[2] === '' ? size - 1 : Number(m[2]);
  start = Math.max(0, start);
  end = Math.min(size - 1, end);
  if (start > end || start >= size)
    return send(res, '416 Range Not Satisfiable', '', { ...headers, 'content-range': `bytes */${size}` });
  send(res, '206 Partial Content', data.subarray(start, end + 1), {
    ...headers,
    'content-range': `bytes ${start}-${end}/${size}`,
  });
}

/** The storage key (under the broadcast) of a file the timeline names, or undefined. */
function recordedFile(t: RecordingTimeline, rendition: string, file: string): string | undefined {
  if (!isValidName(rendition)) return undefined;
  const init = INIT_RE.exec(file);
  if (init) {
    const epoch = Number(init[1]);
    const e = epochs(t).find((x) => x.epoch === epoch);
    return e?.segments.has(rendition) ? `${rendition}/init-${epoch}.mp4` : undefined;
  }
  const seg = SEGMENT_RE.exec(file);
  if (seg) {
    const n = Number(seg[1]);
    return hasSegment(t.segments.get(rendition) ?? [], n) ? `${rendition}/${seg[1]}.m4s` : undefined;
  }
  return undefined;
}

/** Whether a rendition's segments (in order of number, as the timeline keeps them) include `n`: a binary search. */
function hasSegment(list: ReadonlyArray<{ segment: number }>, n: number): boolean {
  let lo = 0;
  let hi = list.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const at = list[mid]!.segment;
    if (at === n) return true;
    if (at < n) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}
