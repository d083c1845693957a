/**
 * Playing a recording back (issue 15, ADR 0020): its layout (stream-recorder.ts) read from storage into a
 * timeline, and the static documents a player needs: a DASH MPD (type="static", one Period per transcoder
 * epoch, each with its own init segment and an explicit SegmentTimeline) and HLS VOD playlists (one
 * EXT-X-MAP per epoch, EXT-X-DISCONTINUITY between epochs and across a segment that was not recorded).
 *
 * Periods are laid end to end: a transcoder restart shows as the cut from one epoch's last frame to the next
 * one's first, never as a hole a player would stall in. The documents only name files of the recording
 * (`<rendition>/init-<epoch>.mp4`, `<rendition>/<segment 8 digits>.m4s`), relative to the document.
 */
import { byQuality, type RenditionInfo } from '../media.js';
import type { ObjectStore } from '../storage/object-store.js';
import { INDEX_BLOCK, type BroadcastManifest, type IndexEntry } from './stream-recorder.js';

export interface RecordingTimeline {
  manifest: BroadcastManifest;
  /** Per rendition, its recorded segments in order (each once). */
  segments: Map<string, IndexEntry[]>;
  /** Per rendition, the last index block read (readRecording with `prev` starts there). */
  blocksRead?: Map<string, number>;
}

export interface EpochView {
  epoch: number;
  renditions: RenditionInfo[];
  /** Per rendition, the epoch's segments. */
  segments: Map<string, IndexEntry[]>;
  /** Seconds: the longest rendition of the epoch. */
  durationS: number;
}

const pad = (n: number) => String(n).padStart(8, '0');

/**
 * The recording at `<stream>/<id>/`, or undefined when it has no broadcast.json. With `prev` (an earlier
 * read of the same recording, still being written), only the index blocks from the last one `prev` read on
 * are read again: a full block (64 segments) never changes, so a live recording is followed with one list
 * and a read or two per rendition.
 */
export async function readRecording(
  store: Pick<ObjectStore, 'get' | 'list'>,
  stream: string,
  id: string,
  prev?: RecordingTimeline,
): Promise<RecordingTimeline | undefined> {
  const base = `${stream}/${id}`;
  const raw = await store.get(`${base}/broadcast.json`);
  if (!raw) return undefined;
  // A recording being written may be read while one of its objects is replaced: a store that is not
  // atomic for readers (s3rver, a network file system) can then give a torn copy. The last good read
  // stands in for it, and the object is read again next time.
  const manifest = parseJson<BroadcastManifest>(raw) ?? prev?.manifest;
  if (!manifest) throw new Error(`${base}/broadcast.json cannot be read as a recording manifest`);
  const segments = new Map<string, IndexEntry[]>();
  const blocksRead = new Map<string, number>();
  const ids = new Set(manifest.epochs.flatMap((e) => e.renditions.map((r) => r.id)));
  for (const r of ids) {
    const blocks = (await store.list(`${base}/${r}/index-`)).map((o) => o.key);
    const bySegment = new Map<number, IndexEntry>();
    // Blocks before the last one read earlier are full: their entries are taken from `prev`.
    const from = prev?.blocksRead?.get(r) ?? 0;
    const earlier = prev?.segments.get(r) ?? [];
    for (const e of earlier) if (Math.floor(e.segment / INDEX_BLOCK) < from) bySegment.set(e.segment, e);
    let last = from;
    for (const key of blocks) {
      const n = Number(/index-(\d+)\.json$/.exec(key)?.[1] ?? -1);
      if (n < from) continue;
      const block = await store.get(key);
      const entries = block ? parseJson<IndexEntry[]>(block) : undefined;
      if (!entries) {
        // Torn or gone: what was known of this block stays, and the next read starts here again.
        for (const e of earlier) if (Math.floor(e.segment / INDEX_BLOCK) === n) bySegment.set(e.segment, e);
        break;
      }
      for (const e of entries) bySegment.set(e.segment, e);
      last = Math.max(last, n);
    }
    blocksRead.set(r, last);
    segments.set(
      r,
      [...bySegment.values()].sort((a, b) => a.segment - b.segment),
    );
  }
  return { manifest, segments, blocksRead };
}

/** JSON of a timeline object, or undefined when it does not parse (torn while it was being replaced). */
function parseJson<T>(data: Buffer): T | undefined {
  try {
    return JSON.parse(data.toString('utf8')) as T;
  } catch {
    return undefined;
  }
}

/** The recording cut into its epochs, each with what it recorded (epochs with no segment left out). */
export function epochs(t: RecordingTimeline): EpochView[] {
  const out: EpochView[] = [];
  for (const e of t.manifest.epochs) {
    const segments = new Map<string, IndexEntry[]>();
    let durationS = 0;
    for (const r of e.renditions) {
      const list = (t.segments.get(r.id) ?? []).filter((s) => s.epoch === e.epoch);
      if (!list.length) continue;
      segments.set(r.id, list);
      durationS = Math.max(durationS, list.reduce((sum, s) => sum + s.duration, 0) / r.timescale);
    }
    if (segments.size) out.push({ epoch: e.epoch, renditions: e.renditions, segments, durationS });
  }
  return out;
}

/** Renditions present in every epoch: the ones a player can keep for the whole recording. */
export function playableRenditions(views: EpochView[]): RenditionInfo[] {
  if (!views.length) return [];
  return views[0]!.renditions.filter((r) => views.every((v) => v.segments.has(r.id)));
}

/** Seconds of media recorded, epochs end to end. */
export function recordedSeconds(t: RecordingTimeline): number {
  return epochs(t).reduce((sum, v) => sum + v.durationS, 0);
}

function esc(v: string | number): string {
  return String(v).replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}

function isoDuration(s: number): string {
  return `PT${s.toFixed(3)}S`;
}

/** A SegmentTimeline: a run of segments of one length is one S with `r`; `t` wherever a run does not follow on. */
function segmentTimeline(list: IndexEntry[]): string {
  const out: string[] = [];
  let run: { t: number; d: number; r: number; explicit: boolean } | undefined;
  const flush = () => {
    if (!run) return;
    out.push(`<S${run.explicit ? ` t="${run.t}"` : ''} d="${run.d}"${run.r ? ` r="${run.r}"` : ''}/>`);
  };
  for (const s of list) {
    const end = run ? run.t + run.d * (run.r + 1) : undefined;
    if (run && s.decodeTime === end && s.duration === run.d) {
      run.r++;
      continue;
    }
    flush();
    run = { t: s.decodeTime, d: s.duration, r: 0, explicit: s.decodeTime !== end };
  }
  flush();
  return out.join('');
}

/**
 * The static MPD. A Representation whose segment numbers run without a hole in the epoch addresses them with
 * a SegmentTemplate ($Number$); one with a segment that was not recorded lists its segments (SegmentList),
 * since $Number$ would name the missing one. Both carry the SegmentTimeline of what was recorded.
 */
export function buildStaticMpd(t: RecordingTimeline): string {
  const views = epochs(t);
  const total = views.reduce((sum, v) => sum + v.durationS, 0);
  let start = 0;
  const periods = views.map((v) => {
    const p = { view: v, start, duration: v.durationS };
    start += v.durationS;
    return p;
  });
  return mpdDocument(
    `type="static" mediaPresentationDuration="${isoDuration(total)}" minBufferTime="PT2S"`,
    periods,
    playableRenditions(views),
  );
}

/**
 * A broadcast still being recorded as a dynamic MPD a DASH player can rewind in: `timeShiftBufferDepth` is
 * the DVR window (`windowS`), and only the segments of that window are listed. Each epoch is a Period that
 * starts at the wall-clock time its first segment reached the ingress, measured from the broadcast's start
 * (availabilityStartTime), so the live end a player computes from its clock is where the recording ends.
 * The MPD is fetched again every `minimumUpdatePeriod` as the recording grows.
 */
export function buildLiveRecordingMpd(
  t: RecordingTimeline,
  opts: { windowS: number; now: number; timeUrl: string },
): string {
  const views = epochs(t);
  const playable = playableRenditions(views);
  const anchor = t.manifest.startedAt;
  const since = opts.now - opts.windowS * 1000;
  const periods: Array<{ view: EpochView; start: number; duration?: number; offsets?: Map<string, number> }> =
    [];
  for (const v of views) {
    const begins = Math.min(...[...v.segments.values()].map((l) => l[0]!.ingressTime));
    // Media time at the Period's start: each rendition's first segment of the epoch, slid out or not.
    const offsets = new Map([...v.segments].map(([id, l]) => [id, l[0]!.decodeTime]));
    const segments = new Map<string, IndexEntry[]>();
    for (const [id, list] of v.segments) {
      const r = v.renditions.find((x) => x.id === id)!;
      const kept = list.filter((s) => s.ingressTime + (s.duration / r.timescale) * 1000 >= since);
      if (kept.length) segments.set(id, kept);
    }
    // At the window's oldest end one rendition may have slid out of an epoch before another: that epoch
    // is offered only while every rendition still has some of it.
    if (playable.every((r) => segments.has(r.id)))
      periods.push({ view: { ...v, segments }, start: Math.max(0, begins - anchor) / 1000, offsets });
  }
  const segmentS = t.manifest.segmentDurationMs / 1000;
  return mpdDocument(
    `type="dynamic" availabilityStartTime="${new Date(anchor).toISOString()}" publishTime="${new Date(opts.now).toISOString()}"` +
      ` minimumUpdatePeriod="PT${segmentS.toFixed(3)}S" timeShiftBufferDepth="${isoDuration(opts.windowS)}"` +
      ` suggestedPresentationDelay="${isoDuration(segmentS * 3)}" minBufferTime="PT2S"`,
    periods,
    playable,
    `  <UTCTiming schemeIdUri="urn:mpeg:dash:utc:http-iso:2014" value="${esc(opts.timeUrl)}"/>`,
  );
}

function mpdDocument(
  attributes: string,
  periods: Array<{ view: EpochView; start: number; duration?: number; offsets?: Map<string, number> }>,
  playable: RenditionInfo[],
  trailer?: string,
): string {
  const keep = new Set(playable.map((r) => r.id));
  const lines = [
    '<?xml version="1.0" encoding="utf-8"?>',
    `<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-live:2011" ${attributes}>`,
  ];
  for (const { view: v, start, duration, offsets } of periods) {
    lines.push(
      `  <Period id="${v.epoch}" start="${isoDuration(start)}"${duration === undefined ? '' : ` duration="${isoDuration(duration)}"`}>`,
    );
    const reps = v.renditions.filter((r) => keep.has(r.id));
    const video = reps.filter((r) => r.kind === 'video').sort(byQuality);
    const audio = reps.filter((r) => r.kind === 'audio');
    let set = 0;
    for (const [kind, group] of [
      ['video', video],
      ['audio', audio],
    ] as const) {
      if (!group.length) continue;
      lines.push(
        `    <AdaptationSet id="${set++}" contentType="${kind}" mimeType="${kind}/mp4" segmentAlignment="true" startWithSAP="1">`,
      );
      if (kind === 'audio') lines.push('      <Role schemeIdUri="urn:mpeg:dash:role:2011" value="main"/>');
      for (const r of group) lines.push(representation(r, v, offsets?.get(r.id)));
      lines.push('    </AdaptationSet>');
    }
    lines.push('  </Period>');
  }
  if (trailer) lines.push(trailer);
  lines.push('</MPD>');
  return `${lines.join('\n')}\n`;
}

/** `offset`: the media time at the Period's start (the first segment listed, unless said). */
function representation(r: RenditionInfo, v: EpochView, offset?: number): string {
  const list = v.segments.get(r.id)!;
  const attrs = [
    `id="${esc(r.id)}"`,
    `codecs="${esc(r.codecs)}"`,
    `bandwidth="${r.bandwidth}"`,
    r.width ? `width="${r.width}"` : '',
    r.height ? `height="${r.height}"` : '',
    r.frameRate ? `frameRate="${Math.round(r.frameRate * 1000) / 1000}"` : '',
    r.sampleRate ? `audioSamplingRate="${r.sampleRate}"` : '',
  ].filter(Boolean);
  const channels = r.channels
    ? `<AudioChannelConfiguration schemeIdUri="urn:mpeg:dash:23003:3:audio_channel_configuration:2011" value="${r.channels}"/>`
    : '';
  const first = list[0]!;
  const init = `${esc(r.id)}/init-${v.epoch}.mp4`;
  const contiguous = list.every((s, i) => i === 0 || s.segment === list[i - 1]!.segment + 1);
  const timing = `timescale="${r.timescale}" presentationTimeOffset="${offset ?? first.decodeTime}"`;
  const body = contiguous
    ? `<SegmentTemplate ${timing} startNumber="${first.segment}" initialization="${init}"` +
      ` media="${esc(r.id)}/$Number%08d$.m4s"><SegmentTimeline>${segmentTimeline(list)}</SegmentTimeline></SegmentTemplate>`
    : `<SegmentList ${timing}><Initialization sourceURL="${init}"/><SegmentTimeline>${segmentTimeline(list)}</SegmentTimeline>` +
      list.map((s) => `<SegmentURL media="${esc(r.id)}/${pad(s.segment)}.m4s"/>`).join('') +
      '</SegmentList>';
  return `      <Representation ${attrs.join(' ')}>${channels}${body}</Representation>`;
}

/** The HLS master playlist: every video rendition of the whole recording, audio as a group. */
export function buildVodMaster(t: RecordingTimeline): string {
  const reps = playableRenditions(epochs(t));
  const video = reps.filter((r) => r.kind === 'video').sort(byQuality);
  const audio = reps.filter((r) => r.kind === 'audio');
  const q = (s: string) => `"${s.replace(/"/g, '')}"`;
  const lines = ['#EXTM3U', '#EXT-X-VERSION:7', '#EXT-X-INDEPENDENT-SEGMENTS'];
  audio.forEach((a, i) =>
    lines.push(
      `#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME=${q(a.id)},LANGUAGE="und",DEFAULT=${i === 0 ? 'YES' : 'NO'},AUTOSELECT=YES` +
        `${a.channels ? `,CHANNELS="${a.channels}"` : ''},URI=${q(`${a.id}/playlist.m3u8`)}`,
    ),
  );
  const audioBandwidth = Math.max(0, ...audio.map((a) => a.bandwidth));
  for (const v of video) {
    const attrs = [
      `BANDWIDTH=${Math.round((v.bandwidth + audioBandwidth) * 1.1)}`,
      `CODECS=${q([v.codecs, audio[0]?.codecs].filter(Boolean).join(','))}`,
    ];
    if (v.width && v.height) attrs.push(`RESOLUTION=${v.width}x${v.height}`);
    if (v.frameRate) attrs.push(`FRAME-RATE=${v.frameRate.toFixed(3)}`);
    if (audio.length) attrs.push('AUDIO="audio"');
    lines.push(`#EXT-X-STREAM-INF:${attrs.join(',')}`, `${v.id}/playlist.m3u8`);
  }
  if (!video.length)
    for (const a of audio)
      lines.push(
        `#EXT-X-STREAM-INF:BANDWIDTH=${Math.round(a.bandwidth * 1.1)},CODECS=${q(a.codecs)}`,
        `${a.id}/playlist.m3u8`,
      );
  return `${lines.join('\n')}\n`;
}

interface PlaylistItem {
  s: IndexEntry;
  epoch: number;
  seconds: number;
  /** A cut in time before it: a new epoch after the first, or a segment that was not recorded. */
  cut: boolean;
  newEpoch: boolean;
}

/** A rendition's segments in playing order, or undefined when it is not playable over the whole recording. */
function playlistItems(t: RecordingTimeline, rendition: string): PlaylistItem[] | undefined {
  const views = epochs(t);
  if (!playableRenditions(views).some((r) => r.id === rendition)) return undefined;
  const items: PlaylistItem[] = [];
  views.forEach((v, i) => {
    const r = v.renditions.find((x) => x.id === rendition)!;
    const list = v.segments.get(rendition)!;
    list.forEach((s, j) => {
      const prev = list[j - 1];
      items.push({
        s,
        epoch: v.epoch,
        seconds: s.duration / r.timescale,
        newEpoch: j === 0,
        cut: (j === 0 && i > 0) || (prev !== undefined && prev.decodeTime + prev.duration !== s.decodeTime),
      });
    });
  });
  return items;
}

/** The first item of a sliding window of the last `windowS` seconds. */
function windowStart(items: PlaylistItem[], windowS: number): number {
  let first = 0;
  let kept = items.reduce((sum, x) => sum + x.seconds, 0);
  while (first < items.length - 1 && kept > windowS) kept -= items[first++]!.seconds;
  return first;
}

/**
 * What a viewer can rewind to (the watch page's seek bar): the wall-clock span, in ms, from the first segment
 * of the playlists' window to the end of the newest segment, of the top playable rendition. Undefined while
 * nothing is recorded. For an ended recording, the whole of it.
 */
export function recordedWindow(
  t: RecordingTimeline,
  opts: { live: boolean; windowS: number },
): { from: number; to: number } | undefined {
  const top = playableRenditions(epochs(t))
    .filter((r) => r.kind === 'video')
    .sort(byQuality)[0];
  const items = top ? playlistItems(t, top.id) : undefined;
  const last = items?.at(-1);
  if (!items || !last) return undefined;
  const first = items[opts.live ? windowStart(items, opts.windowS) : 0]!;
  return { from: first.s.ingressTime, to: last.s.ingressTime + last.seconds * 1000 };
}

/**
 * A rendition's media playlist, or undefined when the recording has no such rendition. An ended recording
 * is a VOD playlist. One still being written (`live`) has no end and grows: an EVENT playlist while it is
 * shorter than `windowS`, past that a sliding window of the last `windowS` seconds (MEDIA-SEQUENCE and
 * DISCONTINUITY-SEQUENCE count what slid out), so a player can rewind a live broadcast that far.
 */
export function buildVodPlaylist(
  t: RecordingTimeline,
  rendition: string,
  opts: { live?: boolean; windowS?: number } = {},
): string | undefined {
  const items = playlistItems(t, rendition);
  if (!items) return undefined;
  const first = opts.live && opts.windowS !== undefined ? windowStart(items, opts.windowS) : 0;
  const shown = items.slice(first);
  const slid = items.slice(0, first);
  const body: string[] = [];
  let target = 1;
  shown.forEach((x, i) => {
    if (x.cut && i > 0) body.push('#EXT-X-DISCONTINUITY');
    if (x.newEpoch || i === 0) body.push(`#EXT-X-MAP:URI="init-${x.epoch}.mp4"`);
    // The wall-clock time at each start and cut: a chat replay (and a rewind) follows the picture by it.
    if (x.cut || x.newEpoch || i === 0)
      body.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(x.s.ingressTime).toISOString()}`);
    target = Math.max(target, Math.ceil(x.seconds));
    body.push(`#EXTINF:${x.seconds.toFixed(5)},`, `${pad(x.s.segment)}.m4s`);
  });
  const type = !opts.live ? 'VOD' : first === 0 ? 'EVENT' : undefined;
  return [
    '#EXTM3U',
    '#EXT-X-VERSION:7',
    `#EXT-X-TARGETDURATION:${target}`,
    ...(type ? [`#EXT-X-PLAYLIST-TYPE:${type}`] : []),
    `#EXT-X-MEDIA-SEQUENCE:${first}`,
    `#EXT-X-DISCONTINUITY-SEQUENCE:${slid.filter((x) => x.cut).length}`,
    '#EXT-X-INDEPENDENT-SEGMENTS',
    ...body,
    ...(opts.live ? [] : ['#EXT-X-ENDLIST']),
    '',
  ].join('\n');
}
