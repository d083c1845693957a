/**
 * What a recording storage holds (issue 15): its broadcasts, found by their `broadcast.json`, for the admin
 * CLI (`node-role recording list`). Works on the storage alone, with or without a hub.
 */
import type { ObjectStore } from '../storage/object-store.js';
import { readRecording, recordedSeconds } from './playback.js';
import { isBroadcastId } from './stream-recorder.js';

export interface RecordingEntry {
  stream: string;
  id: string;
  startedAt: number;
  endedAt: number | null;
  /** Transcoder epochs (1 + restarts). */
  epochs: number;
  /** Seconds of media recorded (epochs end to end). */
  seconds: number;
  bytes: number;
  renditions: string[];
}

/** Every recording in the store (of one stream when `stream` is given), oldest first. */
export async function listRecordings(store: ObjectStore, stream?: string): Promise<RecordingEntry[]> {
  const objects = await store.list(stream ? `${stream}/` : '');
  const bytes = new Map<string, number>();
  const found: Array<{ stream: string; id: string }> = [];
  for (const o of objects) {
    const [s, id, rest] = o.key.split('/', 3);
    if (!s || !isBroadcastId(id)) continue;
    const base = `${s}/${id}`;
    bytes.set(base, (bytes.get(base) ?? 0) + o.size);
    if (rest === 'broadcast.json') found.push({ stream: s, id });
  }
  const out: RecordingEntry[] = [];
  for (const f of found) {
    const t = await readRecording(store, f.stream, f.id);
    if (!t) continue;
    out.push({
      stream: f.stream,
      id: f.id,
      startedAt: t.manifest.startedAt,
      endedAt: t.manifest.endedAt ?? null,
      epochs: t.manifest.epochs.length,
      seconds: Math.round(recordedSeconds(t) * 10) / 10,
      bytes: bytes.get(`${f.stream}/${f.id}`) ?? 0,
      renditions: [...new Set(t.manifest.epochs.flatMap((e) => e.renditions.map((r) => r.id)))],
    });
  }
  return out.sort((a, b) => a.startedAt - b.startedAt || (a.id < b.id ? -1 : 1));
}
