/**
 * Pure: the segment duration of a passthrough stream, from the source's keyframe interval.
 *
 * With the publisher's H.264 copied as the Source rendition, a segment can only start where the source
 * has a keyframe, so the segment duration becomes the source's GOP. It is measured once, between the first
 * two keyframes (FLV timestamps, whole milliseconds), and then fixes every boundary of the stream
 * (segment n = [n·d, (n+1)·d)): an error of 1 ms would drift by a frame every few minutes. So when the
 * frame rate is declared (onMetaData `framerate`), the interval is taken as a whole number of frames at
 * that rate, snapped to the broadcast rates: 45 frames at 29.97 fps are 1501.5 ms, not 1501 or 1502.
 */

/** Frame rates encoders use; a declared rate within 0.02 % of one is taken as exactly it. */
const STANDARD_RATES = [24000 / 1001, 24, 25, 30000 / 1001, 30, 48, 50, 60000 / 1001, 60, 120];

/** The longest keyframe interval passthrough takes (the longest segment the edges serve). */
export const MAX_SOURCE_GOP_MS = 10_000;

/** The standard rate within 0.02 % of `fps` (29.97 and 30 are 0.1 % apart), or undefined. */
export function snapFrameRate(fps: number): number | undefined {
  return STANDARD_RATES.find((r) => Math.abs(fps - r) / r < 0.0002);
}

/**
 * The broadcast rate near `fps` (within `tolerance`, relative), else undefined: a rate measured over one or
 * two frames with millisecond timestamps (33 ms at 30 fps reads 30.303) is off by up to ~3 %, too coarse to
 * tell 30 from 29.97, so a whole rate in reach is preferred, then the nearest.
 */
export function nearestStandardRate(fps: number, tolerance: number): number | undefined {
  const near = STANDARD_RATES.filter((r) => Math.abs(fps - r) / r <= tolerance);
  const whole = near.filter((r) => Number.isInteger(r));
  const pool = whole.length ? whole : near;
  return pool.sort((a, b) => Math.abs(fps - a) - Math.abs(fps - b))[0];
}

/**
 * The segment duration in ms for a source whose first two keyframes are `gapMs` apart, or undefined if
 * that interval cannot be a segment: not longer than a chunk, or longer than MAX_SOURCE_GOP_MS. Without a
 * declared standard frame rate, the timestamps are taken as they are.
 */
export function passthroughSegmentMs(
  gapMs: number,
  chunkDurationMs: number,
  frameRate?: number,
): number | undefined {
  if (!Number.isFinite(gapMs) || gapMs <= chunkDurationMs || gapMs > MAX_SOURCE_GOP_MS) return undefined;
  const fps = frameRate === undefined ? undefined : snapFrameRate(frameRate);
  if (fps === undefined) return gapMs;
  return (Math.max(1, Math.round((gapMs * fps) / 1000)) * 1000) / fps;
}
