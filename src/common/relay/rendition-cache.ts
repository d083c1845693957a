/**
 * Bounded cache of one rendition: its init segment and the most recent segments, chunk by chunk.
 * Positions are ordered (segment, chunk). The cache refuses duplicates and reports gaps, which is how
 * "no gap, no duplicate" is enforced at every tier.
 */
import { ChunkFlags, hasFlag, type MediaChunk } from '../media.js';

export interface CachedChunk {
  meta: MediaChunk;
  /** The encoded MEDIA_CHUNK frame, shared by every subscriber (zero-copy fan-out). */
  frame: Buffer;
}

export interface CachedInit {
  data: Buffer;
  frame: Buffer;
}

export interface CachedSegment {
  number: number;
  chunks: CachedChunk[];
  complete: boolean;
}

export type AddResult = 'ok' | 'duplicate' | 'gap';

export function comparePosition(
  a: { segment: number; chunk: number },
  b: { segment: number; chunk: number },
): number {
  return a.segment !== b.segment ? a.segment - b.segment : a.chunk - b.chunk;
}

export class RenditionCache {
  init: CachedInit | undefined;
  private readonly segments = new Map<number, CachedSegment>();
  private lastChunk: MediaChunk | undefined;

  constructor(
    readonly id: string,
    readonly maxSegments: number,
  ) {}

  get last(): MediaChunk | undefined {
    return this.lastChunk;
  }

  /** Adds a chunk in order. A chunk at or before the last position is a duplicate and is not stored. */
  add(c: CachedChunk): AddResult {
    const m = c.meta;
    const last = this.lastChunk;
    if (last && comparePosition(m, last) <= 0) return 'duplicate';
    let result: AddResult = 'ok';
    if (last) {
      const contiguous =
        (m.segment === last.segment && m.chunk === last.chunk + 1) ||
        (m.segment > last.segment &&
          m.chunk === 0 &&
          (m.segment === last.segment + 1 || hasFlag(m, ChunkFlags.DISCONTINUITY)));
      if (!contiguous) result = 'gap';
      if (m.segment !== last.segment) {
        const prev = this.segments.get(last.segment);
        if (prev) prev.complete = true;
      }
    }
    let seg = this.segments.get(m.segment);
    if (!seg) {
      seg = { number: m.segment, chunks: [], complete: false };
      this.segments.set(m.segment, seg);
      while (this.segments.size > this.maxSegments) {
        const oldest = this.segments.keys().next().value as number;
        this.segments.delete(oldest);
      }
    }
    seg.chunks.push(c);
    if (hasFlag(m, ChunkFlags.SEGMENT_END)) seg.complete = true;
    this.lastChunk = m;
    return result;
  }

  segment(n: number): CachedSegment | undefined {
    return this.segments.get(n);
  }

  /** Number of the newest segment whose first chunk (a keyframe for video) is cached. */
  latestStartSegment(): number | undefined {
    let latest: number | undefined;
    for (const seg of this.segments.values()) {
      if (seg.chunks[0]?.meta.chunk === 0) latest = seg.number;
    }
    return latest;
  }

  oldestSegment(): number | undefined {
    for (const seg of this.segments.values()) if (seg.chunks[0]?.meta.chunk === 0) return seg.number;
    return undefined;
  }

  /**
   * Chunks strictly after `pos`, if the cache still holds the chunk right after it; undefined when
   * the position fell out of the window (the caller then starts at a keyframe instead).
   */
  chunksAfter(pos: { segment: number; chunk: number }): CachedChunk[] | undefined {
    const out: CachedChunk[] = [];
    let found = false;
    for (const seg of this.segments.values()) {
      if (seg.number < pos.segment) continue;
      for (const c of seg.chunks) {
        const cmp = comparePosition(c.meta, pos);
        if (cmp <= 0) {
          if (cmp === 0) found = true;
          continue;
        }
        out.push(c);
      }
    }
    if (found) return out;
    if (this.lastChunk && comparePosition(this.lastChunk, pos) <= 0) return [];
    return undefined;
  }

  /** Every cached chunk from the start of segment n on. */
  chunksFromSegment(n: number): CachedChunk[] {
    const out: CachedChunk[] = [];
    for (const seg of this.segments.values()) if (seg.number >= n) out.push(...seg.chunks);
    return out;
  }

  clear(): void {
    this.segments.clear();
    this.lastChunk = undefined;
    this.init = undefined;
  }
}
