/**
 * Analytics rows (issue 16, ADR 0021): lives, viewer samples, chat and follow activity, unique keys. Reads by
 * channel or, with `null`, over every channel (the operator's view). Rows are folded and deleted by time only,
 * so what a query reads is bounded by the retention whatever the traffic.
 */
import { HyperLogLog } from '../analytics/hyperloglog.js';
import type { Statement } from './db.js';
import type { Lookups, RepoContext } from './repo-context.js';
import type {
  AnalyticsActivity,
  AnalyticsLive,
  AnalyticsRepo,
  AnalyticsSample,
  AnalyticsUniqueKind,
} from './types.js';

interface LiveRow {
  id: string;
  channel: string;
  started_at: number;
  ended_at: number | null;
}

const live = (r: LiveRow): AnalyticsLive => ({
  id: r.id,
  channel: r.channel,
  startedAt: r.started_at,
  ...(r.ended_at !== null ? { endedAt: r.ended_at } : {}),
});

interface SeriesRow {
  bucket: number;
  name: string;
  viewerSeconds: number;
}

const LIVE_COLUMNS = 'l.id, s.name AS channel, l.started_at, l.ended_at';

/** Two statements per read: one for a channel (its name is the last parameter), one for every channel. */
function byChannel<P extends unknown[], R>(
  prepare: (sql: string) => Statement<unknown[], R>,
  sql: (channelFilter: string) => string,
): (channel: string | null, ...params: P) => R[] {
  const one = prepare(sql('AND s.name = ?'));
  const all = prepare(sql(''));
  return (channel, ...params) => (channel === null ? all.all(...params) : one.all(...params, channel));
}

export function createAnalyticsRepo(ctx: RepoContext, lookups: Lookups): AnalyticsRepo {
  const { db } = ctx;
  const prepare = <R>(sql: string) => db.prepare<unknown[], R>(sql);

  const insertLive = db.prepare<[string, number, number]>(
    'INSERT INTO analytics_lives (id, streamer_id, started_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING',
  );
  const endLive = db.prepare<[number, string]>(
    'UPDATE analytics_lives SET ended_at = ? WHERE id = ? AND ended_at IS NULL',
  );
  const openLives = db.prepare<[], LiveRow>(
    `SELECT ${LIVE_COLUMNS} FROM analytics_lives l JOIN streamers s ON s.id = l.streamer_id
     WHERE l.ended_at IS NULL ORDER BY l.started_at`,
  );
  const oneLive = db.prepare<[string], LiveRow>(
    `SELECT ${LIVE_COLUMNS} FROM analytics_lives l JOIN streamers s ON s.id = l.streamer_id WHERE l.id = ?`,
  );
  const insertSample = db.prepare<[number, number, number, string, string, string, number]>(
    `INSERT INTO analytics_samples (streamer_id, at, span_s, edge, region, transport, viewers)
     VALUES (?, ?, ?, ?, ?, ?, ?)`,
  );
  const insertActivity = db.prepare<[number, number, number, number, number]>(
    'INSERT INTO analytics_activity (streamer_id, at, span_s, messages, follows) VALUES (?, ?, ?, ?, ?)',
  );
  const uniqueOf = db.prepare<[string, string], { registers: Uint8Array }>(
    'SELECT registers FROM analytics_uniques WHERE live_id = ? AND kind = ?',
  );
  const upsertUnique = db.prepare<[string, string, Uint8Array]>(
    `INSERT INTO analytics_uniques (live_id, kind, registers) VALUES (?, ?, ?)
     ON CONFLICT (live_id, kind) DO UPDATE SET registers = excluded.registers`,
  );

  const overlapping = (filter: string) =>
    `FROM analytics_lives l JOIN streamers s ON s.id = l.streamer_id
     WHERE l.started_at < ? AND (l.ended_at IS NULL OR l.ended_at > ?) ${filter}`;
  const livesOne = prepare<LiveRow>(
    `SELECT ${LIVE_COLUMNS} ${overlapping('AND s.name = ?')} ORDER BY l.started_at DESC LIMIT ?`,
  );
  const livesAll = prepare<LiveRow>(
    `SELECT ${LIVE_COLUMNS} ${overlapping('')} ORDER BY l.started_at DESC LIMIT ?`,
  );
  const samples = byChannel<[number, number], AnalyticsSample>(
    prepare,
    (f) => `SELECT x.at, x.span_s AS "spanS", x.edge, x.region, x.transport, x.viewers
      FROM analytics_samples x JOIN streamers s ON s.id = x.streamer_id
      WHERE x.at >= ? AND x.at < ? ${f} ORDER BY x.at`,
  );
  const seriesStatements = new Map<string, ReturnType<typeof byChannel<[number, number], SeriesRow>>>();
  const seriesOf = (by: 'transport' | 'region' | 'edge', stepS: number) => {
    // Both written into the statement: `by` is one of three column names, the step a checked whole number.
    if (!['transport', 'region', 'edge'].includes(by) || !Number.isSafeInteger(stepS) || stepS <= 0)
      throw new RangeError(`series: bad grouping ${by} or step ${stepS}`);
    const k = `${by} ${stepS}`;
    let q = seriesStatements.get(k);
    if (!q) {
      const bucket = `x.at - x.at % ${stepS * 1000}`;
      q = byChannel<[number, number], SeriesRow>(
        prepare,
        (f) => `SELECT ${bucket} AS bucket, x.${by} AS name, SUM(x.viewers * x.span_s) AS "viewerSeconds"
          FROM analytics_samples x JOIN streamers s ON s.id = x.streamer_id
          WHERE x.at >= ? AND x.at < ? ${f} GROUP BY ${bucket}, x.${by}`,
      );
      seriesStatements.set(k, q);
    }
    return q;
  };
  const activity = byChannel<[number, number], AnalyticsActivity>(
    prepare,
    (f) => `SELECT x.at, x.span_s AS "spanS", x.messages, x.follows
      FROM analytics_activity x JOIN streamers s ON s.id = x.streamer_id
      WHERE x.at >= ? AND x.at < ? ${f} ORDER BY x.at`,
  );
  const uniques = byChannel<[string, number, number], { registers: Uint8Array }>(
    prepare,
    (f) => `SELECT u.registers FROM analytics_uniques u
      JOIN analytics_lives l ON l.id = u.live_id JOIN streamers s ON s.id = l.streamer_id
      WHERE u.kind = ? AND l.started_at < ? AND (l.ended_at IS NULL OR l.ended_at > ?) ${f}`,
  );

  // The bucket length is written into the statements (a whole number checked below): PostgreSQL groups by an
  // expression only when the SELECT has the very same one, and two parameters are two expressions to it.
  const folds = new Map<number, { samples: Statement<[number]>; activity: Statement<[number]> }>();
  const foldStatements = (spanS: number) => {
    if (!Number.isSafeInteger(spanS) || spanS <= 0) throw new RangeError(`fold: bad span ${spanS}`);
    let f = folds.get(spanS);
    if (!f) {
      const bucket = `at - at % ${spanS * 1000}`;
      f = {
        samples: db.prepare(
          `INSERT INTO analytics_samples (streamer_id, at, span_s, edge, region, transport, viewers)
           SELECT streamer_id, ${bucket}, ${spanS}, edge, region, transport, SUM(viewers * span_s) / ${spanS}
           FROM analytics_samples WHERE at < ? AND span_s < ${spanS}
           GROUP BY streamer_id, ${bucket}, edge, region, transport`,
        ),
        activity: db.prepare(
          `INSERT INTO analytics_activity (streamer_id, at, span_s, messages, follows)
           SELECT streamer_id, ${bucket}, ${spanS}, SUM(messages), SUM(follows)
           FROM analytics_activity WHERE at < ? AND span_s < ${spanS} GROUP BY streamer_id, ${bucket}`,
        ),
      };
      folds.set(spanS, f);
    }
    return f;
  };
  const dropFoldedSamples = db.prepare<[number, number]>(
    'DELETE FROM analytics_samples WHERE at < ? AND span_s < ?',
  );
  const dropFoldedActivity = db.prepare<[number, number]>(
    'DELETE FROM analytics_activity WHERE at < ? AND span_s < ?',
  );
  const deleteSamples = db.prepare<[number]>('DELETE FROM analytics_samples WHERE at < ?');
  const deleteActivity = db.prepare<[number]>('DELETE FROM analytics_activity WHERE at < ?');
  const deleteUniques = db.prepare<[number]>(
    `DELETE FROM analytics_uniques WHERE live_id IN
     (SELECT id FROM analytics_lives WHERE ended_at IS NOT NULL AND ended_at < ?)`,
  );
  const deleteLives = db.prepare<[number]>(
    'DELETE FROM analytics_lives WHERE ended_at IS NOT NULL AND ended_at < ?',
  );

  const record = db.transaction((p: Parameters<AnalyticsRepo['record']>[0]): boolean => {
    const id = lookups.streamerId(p.channel);
    if (id === undefined) return false;
    for (const x of p.samples) insertSample.run(id, p.at, p.spanS, x.edge, x.region, x.transport, x.viewers);
    if (p.activity && (p.activity.messages > 0 || p.activity.follows > 0))
      insertActivity.run(id, p.at, p.spanS, p.activity.messages, p.activity.follows);
    for (const u of p.uniques ?? []) {
      // The union of what was there and the period's.
      const merged = HyperLogLog.from(u.sketch);
      const had = uniqueOf.get(u.liveId, u.kind);
      if (had) merged.merge(HyperLogLog.from(had.registers));
      upsertUnique.run(u.liveId, u.kind, merged.toBytes());
    }
    return true;
  });
  const fold = db.transaction((before: number, spanS: number): number => {
    const f = foldStatements(spanS);
    // Whole buckets only: a bucket is folded once, when all of it is older than `before`.
    const edge = before - (before % (spanS * 1000));
    f.samples.run(edge);
    f.activity.run(edge);
    return dropFoldedSamples.run(edge, spanS).changes + dropFoldedActivity.run(edge, spanS).changes;
  });
  const deleteBefore = db.transaction(
    (cutoff: number): number =>
      deleteSamples.run(cutoff).changes +
      deleteActivity.run(cutoff).changes +
      deleteUniques.run(cutoff).changes +
      deleteLives.run(cutoff).changes,
  );

  return {
    startLive(l) {
      insertLive.run(l.id, lookups.requireStreamerId(l.channel), l.startedAt);
    },
    endLive(id, endedAt) {
      endLive.run(endedAt, id);
    },
    openLives() {
      return openLives.all().map(live);
    },
    record,
    lives(channel, from, to, limit) {
      const rows = channel === null ? livesAll.all(to, from, limit) : livesOne.all(to, from, channel, limit);
      return rows.map(live);
    },
    live(id) {
      const r = oneLive.get(id);
      return r && live(r);
    },
    samples(channel, from, to) {
      return samples(channel, from, to);
    },
    series(channel, from, to, by, stepS) {
      return seriesOf(by, stepS)(channel, from, to);
    },
    activity(channel, from, to) {
      return activity(channel, from, to);
    },
    uniques(channel, from, to, kind: AnalyticsUniqueKind) {
      return uniques(channel, kind, to, from).map((r) => r.registers);
    },
    fold,
    deleteBefore,
  };
}
