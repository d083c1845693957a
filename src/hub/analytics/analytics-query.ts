/**
 * Reading analytics (issue 16): a channel's (or, for operators, the whole network's) summary and viewers over
 * time for a range or one live, grouped by transport, region or edge, and the same series as CSV. Pure
 * functions over the repo's rows: the routes only parse the request and pick the channel.
 *
 * Definitions (docs/openapi.yaml says the same): a sample row stands for `spanS` seconds, so viewer-seconds
 * are Σ viewers × spanS; average viewers are viewer-seconds over the seconds the channel was live in the
 * range; average watch time is viewer-seconds over unique viewers; a point of the series is the bucket's
 * viewer-seconds over the bucket's length (the average audience in it); peak is the highest point.
 */
import type { AnalyticsLive, AnalyticsRepo } from '../store/types.js';
import { HyperLogLog } from './hyperloglog.js';

export const GROUPINGS = ['transport', 'region', 'edge'] as const;
export type Grouping = (typeof GROUPINGS)[number];

/** At most this many points in a series: a month of data is 10-minute points, a day minutes. */
const MAX_POINTS = 1500;
const STEPS_S = [60, 300, 600, 1800, 3600, 10_800, 21_600, 86_400];

export interface AnalyticsSummary {
  peakViewers: number;
  averageViewers: number;
  uniqueViewers: number;
  /** Average watch time per unique viewer, seconds. */
  averageWatchS: number;
  viewerHours: number;
  /** Seconds the channel (or any channel) was live in the range. */
  liveS: number;
  chatters: number;
  messages: number;
  follows: number;
}

export interface AnalyticsSeries {
  /** Bucket starts, ms since the epoch. */
  times: number[];
  total: number[];
  groups: { name: string; viewers: number[] }[];
  messages: number[];
  follows: number[];
}

export interface AnalyticsReport {
  channel: string | null;
  from: number;
  to: number;
  stepS: number;
  by: Grouping;
  live?: AnalyticsLive;
  summary: AnalyticsSummary;
  series: AnalyticsSeries;
  /** Lives overlapping the range, newest first (at most 50). */
  lives: AnalyticsLive[];
}

export interface ReportQuery {
  channel: string | null;
  from: number;
  to: number;
  by: Grouping;
  /** The finest step the data has (the sampling period, in seconds). */
  sampleS: number;
  /** Data older than this is in folded rows of `foldedS` seconds. */
  foldedBefore: number;
  foldedS: number;
  live?: AnalyticsLive;
  now: number;
}

/** The bucket length for a range: the finest the data has, coarse enough for MAX_POINTS. */
export function stepFor(
  q: Pick<ReportQuery, 'from' | 'to' | 'sampleS' | 'foldedBefore' | 'foldedS'>,
): number {
  const finest = q.from < q.foldedBefore ? Math.max(q.sampleS, q.foldedS) : q.sampleS;
  const span = Math.max(1, (q.to - q.from) / 1000);
  for (const s of [finest, ...STEPS_S]) if (s >= finest && span / s <= MAX_POINTS) return s;
  return STEPS_S[STEPS_S.length - 1]!;
}

const round2 = (n: number) => Math.round(n * 100) / 100;

export function analyticsReport(repo: AnalyticsRepo, q: ReportQuery): AnalyticsReport {
  const stepS = stepFor(q);
  const stepMs = stepS * 1000;
  const first = q.from - (q.from % stepMs);
  const n = Math.max(1, Math.ceil((q.to - first) / stepMs));
  const times = Array.from({ length: n }, (_, i) => first + i * stepMs);
  const index = (at: number) => Math.floor((at - first) / stepMs);

  // Whole buckets are read: a folded row starts at its bucket's start, which may be before `from`.
  const last = first + n * stepMs;
  const total = new Array<number>(n).fill(0);
  const groups = new Map<string, number[]>();
  let viewerSeconds = 0;
  for (const row of repo.series(q.channel, first, last, q.by, stepS)) {
    const i = index(row.bucket);
    if (i < 0 || i >= n) continue;
    viewerSeconds += row.viewerSeconds;
    total[i]! += row.viewerSeconds;
    let g = groups.get(row.name);
    if (!g) {
      g = new Array<number>(n).fill(0);
      groups.set(row.name, g);
    }
    g[i]! += row.viewerSeconds;
  }
  const asAudience = (a: number[]) => a.map((vs) => round2(vs / stepS));

  const messages = new Array<number>(n).fill(0);
  const follows = new Array<number>(n).fill(0);
  for (const a of repo.activity(q.channel, first, last)) {
    const i = index(a.at);
    if (i < 0 || i >= n) continue;
    messages[i]! += a.messages;
    follows[i]! += a.follows;
  }

  const lives = q.live ? [q.live] : repo.lives(q.channel, q.from, q.to, 50);
  const allLives = q.live ? lives : repo.lives(q.channel, q.from, q.to, 100_000);
  let liveS = 0;
  for (const l of allLives) {
    const start = Math.max(l.startedAt, q.from);
    const end = Math.min(l.endedAt ?? q.now, q.to);
    if (end > start) liveS += (end - start) / 1000;
  }
  const distinct = (kind: 'viewer' | 'chatter') => {
    const union = new HyperLogLog();
    for (const r of repo.uniques(q.channel, q.from, q.to, kind)) union.merge(HyperLogLog.from(r));
    return union.estimate();
  };
  const uniqueViewers = distinct('viewer');
  const audience = asAudience(total);
  return {
    channel: q.channel,
    from: q.from,
    to: q.to,
    stepS,
    by: q.by,
    ...(q.live ? { live: q.live } : {}),
    summary: {
      peakViewers: audience.reduce((m, v) => Math.max(m, v), 0),
      averageViewers: round2(liveS > 0 ? viewerSeconds / liveS : 0),
      uniqueViewers,
      averageWatchS: Math.round(uniqueViewers > 0 ? viewerSeconds / uniqueViewers : 0),
      viewerHours: round2(viewerSeconds / 3600),
      liveS: Math.round(liveS),
      chatters: distinct('chatter'),
      messages: messages.reduce((a, b) => a + b, 0),
      follows: follows.reduce((a, b) => a + b, 0),
    },
    series: {
      times,
      total: audience,
      groups: [...groups]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([name, g]) => ({ name, viewers: asAudience(g) })),
      messages,
      follows,
    },
    lives,
  };
}

/** A CSV cell: quoted when needed, and never read as a formula by a spreadsheet. */
export function csvCell(v: string | number): string {
  if (typeof v === 'number') return String(v);
  const safe = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** The series as CSV (RFC 4180, CRLF): one row per bucket, its time in UTC. */
export function analyticsCsv(r: AnalyticsReport): string {
  const head = ['time', 'viewers', ...r.series.groups.map((g) => `viewers_${g.name}`), 'messages', 'follows'];
  const rows = [head.map(csvCell).join(',')];
  r.series.times.forEach((t, i) => {
    rows.push(
      [
        new Date(t).toISOString(),
        r.series.total[i]!,
        ...r.series.groups.map((g) => g.viewers[i]!),
        r.series.messages[i]!,
        r.series.follows[i]!,
      ]
        .map(csvCell)
        .join(','),
    );
  });
  return `${rows.join('\r\n')}\r\n`;
}
