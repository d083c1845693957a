/**
 * Analytics over HTTP (issue 16): the query parameters both APIs take, read into a report (JSON) or its CSV.
 * The remote API and the dashboard differ only in who the channel is; the routes pick it, this reads the rest:
 *   from, to   ms since the epoch or an ISO 8601 time (default: the last 24 hours)
 *   live       one live's id (its own range; `from`/`to` are then ignored)
 *   by         transport (default), region or edge
 */
import type { AnalyticsConfig } from '../../common/config/index.js';
import { ApiError, type ApiResponse } from '../../common/http/json-routes.js';
import type { Store } from '../store/types.js';
import {
  analyticsCsv,
  analyticsReport,
  GROUPINGS,
  type AnalyticsReport,
  type Grouping,
} from './analytics-query.js';
import { FOLDED_SPAN_S } from './analytics-recorder.js';

const DAY_MS = 86_400_000;
const LIVE_ID = /^lv_[A-Za-z0-9_-]{12}$/;

function time(q: URLSearchParams, name: string): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  const t = /^\d{1,15}$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(t))
    throw new ApiError('INVALID_VALUE', `${name}: a time in ms or ISO 8601, got "${v.slice(0, 40)}"`);
  return t;
}

export interface AnalyticsReader {
  /** `channel` null: every channel (operators only; the caller decides). */
  report(channel: string | null, query: string): AnalyticsReport;
  csv(channel: string | null, query: string): ApiResponse;
}

export function analyticsReader(
  store: Store,
  config: AnalyticsConfig,
  now: () => number = Date.now,
): AnalyticsReader {
  const report = (channel: string | null, query: string): AnalyticsReport => {
    if (!config.enabled) throw new ApiError('ANALYTICS_DISABLED', 'analytics are turned off on this network');
    const q = new URLSearchParams(query);
    const t = now();
    const by = (q.get('by') ?? 'transport') as Grouping;
    if (!GROUPINGS.includes(by)) throw new ApiError('INVALID_VALUE', `by: one of ${GROUPINGS.join(', ')}`);
    const liveId = q.get('live');
    let from: number;
    let to: number;
    let live;
    if (liveId) {
      live = LIVE_ID.test(liveId) ? store.analytics.live(liveId) : undefined;
      if (!live || (channel !== null && live.channel !== channel))
        throw new ApiError('NOT_FOUND', 'no such live on this channel');
      from = live.startedAt;
      to = Math.max(from + 1, live.endedAt ?? t);
    } else {
      to = time(q, 'to') ?? t;
      from = time(q, 'from') ?? to - DAY_MS;
      if (from >= to) throw new ApiError('INVALID_VALUE', 'from must be before to');
      if (to - from > config.retentionDays * DAY_MS + DAY_MS)
        throw new ApiError(
          'INVALID_VALUE',
          `a range of at most ${config.retentionDays} days (the retention)`,
        );
    }
    return analyticsReport(store.analytics, {
      channel,
      from,
      to,
      by,
      sampleS: config.sampleEveryMs / 1000,
      foldedBefore: t - config.fullResolutionHours * 3_600_000,
      foldedS: FOLDED_SPAN_S,
      ...(live ? { live } : {}),
      now: t,
    });
  };
  return {
    report,
    csv(channel, query) {
      const r = report(channel, query);
      const day = new Date(r.from).toISOString().slice(0, 10);
      const name = `${r.live?.id ?? `${channel ?? 'network'}-${day}`}-analytics.csv`;
      return {
        raw: { data: Buffer.from(analyticsCsv(r)), contentType: 'text/csv; charset=utf-8' },
        headers: { 'content-disposition': `attachment; filename="${name}"` },
      };
    },
  };
}
