/**
 * HLS over the relay's cache (domain; no sockets): a rendition's cached segments as the playlist sees them,
 * parts (one chunk each, or consecutive short chunks grouped: hls-playlist.ts) answered as soon as they
 * exist, and blocking playlist reloads held until the playlist can satisfy them.
 */
import {
  ChunkFlags,
  hasFlag,
  type MediaChunk,
  type RenditionInfo,
  type StreamInfo,
} from '../common/media.js';
import type { CachedChunk, CachedSegment, RenditionCache } from '../common/relay/rendition-cache.js';
import type { StreamSubscriber } from '../common/relay/stream-relay.js';
import {
  buildMediaPlaylist,
  directiveState,
  partPeriodSeconds,
  partTargetSeconds,
  targetDurationSeconds,
  type PlaylistSegment,
} from './hls-playlist.js';
import type { PendingRequest, SegmentSource } from './segment-requests.js';

const NOTHING: PendingRequest = { cancel: () => undefined };

/** A part: chunks of one segment; `closed` once no chunk will join it. */
export interface CachedPart {
  chunks: CachedChunk[];
  durationS: number;
  closed: boolean;
}

/**
 * A segment's parts. Without a period each chunk is a part (closed). With one, consecutive chunks are
 * grouped until they reach `periodS` less half a nominal chunk; the segment's last group closes when the
 * segment is complete.
 */
export function segmentParts(
  seg: CachedSegment,
  timescale: number,
  periodS: number | undefined,
  chunkS: number,
): CachedPart[] {
  if (periodS === undefined)
    return seg.chunks.map((c) => ({ chunks: [c], durationS: c.meta.duration / timescale, closed: true }));
  const parts: CachedPart[] = [];
  let open: CachedPart | undefined;
  for (const c of seg.chunks) {
    open ??= { chunks: [], durationS: 0, closed: false };
    open.chunks.push(c);
    open.durationS += c.meta.duration / timescale;
    if (open.durationS >= periodS - chunkS / 2 - 1e-9) {
      open.closed = true;
      parts.push(open);
      open = undefined;
    }
  }
  if (open) {
    open.closed = seg.complete;
    parts.push(open);
  }
  return parts;
}

const joined = new WeakMap<CachedChunk, Buffer>();

/** A closed part's bytes: its chunks' payloads in order, joined once (keyed by its last chunk). */
function partBytes(p: CachedPart): Buffer {
  if (p.chunks.length === 1) return p.chunks[0]!.meta.payload;
  const last = p.chunks.at(-1)!;
  let b = joined.get(last);
  if (!b) {
    b = Buffer.concat(p.chunks.map((c) => c.meta.payload));
    joined.set(last, b);
  }
  return b;
}

const partsOf = (seg: CachedSegment, info: StreamInfo, rendition: RenditionInfo): CachedPart[] =>
  segmentParts(seg, rendition.timescale, partPeriodSeconds(info), info.chunkDurationMs / 1000);

/**
 * The cached segments of a rendition that start at their first chunk, oldest first. When the cache is full
 * its oldest segment is left out: it is the next to be evicted, and a player given it could ask too late.
 */
export function playlistSegments(
  cache: RenditionCache,
  info: StreamInfo,
  rendition: RenditionInfo,
): PlaylistSegment[] {
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
      // Only closed parts are listed: a listed part never changes.
      parts: partsOf(seg, info, rendition)
        .filter((p) => p.closed)
        .map((p) => ({
          durationS: p.durationS,
          independent: rendition.kind === 'audio' || hasFlag(p.chunks[0]!.meta, ChunkFlags.KEYFRAME),
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
  const segments = playlistSegments(cache, info, rendition);
  if (!segments.length) return undefined;
  const discontinuities = segments.filter((s, i) => i > 0 && s.discontinuity).length;
  const text = buildMediaPlaylist(info, {
    partTargetS: partTargetSeconds(info, rendition),
    partTypicalS: partPeriodSeconds(info),
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
  info: StreamInfo,
  rendition: RenditionInfo,
): { segment: number; parts: number; complete: boolean } | undefined {
  const last = cache.last;
  const seg = last && cache.segment(last.segment);
  if (!seg || seg.chunks[0]?.meta.chunk !== 0) return undefined;
  const parts =
    partPeriodSeconds(info) === undefined
      ? seg.chunks.length
      : partsOf(seg, info, rendition).filter((p) => p.closed).length;
  return { segment: seg.number, parts, complete: seg.complete };
}

/** Parts per segment as a player counts them (the Advance Part Limit is in parts). */
export function partsPerSegment(info: StreamInfo): number {
  const partS = partPeriodSeconds(info) ?? info.chunkDurationMs / 1000;
  return Math.max(1, Math.round(info.segmentDurationMs / 1000 / partS));
}

/**
 * Calls `ready` once the rendition's playlist satisfies `directive` (`_HLS_msn`/`_HLS_part`), `ahead` at
 * once if the request is further ahead than a server waits for, `timeout` after `waitMs`.
 */
export function waitForPlaylist(
  relay: SegmentSource,
  info: StreamInfo,
  rendition: RenditionInfo,
  directive: { msn: number; part: number | undefined },
  partsPerSegment: number,
  waitMs: number,
  done: (outcome: 'ready' | 'ahead' | 'timeout' | 'gone') => void,
): PendingRequest {
  const state = () => {
    const cache = relay.renditions.get(rendition.id);
    return cache ? directiveState(newestInCache(cache, info, rendition), directive, partsPerSegment) : 'wait';
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
 * One part (part `part` of segment `segment`: a chunk, or a group of short chunks): answered from the cache
 * once it is closed, or as soon as it closes (a preload hint asks for the next part before it exists). Not
 * found if it fell out of the cache, if its segment ended with fewer parts, or if it does not close within
 * `waitMs`.
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
  const info = relay.info;
  const r = info?.renditions.find((x) => x.id === rendition);
  if (!cache || !info || !r || relay.state !== 'live') {
    done(undefined);
    return NOTHING;
  }
  /** The part's bytes, 'wait' while it may still close, undefined when it never will. */
  const look = (): Buffer | 'wait' | undefined => {
    const seg = cache.segment(segment);
    // Joined mid-segment: its parts cannot be counted from its start.
    if (seg && seg.chunks[0]?.meta.chunk !== 0) return undefined;
    const p = seg && partsOf(seg, info, r)[part];
    if (p?.closed) return partBytes(p);
    const last = cache.last;
    if (!last) return 'wait';
    // Evicted or never had it (a complete or older segment), or more than a segment ahead.
    if (segment < last.segment || (segment === last.segment && seg?.complete)) return undefined;
    if (segment > last.segment + 1) return undefined;
    return 'wait';
  };
  const now = look();
  if (now !== 'wait') {
    done(now);
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
      if (c.meta.rendition !== rendition || c.meta.segment < segment) return;
      const state = look();
      if (state !== 'wait') finish(state);
    },
    onEnd: () => finish(undefined),
  };
  const timer = setTimeout(() => finish(undefined), waitMs);
  relay.listen(listener);
  return { cancel: () => finish(undefined) };
}
