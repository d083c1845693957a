/**
 * Past broadcasts (issue 15, ADR 0020): the hub's list of what was recorded, per channel. A row is opened when
 * the recording ingress reports a broadcast's start and closed at its end; its media is in the recording
 * storage under `<stream>/<id>/`, removed with the row (src/hub/broadcasts.ts).
 */
import { HubError } from './errors.js';
import type { Lookups, RepoContext } from './repo-context.js';
import type { BroadcastRecord, BroadcastRepo, ClipRecord, ClipRepo } from './types.js';

interface Row {
  id: string;
  stream: string;
  title: string;
  category: string;
  started_at: number;
  ended_at: number | null;
  duration_ms: number;
  bytes: number;
  peak_viewers: number;
  hidden: number;
}

const COLUMNS = 'id, stream, title, category, started_at, ended_at, duration_ms, bytes, peak_viewers, hidden';

const record = (r: Row): BroadcastRecord => ({
  id: r.id,
  stream: r.stream,
  title: r.title,
  category: r.category,
  startedAt: r.started_at,
  endedAt: r.ended_at,
  durationMs: r.duration_ms,
  bytes: r.bytes,
  peakViewers: r.peak_viewers,
  hidden: r.hidden === 1,
});

export function createBroadcastRepo(ctx: RepoContext, lookups: Lookups): BroadcastRepo {
  const { db } = ctx;
  const insert = db.prepare<[string, number, string, string, string, number]>(
    `INSERT INTO broadcasts (id, streamer_id, stream, title, category, started_at) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT DO NOTHING`,
  );
  const end = db.prepare<[number, number, number, string]>(
    'UPDATE broadcasts SET ended_at = ?, duration_ms = ?, bytes = ? WHERE id = ?',
  );
  const peak = db.prepare<[number, string, number]>(
    'UPDATE broadcasts SET peak_viewers = ? WHERE id = ? AND peak_viewers < ?',
  );
  const get = db.prepare<[string], Row>(`SELECT ${COLUMNS} FROM broadcasts WHERE id = ?`);
  const list = db.prepare<[string], Row>(
    `SELECT ${COLUMNS} FROM broadcasts WHERE streamer_id = (SELECT id FROM streamers WHERE name = ?)
     ORDER BY started_at DESC, id DESC`,
  );
  const all = db.prepare<[], Row>(`SELECT ${COLUMNS} FROM broadcasts ORDER BY started_at, id`);
  const unended = db.prepare<[], Row>(
    `SELECT ${COLUMNS} FROM broadcasts WHERE ended_at IS NULL ORDER BY started_at, id`,
  );
  const setTitle = db.prepare<[string, string]>('UPDATE broadcasts SET title = ? WHERE id = ?');
  const setHidden = db.prepare<[number, string]>('UPDATE broadcasts SET hidden = ? WHERE id = ?');
  const del = db.prepare<[string]>('DELETE FROM broadcasts WHERE id = ?');

  const require = (id: string): BroadcastRecord => {
    const r = typeof id === 'string' ? get.get(id) : undefined;
    if (!r) throw new HubError('NOT_FOUND', 'no such broadcast', { broadcast: String(id).slice(0, 80) });
    return record(r);
  };

  return {
    start(b) {
      const s = lookups.requireStreamerId(b.stream);
      insert.run(b.id, s, b.stream, b.title, b.category, b.startedAt);
      return require(b.id);
    },
    end(id, e) {
      require(id);
      end.run(e.endedAt, Math.max(0, Math.round(e.durationMs)), Math.max(0, Math.round(e.bytes)), id);
      return require(id);
    },
    notePeak(id, viewers) {
      peak.run(viewers, id, viewers);
    },
    get(id) {
      const r = typeof id === 'string' ? get.get(id) : undefined;
      return r ? record(r) : undefined;
    },
    list(stream) {
      return list.all(stream).map(record);
    },
    all() {
      return all.all().map(record);
    },
    unended() {
      return unended.all().map(record);
    },
    update(id, patch) {
      db.transaction(() => {
        require(id);
        if (patch.title !== undefined) setTitle.run(patch.title, id);
        if (patch.hidden !== undefined) setHidden.run(patch.hidden ? 1 : 0, id);
      })();
      return require(id);
    },
    remove(id) {
      return del.run(id).changes > 0;
    },
  };
}

interface ClipRow {
  id: string;
  broadcast_id: string;
  stream: string;
  title: string;
  created_by: string;
  created_at: number;
  start_ms: number;
  duration_ms: number;
  bytes: number;
}

const clipRecord = (r: ClipRow): ClipRecord => ({
  id: r.id,
  broadcastId: r.broadcast_id,
  stream: r.stream,
  title: r.title,
  createdBy: r.created_by,
  createdAt: r.created_at,
  startMs: r.start_ms,
  durationMs: r.duration_ms,
  bytes: r.bytes,
});

const CLIP_COLUMNS =
  'c.id, c.broadcast_id, b.stream, c.title, c.created_by, c.created_at, c.start_ms, c.duration_ms, c.bytes';

/** Clips of broadcasts: rows go with their broadcast (ON DELETE CASCADE), as their media does. */
export function createClipRepo(ctx: RepoContext): ClipRepo {
  const { db } = ctx;
  const insert = db.prepare<[string, string, string, string, number, number, number, number]>(
    `INSERT INTO clips (id, broadcast_id, title, created_by, created_at, start_ms, duration_ms, bytes)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const get = db.prepare<[string], ClipRow>(
    `SELECT ${CLIP_COLUMNS} FROM clips c JOIN broadcasts b ON b.id = c.broadcast_id WHERE c.id = ?`,
  );
  const list = db.prepare<[string], ClipRow>(
    `SELECT ${CLIP_COLUMNS} FROM clips c JOIN broadcasts b ON b.id = c.broadcast_id WHERE b.stream = ?
     ORDER BY c.created_at DESC, c.id`,
  );
  const countBy = db.prepare<[string, number], { n: number }>(
    'SELECT count(*) AS n FROM clips WHERE created_by = ? AND created_at >= ?',
  );
  const del = db.prepare<[string]>('DELETE FROM clips WHERE id = ?');
  return {
    add(c) {
      insert.run(c.id, c.broadcastId, c.title, c.createdBy, c.createdAt, c.startMs, c.durationMs, c.bytes);
      const row = get.get(c.id);
      if (!row) throw new HubError('NOT_FOUND', 'no such broadcast', { broadcast: c.broadcastId });
      return clipRecord(row);
    },
    get(id) {
      const r = typeof id === 'string' ? get.get(id) : undefined;
      return r ? clipRecord(r) : undefined;
    },
    list(stream) {
      return list.all(stream).map(clipRecord);
    },
    countBy(createdBy, since) {
      return countBy.get(createdBy, since)?.n ?? 0;
    },
    remove(id) {
      return del.run(id).changes > 0;
    },
  };
}
