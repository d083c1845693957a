/**
 * Media domain types shared by every tier. A stream has renditions (one per ladder rung plus audio);
 * each rendition is an init segment followed by numbered segments, each segment a run of chunks
 * (one CMAF fragment, moof+mdat, each). A segment starts with a keyframe.
 */

export type TrackKind = 'video' | 'audio';

export interface RenditionInfo {
  /** Short id, unique within the stream: "v720", "v360", "a0". Used in URLs and frames. */
  id: string;
  kind: TrackKind;
  /** RFC 6381 codec string read from the init segment, e.g. "avc1.64001f", "mp4a.40.2". */
  codecs: string;
  /** Target bits per second, for the MPD and the quality menu. */
  bandwidth: number;
  width?: number;
  height?: number;
  frameRate?: number;
  sampleRate?: number;
  channels?: number;
  /** Media timescale of the track (ticks per second). */
  timescale: number;
}

/** The publisher's own video passed through (transcode mode passthrough/off): "Source" in every menu. */
export const SOURCE_RENDITION_ID = 'src';

/** Order of video renditions in manifests and menus: Source first, then by bandwidth, highest first. */
export function byQuality(
  a: Pick<RenditionInfo, 'id' | 'bandwidth'>,
  b: Pick<RenditionInfo, 'id' | 'bandwidth'>,
): number {
  const src = Number(b.id === SOURCE_RENDITION_ID) - Number(a.id === SOURCE_RENDITION_ID);
  return src || b.bandwidth - a.bandwidth;
}

export interface StreamInfo {
  /** Public stream name (the streamer's name, never the key). */
  name: string;
  /** Wall-clock ms at which media time 0 was received by ingress: the MPD's availabilityStartTime. */
  availabilityStartTime: number;
  /** The configured segment duration, or with passthrough the source's keyframe interval (may be fractional). */
  segmentDurationMs: number;
  chunkDurationMs: number;
  /** Increments each time the transcoder restarts; chunks after a restart carry the discontinuity flag. */
  epoch: number;
  renditions: RenditionInfo[];
  /** Needs a viewing password (known at publish time; the hub's directory carries later changes). */
  protected?: boolean;
}

export const ChunkFlags = {
  KEYFRAME: 1,
  SEGMENT_START: 2,
  SEGMENT_END: 4,
  DISCONTINUITY: 8,
} as const;

export interface MediaChunk {
  stream: string;
  rendition: string;
  /** Segment number: floor(decodeTime / segmentDuration) on the stream's continuous timeline. */
  segment: number;
  /** Index of this chunk within its segment, from 0. */
  chunk: number;
  /** Bit set of ChunkFlags. */
  flags: number;
  /** Decode time of the first sample, in the rendition's timescale (tfdt). */
  decodeTime: number;
  /** Sum of sample durations, in the rendition's timescale. */
  duration: number;
  /** Wall-clock ms at which ingress received the first frame of this chunk from the publisher. */
  ingressTime: number;
  /** Wall-clock ms at which the previous hop sent this chunk (rewritten by every relay). */
  sentTime: number;
  /** The CMAF bytes: [styp|prft]* moof mdat. */
  payload: Buffer;
}

export interface InitSegment {
  stream: string;
  rendition: string;
  data: Buffer;
}

export function hasFlag(chunk: Pick<MediaChunk, 'flags'>, flag: number): boolean {
  return (chunk.flags & flag) !== 0;
}

/** A position in a stream: the last chunk a subscriber holds, per rendition. */
export interface ResumePosition {
  rendition: string;
  segment: number;
  chunk: number;
}
