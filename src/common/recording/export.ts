/**
 * A recording (or a range of it) as one MP4 file (issue 15): for the admin CLI's `recording export` and for
 * clips. Nothing is re-encoded. Each epoch's chosen video rendition and its audio are copied from their
 * init and CMAF segments into an MP4 by ffmpeg (`-c copy`). Epochs are then joined end to end with the
 * concat demuxer. The file gets `+faststart`, so a browser plays it before it has all of it.
 *
 * A range is cut at segment boundaries, and every segment starts with a keyframe: the cut needs no
 * re-encode, and it may start up to one segment before the asked-for time.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TiercastError } from '../errors/index.js';
import { byQuality, type RenditionInfo } from '../media.js';
import type { ObjectStore } from '../storage/object-store.js';
import { epochs, playableRenditions, type EpochView, type RecordingTimeline } from './playback.js';
import type { IndexEntry } from './stream-recorder.js';

export interface ExportOptions {
  store: Pick<ObjectStore, 'get'>;
  /** `<stream>/<id>`: where the recording is. */
  base: string;
  timeline: RecordingTimeline;
  out: string;
  /** A video rendition id; default the best one recorded in every epoch. */
  rendition?: string;
  /** Seconds from the start of the recording (epochs end to end); default the whole recording. */
  from?: number;
  to?: number;
  ffmpegPath?: string;
  timeoutMs?: number;
}

export interface ExportResult {
  out: string;
  rendition: string | undefined;
  /** Seconds of media in the file (whole segments). */
  seconds: number;
  /** Where the file starts, in seconds of the recording (a segment boundary at or before `from`). */
  startsAt: number;
}

const pad = (n: number) => String(n).padStart(8, '0');

/** The segments of `list` that overlap [from, to), in seconds of the epoch starting at `epochStart`. */
function inRange(list: IndexEntry[], timescale: number, epochStart: number, from: number, to: number) {
  const first = list[0]?.decodeTime ?? 0;
  return list.filter((s) => {
    const start = epochStart + (s.decodeTime - first) / timescale;
    const end = start + s.duration / timescale;
    return end > from && start < to;
  });
}

export async function exportMp4(o: ExportOptions): Promise<ExportResult> {
  const views = epochs(o.timeline);
  const playable = playableRenditions(views);
  const video = playable.filter((r) => r.kind === 'video').sort(byQuality);
  const audio = playable.find((r) => r.kind === 'audio');
  const chosen = o.rendition ? video.find((r) => r.id === o.rendition) : video[0];
  if (o.rendition && !chosen)
    throw new TiercastError('INVALID_VALUE', `the recording has no video rendition ${o.rendition}`, {
      renditions: video.map((r) => r.id).join(' '),
    });
  const total = views.reduce((s, v) => s + v.durationS, 0);
  const from = Math.max(0, o.from ?? 0);
  const to = Math.min(total, o.to ?? total);
  if (!(to > from))
    throw new TiercastError('INVALID_VALUE', 'the range is outside the recording', { from, to, total });

  const dir = await mkdtemp(join(tmpdir(), 'tiercast-export-'));
  try {
    const parts: string[] = [];
    let epochStart = 0;
    let startsAt: number | undefined;
    let seconds = 0;
    for (const v of views) {
      const tracks = [chosen, audio].filter((r): r is RenditionInfo => r !== undefined);
      const files: string[] = [];
      let epochSeconds = 0;
      for (const r of tracks) {
        const list = inRange(v.segments.get(r.id) ?? [], r.timescale, epochStart, from, to);
        if (!list.length) continue;
        const file = join(dir, `e${v.epoch}-${r.id}.mp4`);
        await writeFile(file, await track(o, v, r, list));
        files.push(file);
        if (r === tracks[0]) {
          const first = v.segments.get(r.id)![0]!.decodeTime;
          startsAt ??= epochStart + (list[0]!.decodeTime - first) / r.timescale;
          epochSeconds = list.reduce((s, x) => s + x.duration, 0) / r.timescale;
        }
      }
      epochStart += v.durationS;
      if (!files.length) continue;
      seconds += epochSeconds;
      const part = join(dir, `e${v.epoch}.mp4`);
      // prettier-ignore
      await ffmpeg(o, ['-y', ...files.flatMap((f) => ['-i', f]), ...files.flatMap((_f, i) => ['-map', `${i}`]), '-c', 'copy', part]);
      parts.push(part);
    }
    if (!parts.length)
      throw new TiercastError('INVALID_VALUE', 'nothing was recorded in that range', { from, to });
    const list = join(dir, 'parts.txt');
    await writeFile(list, parts.map((p) => `file '${p}'`).join('\n'));
    // prettier-ignore
    await ffmpeg(o, ['-y', '-f', 'concat', '-safe', '0', '-i', list, '-map', '0', '-c', 'copy', '-movflags', '+faststart', o.out]);
    return { out: o.out, rendition: chosen?.id, seconds, startsAt: startsAt ?? from };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** One track of one epoch: its init segment, then its segments in order (a fragmented MP4). */
async function track(o: ExportOptions, v: EpochView, r: RenditionInfo, list: IndexEntry[]): Promise<Buffer> {
  const keys = [`${r.id}/init-${v.epoch}.mp4`, ...list.map((s) => `${r.id}/${pad(s.segment)}.m4s`)];
  const parts: Buffer[] = [];
  for (const k of keys) {
    const data = await o.store.get(`${o.base}/${k}`);
    if (!data)
      throw new TiercastError('STORAGE_UNAVAILABLE', 'a part of the recording is missing from storage', {
        key: k,
      });
    parts.push(data);
  }
  return Buffer.concat(parts);
}

/** A short ffmpeg job (killed after the timeout); its error output goes into the error. */
function ffmpeg(o: ExportOptions, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      o.ffmpegPath ?? 'ffmpeg',
      ['-hide_banner', '-nostdin', '-v', 'error', ...args],
      { timeout: o.timeoutMs ?? 120_000, maxBuffer: 1024 * 1024 },
      (err, _stdout, stderr) => {
        if (!err) return resolve();
        const code =
          (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'PROCESS_START_FAILED' : 'PROCESS_DIED';
        reject(
          new TiercastError(
            code,
            `ffmpeg could not write the MP4: ${String(stderr).trim().slice(0, 300) || err.message}`,
          ),
        );
      },
    );
  });
}
