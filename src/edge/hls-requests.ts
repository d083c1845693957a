/**
 * HLS over the relay's cache (domain; no sockets): a rendition's cached segments as the playlist sees them,
 * parts (one chunk each) answered as soon as they exist, and blocking playlist reloads held until the
 * playlist can satisfy them.
 */
import {
  ChunkFlags,
  hasFlag,
  type MediaChunk,
  type RenditionInfo,
  type StreamInfo,
} from '../common/media.js';
import type { RenditionCache } from '../common/relay/rendition-cache.js';
import type { StreamSubscriber } from '../common/relay/stream-relay.js';
import {
  buildMediaPlaylist,
  directiveState,
  partTargetSeconds,
  targetDurationSeconds,
  type PlaylistSegment,
} from './hls-playlist.js';
import type { PendingRequest, SegmentSource } from './segment-requests.js';

const NOTHING: PendingRequest = { cancel: () => undefined };

/**
 * The cached segments of a rendition that start at their first chunk, oldest first. When the cache is full
 * its oldest segment is left out: it is the next to be evicted, and a player given it could ask too late.
 */
export function playlistSegments(cache: RenditionCache, rendition: RenditionInfo): PlaylistSegment[] {
  const oldest = cache.oldestSegment();
  const last = cache.last?.segment;
  if (oldest === undefined || last === undefined) return [];
  const first = last - oldest + 1 >= cache.maxSegments ? oldest + 1 : oldest;
  const out: PlaylistSegment[] = [];
  for (let n = first; n <= last; n++) {
    const seg = cache.segment(n);
    const head = seg?.chunks[0]?.meta;
    if (!seg || !head || head.chunk !== 0) {
      // A hole (this edge joined mid-way, or a skip): start the list after it.
      out.length = 0;
      continue;
    }
    out.push({
      number: n,
      startS: head.decodeTime / rendition.timescale,
      complete: seg.complete || n < last,
      discontinuity: hasFlag(head, ChunkFlags.DISCONTINUITY),
      parts: seg.chunks.map((c) => ({
        durationS: c.meta.duration / rendition.timescale,
        independent: rendition.kind === 'audio' || hasFlag(c.meta, ChunkFlags.KEYFRAME),
      })),
    });
  }
  return out;
}

export interface RenderedPlaylist {
  body: Buffer;
  /** EXT-X-TARGETDURATION, seconds: how long a blocking reload may be held is three of these. */
  targetS: number;
}

const rendered = new WeakMap<
  RenditionCache,
  { last: MediaChunk; info: StreamInfo; rendition: RenditionInfo; playlist: RenderedPlaylist }
>();

/**
 * A rendition's media playlist, or undefined while it would list no segment. Rendered once per state of
 * the cache: one chunk releases the blocking reload of every viewer at once, all for the same text, and the
 * cache changes (a chunk added, a segment completed or evicted) only with its newest chunk, a new object
 * each time. A new StreamInfo (a restart) is a new object too.
 */
export function renderedMediaPlaylist(
  cache: RenditionCache,
  info: StreamInfo,
  rendition: RenditionInfo,
): RenderedPlaylist | undefined {
  const last = cache.last;
  if (!last) return undefined;
  const hit = rendered.get(cache);
  if (hit && hit.last === last && hit.info === info && hit.rendition === rendition) return hit.playlist;
  const segments = playlistSegments(cache, rendition);
  if (!segments.length) return undefined;
  const discontinuities = segments.filter((s, i) => i > 0 && s.discontinuity).length;
  const text = buildMediaPlaylist(info, {
    partTargetS: partTargetSeconds(info, rendition),
    segments,
    discontinuitySequence: Math.max(0, info.epoch - discontinuities),
  });
  const playlist = { body: Buffer.from(text), targetS: targetDurationSeconds(info, segments) };
  rendered.set(cache, { last, info, rendition, playlist });
  return playlist;
}

/**
 * The newest position in the cache, which is what a playlist's last entry shows (a segment that starts at its
 * first chunk), read without building the playlist: blocking reloads ask this on every chunk.
 */
export function newestInCache(
  cache: RenditionCache,
): { segment: number; parts: number; complete: boolean } | undefined {
  const last = cache.last;
  const seg = last && cache.segment(last.segment);
  if (!seg || seg.chunks[0]?.meta.chunk !== 0) return undefined;
  return { segment: seg.number, parts: seg.chunks.length, complete: seg.complete };
}

/**
 * Calls `ready` once the rendition's playlist satisfies `directive` (`_HLS_msn`/`_HLS_part`), `ahead` at
 * once if the request is further ahead than a server waits for, `timeout` after `waitMs`.
 */
export function waitForPlaylist(
  relay: SegmentSource,
  rendition: RenditionInfo,
  directive: { msn: number; part: number | undefined },
  partsPerSegment: number,
  waitMs: number,
  done: (outcome: 'ready' | 'ahead' | 'timeout' | 'gone') => void,
): PendingRequest {
  const state = () => {
    const cache = relay.renditions.get(rendition.id);
    return cache ? directiveState(newestInCache(cache), directive, partsPerSegment) : 'wait';
  };
  const now = state();
  if (now !== 'wait') {
    done(now);
    return NOTHING;
  }
  let finished = false;
  const finish = (outcome: 'ready' | 'ahead' | 'timeout' | 'gone') => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    relay.detach(listener);
    done(outcome);
  };
  const listener: StreamSubscriber = {
    onInfo: () => undefined,
    onInit: () => undefined,
    onChunk: (c) => {
      if (c.meta.rendition !== rendition.id) return;
      const s = state();
      if (s !== 'wait') finish(s);
    },
    onEnd: () => finish('gone'),
  };
  const timer = setTimeout(() => finish('timeout'), waitMs);
  relay.listen(listener);
  return { cancel: () => finish('gone') };
}

/**
 * One part (chunk `part` of segment `segment`): answered from the cache, or as soon as it arrives (a
 * preload hint asks for the next part before it exists). Not found if it fell out of the cache, if its
 * segment ended with fewer parts, or if it does not arrive within `waitMs`.
 */
export function servePart(
  relay: SegmentSource,
  rendition: string,
  segment: number,
  part: number,
  waitMs: number,
  done: (data: Buffer | undefined) => void,
): PendingRequest {
  const cache = relay.renditions.get(rendition);
  if (!cache || relay.state !== 'live') {
    done(undefined);
    return NOTHING;
  }
  const have = cache.segment(segment)?.chunks.find((c) => c.meta.chunk === part);
  if (have) {
    done(have.meta.payload);
    return NOTHING;
  }
  const last = cache.last;
  // Behind the newest position (evicted, or a part its segment never had), or more than a segment ahead.
  const behind = last && (segment < last.segment || (segment === last.segment && part <= last.chunk));
  if (behind || (last && segment > last.segment + 1)) {
    done(undefined);
    return NOTHING;
  }
  let finished = false;
  const finish = (data: Buffer | undefined) => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    relay.detach(listener);
    done(data);
  };
  const listener: StreamSubscriber = {
    onInfo: () => undefined,
    onInit: () => undefined,
    onChunk: (c) => {
      if (c.meta.rendition !== rendition) return;
      if (c.meta.segment === segment && c.meta.chunk === part) finish(c.meta.payload);
      else if (c.meta.segment > segment) finish(undefined);
    },
    onEnd: () => finish(undefined),
  };
  const timer = setTimeout(() => finish(undefined), waitMs);
  relay.listen(listener);
  return { cancel: () => finish(undefined) };
}
