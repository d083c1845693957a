/**
 * Pure HLS / LL-HLS playlist builders (RFC 8216bis) over the same CMAF chunks the MPD addresses: no second
 * packaging. A segment is `N.m4s` (the whole segment, chunked while it grows, exactly as for DASH); a part is
 * one chunk, addressed as `N.P.m4s` (segment N, chunk P). Parts get URLs of their own rather than byte ranges
 * of the growing segment: a part is then a plain, complete, cacheable response (no open-ended ranges on a
 * resource still being written), which hls.js and Safari both play, and it is the layout Apple's own examples
 * use. Plain HLS clients ignore the part tags and play the segments a few segments behind.
 *
 * Chunks much shorter than a part (frame-sized chunks for the push path, `chunkDurationMs` ≤ 100) are
 * grouped: a part is consecutive chunks of one segment, closed once they reach HLS_PART_MS less half a
 * chunk (or at the segment's end), so players make five part requests a second, not thirty. Every edge
 * groups the same chunks the same way, so part numbers agree across edges.
 */
import { byQuality, type RenditionInfo, type StreamInfo } from '../common/media.js';

/** One segment as the playlist sees it; parts in order from chunk 0. */
export interface PlaylistSegment {
  number: number;
  /** Media time of the first sample, seconds since availabilityStartTime. */
  startS: number;
  parts: { durationS: number; independent: boolean }[];
  complete: boolean;
  /** The transcoder restarted at this segment (EXT-X-DISCONTINUITY before it). */
  discontinuity: boolean;
}

export interface MediaPlaylistOptions {
  /** PART-TARGET in seconds: constant for the stream, ≥ every part's duration. */
  partTargetS: number;
  /** Typical part duration (the grouping period, else the target): PART-HOLD-BACK is three of these. */
  partTypicalS?: number;
  /** Segments, oldest first, whose first chunk is held (a window of the cache). */
  segments: PlaylistSegment[];
  /** Discontinuities before the first listed segment (EXT-X-DISCONTINUITY-SEQUENCE). */
  discontinuitySequence: number;
  /** Segments from the end that carry their parts (older ones are listed whole). */
  partSegments?: number;
}

const fixed = (s: number) => s.toFixed(3);

/** Attribute value in quotes: no request value ever reaches a playlist, but names and codecs go through this. */
function quoted(v: string): string {
  return `"${v.replace(/["\r\n]/g, '')}"`;
}

/** The length LL-HLS parts are grouped to when chunks are short. */
export const HLS_PART_MS = 200;

/** Parts group chunks when a chunk is at most half a part: the grouping period in seconds, else undefined. */
export function partPeriodSeconds(info: Pick<StreamInfo, 'chunkDurationMs'>): number | undefined {
  return info.chunkDurationMs * 2 <= HLS_PART_MS ? HLS_PART_MS / 1000 : undefined;
}

/** One frame (video) or one AAC frame (audio) of a rendition, seconds; 1/24 s when unknown. */
function frameSeconds(rendition: RenditionInfo): number {
  if (rendition.kind === 'audio') return rendition.sampleRate ? 1024 / rendition.sampleRate : 1 / 24;
  return rendition.frameRate ? 1 / rendition.frameRate : 1 / 24;
}

/**
 * Longest part a rendition can produce: the chunk duration, rounded up to whole audio frames for audio.
 * Grouped: a part closes at the first chunk that takes it to HLS_PART_MS less half a chunk, and a chunk holds
 * up to a chunk duration plus one frame (ffmpeg cuts a fragment once it reaches its duration).
 */
export function partTargetSeconds(info: StreamInfo, rendition: RenditionInfo): number {
  const chunk = info.chunkDurationMs / 1000;
  const period = partPeriodSeconds(info);
  if (period !== undefined) return Math.ceil((period + chunk / 2 + frameSeconds(rendition)) * 1000) / 1000;
  if (rendition.kind !== 'audio' || !rendition.sampleRate) return chunk;
  // AAC frames are 1024 samples; an audio chunk holds whole frames, so it can be slightly longer than the
  // video chunk. PART-TARGET must not be exceeded by any part: one frame more than a chunk's whole frames,
  // since the first chunk after going live carries the encoder's start (seen: 0.214 s at 200 ms chunks,
  // over the 10 frames of 0.2133 s). Typical parts stay above 85 % of it (10 of 11 frames).
  const frame = 1024 / rendition.sampleRate;
  return (Math.ceil(chunk / frame - 1e-9) + 1) * frame;
}

export function targetDurationSeconds(info: StreamInfo, segments: PlaylistSegment[]): number {
  // "The EXTINF duration of each Media Segment, rounded to the nearest integer, MUST be ≤ the target."
  let target = Math.max(1, Math.round(info.segmentDurationMs / 1000));
  for (const s of segments) target = Math.max(target, Math.round(segmentDuration(s)));
  return target;
}

function segmentDuration(s: PlaylistSegment): number {
  return s.parts.reduce((sum, p) => sum + p.durationS, 0);
}

export function buildMasterPlaylist(info: StreamInfo): string {
  const video = info.renditions.filter((r) => r.kind === 'video').sort(byQuality);
  const audio = info.renditions.filter((r) => r.kind === 'audio');
  const lines = ['#EXTM3U', '#EXT-X-VERSION:6', '#EXT-X-INDEPENDENT-SEGMENTS'];
  audio.forEach((a, i) => {
    lines.push(
      `#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME=${quoted(a.id)},LANGUAGE="und",DEFAULT=${i === 0 ? 'YES' : 'NO'},AUTOSELECT=YES` +
        `${a.channels ? `,CHANNELS="${a.channels}"` : ''},URI=${quoted(`${a.id}/playlist.m3u8`)}`,
    );
  });
  const audioBandwidth = Math.max(0, ...audio.map((a) => a.bandwidth));
  const audioCodecs = audio[0]?.codecs;
  for (const v of video) {
    const attrs = [
      `BANDWIDTH=${Math.round((v.bandwidth + audioBandwidth) * 1.1)}`,
      `AVERAGE-BANDWIDTH=${v.bandwidth + audioBandwidth}`,
      `CODECS=${quoted([v.codecs, audioCodecs].filter(Boolean).join(','))}`,
    ];
    if (v.width && v.height) attrs.push(`RESOLUTION=${v.width}x${v.height}`);
    if (v.frameRate) attrs.push(`FRAME-RATE=${v.frameRate.toFixed(3)}`);
    if (audio.length) attrs.push('AUDIO="audio"');
    lines.push(`#EXT-X-STREAM-INF:${attrs.join(',')}`, `${v.id}/playlist.m3u8`);
  }
  if (!video.length) {
    // Audio-only stream: the audio rendition is the variant.
    for (const a of audio)
      lines.push(
        `#EXT-X-STREAM-INF:BANDWIDTH=${Math.round(a.bandwidth * 1.1)},CODECS=${quoted(a.codecs)}`,
        `${a.id}/playlist.m3u8`,
      );
  }
  return `${lines.join('\n')}\n`;
}

export function buildMediaPlaylist(info: StreamInfo, opts: MediaPlaylistOptions): string {
  const segs = opts.segments;
  const partSegments = opts.partSegments ?? 3;
  const target = targetDurationSeconds(info, segs);
  const lines = [
    '#EXTM3U',
    '#EXT-X-VERSION:6',
    `#EXT-X-TARGETDURATION:${target}`,
    // Rounded up, never down: no part may be longer than the target as written.
    `#EXT-X-PART-INF:PART-TARGET=${fixed(Math.ceil(opts.partTargetS * 1000 - 1e-6) / 1000)}`,
    // Hold back three parts (the spec's minimum is two targets): enough to ride out one late part.
    `#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=${fixed(Math.max(opts.partTargetS * 2, (opts.partTypicalS ?? opts.partTargetS) * 3))},HOLD-BACK=${fixed(target * 3)}`,
    `#EXT-X-MEDIA-SEQUENCE:${segs[0]?.number ?? 0}`,
    `#EXT-X-DISCONTINUITY-SEQUENCE:${opts.discontinuitySequence}`,
    '#EXT-X-INDEPENDENT-SEGMENTS',
    '#EXT-X-MAP:URI="init.mp4"',
  ];
  const withParts = Math.max(0, segs.length - partSegments);
  segs.forEach((s, i) => {
    if (s.discontinuity && i > 0) lines.push('#EXT-X-DISCONTINUITY');
    if (i === 0 || s.discontinuity)
      lines.push(
        `#EXT-X-PROGRAM-DATE-TIME:${new Date(info.availabilityStartTime + s.startS * 1000).toISOString()}`,
      );
    if (i >= withParts) {
      s.parts.forEach((p, k) => {
        lines.push(
          `#EXT-X-PART:DURATION=${fixed(p.durationS)},URI="${s.number}.${k}.m4s"${p.independent ? ',INDEPENDENT=YES' : ''}`,
        );
      });
    }
    if (s.complete) lines.push(`#EXTINF:${fixed(segmentDuration(s))},`, `${s.number}.m4s`);
  });
  const last = segs.at(-1);
  if (last) {
    // The next part to be produced: players request it now and the edge answers as soon as it exists.
    const next = last.complete ? `${last.number + 1}.0.m4s` : `${last.number}.${last.parts.length}.m4s`;
    lines.push(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="${next}"`);
  }
  return `${lines.join('\n')}\n`;
}

/** A blocking-reload request (`_HLS_msn`, `_HLS_part`), validated; undefined when the query has neither. */
export type ReloadDirective = { msn: number; part: number | undefined } | { error: string } | undefined;

const INTEGER = /^\d{1,9}$/;

export function parseReloadDirective(query: URLSearchParams): ReloadDirective {
  const msn = query.get('_HLS_msn');
  const part = query.get('_HLS_part');
  if (msn === null && part === null) return undefined;
  if (msn === null) return { error: '_HLS_part without _HLS_msn' };
  if (!INTEGER.test(msn)) return { error: '_HLS_msn must be a non-negative integer' };
  if (part !== null && !INTEGER.test(part)) return { error: '_HLS_part must be a non-negative integer' };
  return { msn: Number(msn), part: part === null ? undefined : Number(part) };
}

/** How many parts past the newest a request may ask for before it is refused (the spec's Advance Part Limit). */
export const ADVANCE_PART_LIMIT = 3;

/**
 * Whether the playlist already satisfies a directive: segment `msn` complete (no part asked), its part
 * `part` present, or anything later. 'ahead' when the request is further ahead than a server should wait
 * for: more than two segments past the newest, or more than the Advance Part Limit of parts past the newest
 * part (`partsPerSegment` converts segments to parts for that count).
 */
export function directiveState(
  newest: { segment: number; parts: number; complete: boolean } | undefined,
  d: { msn: number; part: number | undefined },
  partsPerSegment: number,
): 'ready' | 'wait' | 'ahead' {
  if (!newest) return 'wait';
  const { segment, parts, complete } = newest;
  if (d.msn > segment + 2) return 'ahead';
  if (d.msn < segment) return 'ready';
  if (d.part === undefined) return d.msn === segment && complete ? 'ready' : 'wait';
  if (d.msn === segment && d.part < parts) return 'ready';
  const available = complete ? partsPerSegment : parts;
  const asked = (d.msn - segment) * partsPerSegment + d.part + 1;
  return asked - available > ADVANCE_PART_LIMIT ? 'ahead' : 'wait';
}
