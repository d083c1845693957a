/**
 * Pure LL-DASH manifest builder. One Period on a continuous timeline anchored at availabilityStartTime
 * (media time 0 = the wall-clock time ingress received the first frame), SegmentTemplate with $Number$:
 * segment n covers [n·d, (n+1)·d). availabilityTimeOffset lets players ask for a segment as soon as its
 * first chunk exists; the edge then streams it with chunked transfer (availabilityTimeComplete="false").
 */
import { byQuality, type RenditionInfo, type StreamInfo } from '../common/media.js';

export interface MpdOptions {
  /** URL of the edge's /time endpoint (UTCTiming): from configuration, or relative. Never from a request. */
  timeUrl: string;
  targetLatencyMs: number;
  /** Segments the edge keeps: the time-shift window. */
  cacheSegments: number;
  /** Milliseconds added to the anchor (availabilityStartTime, ProducerReferenceTime with it): anchorShiftMs(). */
  anchorShiftMs?: number;
  now?: number;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function seconds(ms: number): string {
  return `PT${(ms / 1000).toFixed(3).replace(/\.?0+$/, '')}S`;
}

function attr(name: string, value: string | number | undefined): string {
  if (value === undefined) return '';
  return ` ${name}="${String(value).replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;')}"`;
}

function adaptationSet(id: number, kind: 'video' | 'audio', reps: RenditionInfo[], info: StreamInfo): string {
  const first = reps[0]!;
  const ts = first.timescale;
  const d = info.segmentDurationMs;
  const ato = (d - info.chunkDurationMs) / 1000;
  const lines: string[] = [];
  lines.push(
    `    <AdaptationSet${attr('id', id)}${attr('contentType', kind)} mimeType="${kind}/mp4" segmentAlignment="true" startWithSAP="1"${
      kind === 'video'
        ? ' maxWidth="' +
          Math.max(...reps.map((r) => r.width ?? 0)) +
          '" maxHeight="' +
          Math.max(...reps.map((r) => r.height ?? 0)) +
          '"'
        : ''
    }>`,
  );
  lines.push(
    `      <ProducerReferenceTime id="${id}" type="encoder" wallClockTime="${iso(info.availabilityStartTime)}" presentationTime="0"/>`,
  );
  if (kind === 'audio') lines.push('      <Role schemeIdUri="urn:mpeg:dash:role:2011" value="main"/>');
  lines.push(
    `      <SegmentTemplate timescale="${ts}" duration="${Math.round((d / 1000) * ts)}" startNumber="0" presentationTimeOffset="0"` +
      ` initialization="$RepresentationID$/init.mp4" media="$RepresentationID$/$Number$.m4s"` +
      ` availabilityTimeOffset="${ato.toFixed(3)}" availabilityTimeComplete="false"/>`,
  );
  for (const r of reps) {
    if (r.timescale !== ts) continue; // one SegmentTemplate timescale per set; the ladder shares it
    lines.push(
      `      <Representation${attr('id', r.id)}${attr('codecs', r.codecs)}${attr('bandwidth', r.bandwidth)}${attr('width', r.width)}${attr(
        'height',
        r.height,
      )}${attr('frameRate', r.frameRate ? Math.round(r.frameRate * 1000) / 1000 : undefined)}${attr('audioSamplingRate', r.sampleRate)}>` +
        (r.channels
          ? `<AudioChannelConfiguration schemeIdUri="urn:mpeg:dash:23003:3:audio_channel_configuration:2011" value="${r.channels}"/>`
          : '') +
        `</Representation>`,
    );
  }
  lines.push('    </AdaptationSet>');
  return lines.join('\n');
}

/**
 * Where a late stream's MPD anchors. Segment N is announced at availabilityStartTime + (N + 1) × duration;
 * a transcoder slower than real time (an overloaded ingress) or a source whose clock runs slow delivers
 * every segment later than that, and a client that computes the live edge from the clock (ffmpeg, GStreamer,
 * dash.js at start) asks for segments that do not exist yet. When the newest media is more than a segment
 * behind (`lagMs`, StreamRelay.mediaLagMs), the anchor moves by the lag less one chunk (the newest chunk's
 * own age), in whole 100 ms: such clients start where the media is. A stream that keeps up is untouched.
 */
export function anchorShiftMs(info: StreamInfo, lagMs: number | undefined): number {
  if (lagMs === undefined || lagMs <= info.segmentDurationMs) return 0;
  return Math.floor((lagMs - info.chunkDurationMs) / 100) * 100;
}

export function buildMpd(timelineInfo: StreamInfo, opts: MpdOptions): string {
  const now = opts.now ?? Date.now();
  const shift = opts.anchorShiftMs ?? 0;
  const info = shift
    ? { ...timelineInfo, availabilityStartTime: timelineInfo.availabilityStartTime + shift }
    : timelineInfo;
  const video = info.renditions.filter((r) => r.kind === 'video').sort(byQuality);
  const audio = info.renditions.filter((r) => r.kind === 'audio');
  const windowMs = Math.max(2, opts.cacheSegments - 2) * info.segmentDurationMs;
  const sets: string[] = [];
  if (video.length) sets.push(adaptationSet(0, 'video', video, info));
  if (audio.length) sets.push(adaptationSet(1, 'audio', audio, info));
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-live:2011,urn:mpeg:dash:profile:cmaf:2019"` +
      ` type="dynamic" availabilityStartTime="${iso(info.availabilityStartTime)}" publishTime="${iso(now)}"` +
      ` minimumUpdatePeriod="PT30S" maxSegmentDuration="${seconds(Math.ceil(info.segmentDurationMs))}" minBufferTime="${seconds(info.chunkDurationMs * 2)}"` +
      ` timeShiftBufferDepth="${seconds(windowMs)}">`,
    `  <ServiceDescription id="0">`,
    `    <Latency referenceId="0" target="${opts.targetLatencyMs}" min="${Math.round(opts.targetLatencyMs / 2)}" max="${opts.targetLatencyMs * 3}"/>`,
    `    <PlaybackRate min="0.95" max="1.05"/>`,
    `  </ServiceDescription>`,
    `  <Period id="0" start="PT0S">`,
    ...sets,
    '  </Period>',
    `  <UTCTiming schemeIdUri="urn:mpeg:dash:utc:http-iso:2014"${attr('value', opts.timeUrl)}/>`,
    '</MPD>',
    '',
  ].join('\n');
}

/** Where DASH players read the edge's clock (UTCTiming): under the public URL when one is configured. */
export function timeUrlOf(publicUrl: string | undefined): string {
  return publicUrl ? `${publicUrl.replace(/\/+$/, '')}/time` : '/time';
}
