/**
 * Recording timelines for unit tests (issue 15): renditions of a small ladder and runs of one-second
 * segments, recorded at T0 + the segment's number in seconds.
 */
import type { RenditionInfo } from '../../src/common/media.js';
import type { IndexEntry } from '../../src/common/recording/stream-recorder.js';

/** The wall-clock ms at which segment 0 reached the ingress. */
export const T0 = 1_000_000;

export const v360: RenditionInfo = {
  id: 'v360',
  kind: 'video',
  codecs: 'avc1.4d401e',
  bandwidth: 600_000,
  timescale: 90_000,
  width: 640,
  height: 360,
  frameRate: 30,
};
export const v180: RenditionInfo = { ...v360, id: 'v180', bandwidth: 200_000, width: 320, height: 180 };
export const a0Info: RenditionInfo = {
  id: 'a0',
  kind: 'audio',
  codecs: 'mp4a.40.2',
  bandwidth: 128_000,
  timescale: 48_000,
  sampleRate: 48_000,
  channels: 2,
};

/** `n` one-second segments of a rendition from segment `first`, epoch `epoch`, less those in `skip`. */
export function segmentRun(
  r: RenditionInfo,
  epoch: number,
  first: number,
  n: number,
  skip: number[] = [],
): IndexEntry[] {
  return Array.from({ length: n }, (_, i) => first + i)
    .filter((segment) => !skip.includes(segment))
    .map((segment) => ({
      segment,
      epoch,
      decodeTime: segment * r.timescale,
      duration: r.timescale,
      ingressTime: T0 + segment * 1000,
    }));
}
