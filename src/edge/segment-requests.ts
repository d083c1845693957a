/**
 * HTTP segment delivery (domain; the response is behind SegmentResponse). A complete segment is written at
 * once; a segment still being produced is written chunk by chunk as the chunks arrive (chunked transfer);
 * a request for the next segment, not yet started, is held up to `waitMs` (LL-DASH asks early on purpose).
 */
import { ChunkFlags, hasFlag } from '../common/media.js';
import type { CachedChunk } from '../common/relay/rendition-cache.js';
import type { StreamRelay, StreamSubscriber } from '../common/relay/stream-relay.js';

/** What segment delivery reads of a stream (a StreamRelay): its state, its caches, and listening for more. */
export type SegmentSource = Pick<
  StreamRelay,
  'info' | 'state' | 'renditions' | 'listen' | 'detach' | 'mediaLagMs'
>;

/** Waits for a rendition's init segment when the stream is live but it has not arrived yet. */
export function waitForInit(
  relay: SegmentSource,
  rendition: string,
  waitMs: number,
  done: (data: Buffer | undefined) => void,
): PendingRequest {
  const have = relay.renditions.get(rendition)?.init;
  if (have || relay.state !== 'live' || !relay.info?.renditions.some((r) => r.id === rendition)) {
    done(have?.data);
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
    onInit: (r, init) => {
      if (r === rendition) finish(init.data);
    },
    onChunk: () => undefined,
    onEnd: () => finish(undefined),
  };
  const timer = setTimeout(() => finish(undefined), waitMs);
  relay.listen(listener);
  return { cancel: () => finish(undefined) };
}

/**
 * Calls `done` once the relay holds media (at once if it does): a cold edge that has just subscribed gets
 * its parent's backlog in one burst, and `settleMs` after its first chunk the newest of it is here too.
 */
export function waitForMedia(
  relay: SegmentSource,
  waitMs: number,
  done: () => void,
  settleMs = 20,
): PendingRequest {
  if ([...relay.renditions.values()].some((c) => c.last) || relay.state !== 'live') {
    done();
    return NOTHING;
  }
  let finished = false;
  const timers: NodeJS.Timeout[] = [];
  const finish = (call: boolean) => {
    if (finished) return;
    finished = true;
    for (const t of timers) clearTimeout(t);
    relay.detach(listener);
    if (call) done();
  };
  const listener: StreamSubscriber = {
    onInfo: () => undefined,
    onInit: () => undefined,
    onChunk: () => {
      if (timers.length < 2) timers.push(setTimeout(() => finish(true), settleMs));
    },
    onEnd: () => finish(true),
  };
  timers.push(setTimeout(() => finish(true), waitMs));
  relay.listen(listener);
  return { cancel: () => finish(false) };
}

export interface SegmentResponse {
  /** Status 200 and headers; called once before the first write (which may send them with its bytes). */
  begin(): void;
  /** Bytes of the segment; `last`: they end it (one send for the last chunk and the end of the response). */
  write(data: Buffer, last: boolean): void;
  /** Ends a response whose last bytes are already written (the segment ended without an end flag). */
  end(): void;
  notFound(code: 'SEGMENT_NOT_FOUND' | 'STREAM_NOT_FOUND', message: string): void;
}

export interface SegmentRequestOptions {
  waitMs: number;
  /** How far ahead of the newest segment a request may be held (in segments). */
  maxAhead?: number;
}

export interface PendingRequest {
  cancel(): void;
}

const NOTHING: PendingRequest = { cancel: () => undefined };

export function serveSegment(
  relay: SegmentSource,
  rendition: string,
  number: number,
  res: SegmentResponse,
  opts: SegmentRequestOptions,
): PendingRequest {
  const cache = relay.renditions.get(rendition);
  if (!cache || relay.state !== 'live') {
    res.notFound('STREAM_NOT_FOUND', 'stream or rendition not found');
    return NOTHING;
  }
  let started = false;
  let done = false;
  const timers: NodeJS.Timeout[] = [];
  const finish = (): void => {
    done = true;
    for (const t of timers) clearTimeout(t);
    relay.detach(listener);
  };
  const writeChunk = (c: CachedChunk): void => {
    if (!started) {
      started = true;
      res.begin();
    }
    const last = hasFlag(c.meta, ChunkFlags.SEGMENT_END);
    if (last) finish();
    res.write(c.meta.payload, last);
  };
  const listener: StreamSubscriber = {
    onInfo: () => undefined,
    onInit: () => undefined,
    onChunk: (c) => {
      if (done || c.meta.rendition !== rendition) return;
      if (c.meta.segment === number) {
        if (!started && c.meta.chunk !== 0) {
          finish();
          res.notFound('SEGMENT_NOT_FOUND', 'segment start was missed');
          return;
        }
        writeChunk(c);
      } else if (c.meta.segment > number) {
        // The segment ended without an explicit end flag (e.g. the transcoder restarted).
        finish();
        if (started) res.end();
        else res.notFound('SEGMENT_NOT_FOUND', 'segment was skipped');
      }
    },
    onEnd: () => {
      if (done) return;
      finish();
      if (started) res.end();
      else res.notFound('STREAM_NOT_FOUND', 'stream ended');
    },
  };

  const seg = cache.segment(number);
  if (seg) {
    if (seg.chunks[0]?.meta.chunk !== 0) {
      res.notFound('SEGMENT_NOT_FOUND', 'segment no longer complete in the cache');
      return NOTHING;
    }
    for (const c of seg.chunks) {
      writeChunk(c);
      if (done) return NOTHING;
    }
    if (seg.complete) {
      done = true;
      res.end();
      return NOTHING;
    }
    relay.listen(listener);
    return { cancel: finish };
  }
  const last = cache.last;
  const maxAhead = opts.maxAhead ?? 2;
  // With nothing cached yet (this edge just started pulling the stream), hold the request: the parent's
  // backlog starts at the current segment's first chunk and is on its way. A segment further ahead is
  // held too when the timeline has already promised it (the stream runs late: an overloaded transcoder);
  // only one ahead of both the media and the clock is refused.
  if (last && (number <= last.segment || (number > last.segment + maxAhead && !promised(relay, number)))) {
    res.notFound('SEGMENT_NOT_FOUND', 'segment not available');
    return NOTHING;
  }
  relay.listen(listener);
  timers.push(
    setTimeout(() => {
      if (done) return;
      finish();
      res.notFound('SEGMENT_NOT_FOUND', 'segment did not start in time');
    }, opts.waitMs),
  );
  return { cancel: finish };
}

/**
 * Whether the stream's timeline (unshifted, as an MPD read before the lag showed announced it) has made
 * segment `n` due by now, give or take one segment of client clock error and rounding.
 */
function promised(relay: SegmentSource, n: number, now = Date.now()): boolean {
  const i = relay.info;
  return i !== undefined && i.availabilityStartTime + (n - 1) * i.segmentDurationMs <= now;
}
