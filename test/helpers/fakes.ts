/** Fakes for component tests: chunk factories and a silent logger/metrics. */
import { pino } from 'pino';
import { createMetrics } from '../../src/common/metrics/index.js';
import { ChunkFlags, type MediaChunk, type StreamInfo } from '../../src/common/media.js';
import { encodeMediaChunk } from '../../src/common/protocol/index.js';
import type { CachedChunk } from '../../src/common/relay/rendition-cache.js';

export const silentLogger = pino({ level: 'silent' });
export const testMetrics = () => createMetrics('test-node', 'intermediate');

export function makeChunk(
  rendition: string,
  segment: number,
  chunk: number,
  opts: { end?: boolean; flags?: number; bytes?: number; stream?: string } = {},
): CachedChunk {
  let flags = opts.flags ?? 0;
  if (chunk === 0) flags |= ChunkFlags.SEGMENT_START | (rendition.startsWith('v') ? ChunkFlags.KEYFRAME : 0);
  if (opts.end) flags |= ChunkFlags.SEGMENT_END;
  const meta: MediaChunk = {
    stream: opts.stream ?? 'demo',
    rendition,
    segment,
    chunk,
    flags,
    decodeTime: segment * 90000 + chunk * 18000,
    duration: 18000,
    ingressTime: 1000 + segment * 1000 + chunk * 200,
    sentTime: 0,
    payload: Buffer.alloc(opts.bytes ?? 16, segment * 10 + chunk),
  };
  return { meta, frame: encodeMediaChunk(meta) };
}

/** A segment of 5 chunks, the last one flagged SEGMENT_END. */
export function makeSegment(rendition: string, segment: number, chunks = 5, stream = 'demo'): CachedChunk[] {
  return Array.from({ length: chunks }, (_, i) =>
    makeChunk(rendition, segment, i, { end: i === chunks - 1, stream }),
  );
}

export function makeInfo(name = 'demo', epoch = 0): StreamInfo {
  return {
    name,
    availabilityStartTime: 1_700_000_000_000,
    segmentDurationMs: 1000,
    chunkDurationMs: 200,
    epoch,
    renditions: [
      {
        id: 'v720',
        kind: 'video',
        codecs: 'avc1.4d401f',
        bandwidth: 2_500_000,
        width: 1280,
        height: 720,
        frameRate: 30,
        timescale: 90000,
      },
      {
        id: 'v360',
        kind: 'video',
        codecs: 'avc1.4d401e',
        bandwidth: 700_000,
        width: 640,
        height: 360,
        frameRate: 30,
        timescale: 90000,
      },
      {
        id: 'a0',
        kind: 'audio',
        codecs: 'mp4a.40.2',
        bandwidth: 128_000,
        sampleRate: 48000,
        channels: 2,
        timescale: 48000,
      },
    ],
  };
}
