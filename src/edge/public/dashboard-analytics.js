// The dashboard's analytics (issue 16): for the last day, week or month, or one live, the channel's viewers
// over time (uPlot, loaded only when the panel opens) grouped by transport, region or edge, the summary
// (peak and average viewers, unique viewers, average watch time, chatters, messages, follows) and a CSV
// download of the same series. The numbers are the hub's (docs/openapi.yaml defines them); nothing is
// computed here but their wording.

import { api } from './api.js';
import { byId, el, loadScript, optionalById } from './dom.js';
import { asArray, asRecord } from './json.js';
import { friendlyError } from './auth-rules.js';
import { formatDate, formatHoursMinutes, formatNumber, t } from './i18n.js';

export const UPLOT_SCRIPT = '/static/uPlot.iife.min.js';
export const UPLOT_STYLE = '/static/uPlot.min.css';

/** @typedef {{id: string, startedAt: number, endedAt: number | null}} LiveView */
/**
 * @typedef {{
 *   summary: Record<string, number>,
 *   times: number[], total: number[], groups: {name: string, viewers: number[]}[],
 *   lives: LiveView[], stepS: number
 * }} ReportView
 */

/** @param {unknown} v */
const numbers = (v) => asArray(v).map((x) => (typeof x === 'number' && Number.isFinite(x) ? x : 0));

/**
 * The hub's report, checked: anything missing reads as nothing rather than breaking the panel.
 * @param {unknown} v
 * @returns {ReportView | null}
 */
export function parseReport(v) {
  const r = asRecord(v);
  const series = asRecord(r?.series);
  const summaryIn = asRecord(r?.summary);
  if (!r || !series || !summaryIn) return null;
  /** @type {Record<string, number>} */
  const summary = {};
  for (const [k, x] of Object.entries(summaryIn)) if (typeof x === 'number') summary[k] = x;
  const times = numbers(series.times);
  return {
    summary,
    times,
    total: numbers(series.total),
    groups: asArray(series.groups)
      .map(asRecord)
      .filter((g) => g !== null && typeof g.name === 'string')
      .map((g) => ({ name: String(g?.name), viewers: numbers(g?.viewers) })),
    lives: asArray(r.lives)
      .map(asRecord)
      .filter((l) => l !== null && typeof l.id === 'string' && typeof l.startedAt === 'number')
      .map((l) => ({
        id: String(l?.id),
        startedAt: Number(l?.startedAt),
        endedAt: typeof l?.endedAt === 'number' ? l.endedAt : null,
      })),
    stepS: typeof r.stepS === 'number' ? r.stepS : 60,
  };
}

/**
 * A duration for people, in the page's language: 45 s, 12 min, 2 h 5 min.
 * @param {number} s seconds
 */
export function formatDuration(s) {
  const secs = Math.max(0, Math.round(s));
  if (secs < 60) return formatNumber(secs, { style: 'unit', unit: 'second', unitDisplay: 'short' });
  return formatHoursMinutes(secs * 1000);
}

const RANGES = /** @type {const} */ ({ day: 86_400_000, week: 7 * 86_400_000, month: 30 * 86_400_000 });

/**
 * The query for a choice: a range ending now, or one live (`live:ID`).
 * @param {string} range  day | week | month | live:ID
 * @param {string} by     transport | region | edge
 * @param {number} [now]
 * @param {string} [channel]  an operator's choice: a channel, or `*` for every channel
 */
export function analyticsQuery(range, by, now = Date.now(), channel = '') {
  const q = new URLSearchParams();
  if (range.startsWith('live:')) q.set('live', range.slice(5));
  else {
    const span = RANGES[/** @type {keyof typeof RANGES} */ (range)] ?? RANGES.day;
    q.set('from', String(now - span));
    q.set('to', String(now));
  }
  q.set('by', by);
  if (channel) q.set('channel', channel);
  return q.toString();
}

/** The summary tiles: label and value in words. @param {Record<string, number>} s */
export function summaryTiles(s) {
  const n = (/** @type {string} */ k) => s[k] ?? 0;
  const num = (/** @type {string} */ k) => formatNumber(n(k), { maximumFractionDigits: 1 });
  return [
    [t('dashboard.analytics.peak'), num('peakViewers')],
    [t('dashboard.analytics.average'), num('averageViewers')],
    [t('dashboard.analytics.unique'), num('uniqueViewers')],
    [t('dashboard.analytics.watchTime'), formatDuration(n('averageWatchS'))],
    [t('dashboard.analytics.hours'), num('viewerHours')],
    [t('dashboard.analytics.liveTime'), formatDuration(n('liveS'))],
    [t('dashboard.analytics.chatters'), num('chatters')],
    [t('dashboard.analytics.messages'), num('messages')],
    [t('dashboard.analytics.follows'), num('follows')],
  ];
}

/** @returns {Promise<NonNullable<typeof globalThis.uPlot>>} */
export function loadUplot(src = UPLOT_SCRIPT) {
  if (globalThis.uPlot) return Promise.resolve(globalThis.uPlot);
  if (!document.querySelector(`link[href="${UPLOT_STYLE}"]`)) {
    const link = document.createElement('link');
    link.rel = 'stylesheet';
    link.href = UPLOT_STYLE;
    document.head.append(link);
  }
  return loadScript(src, () => globalThis.uPlot, 'uPlot');
}

const PALETTE = ['#4f9cf9', '#f5a524', '#17c964', '#f31260', '#9353d3', '#06b7db', '#a3a3a3'];

/**
 * Fills the panel when the dashboard shows it, and again on each choice. `operator`: an admin's view (the
 * panel moves into `into`, and a channel field appears: empty or `*` is the whole network).
 * @param {{ operator?: boolean, into?: HTMLElement }} [opts]
 */
export async function mountAnalytics(opts = {}) {
  const panel = optionalById('analytics-panel', HTMLElement);
  if (!panel || panel.dataset.mounted) return;
  panel.dataset.mounted = '1';
  if (opts.into) opts.into.append(panel);
  const channelInput = byId('analytics-channel', HTMLInputElement);
  for (const e of panel.querySelectorAll('.analytics-operator'))
    /** @type {HTMLElement} */ (e).hidden = !opts.operator;
  const rangeSel = byId('analytics-range', HTMLSelectElement);
  const bySel = byId('analytics-by', HTMLSelectElement);
  const chartBox = byId('analytics-chart', HTMLElement);
  const tiles = byId('analytics-summary', HTMLElement);
  const csv = byId('analytics-csv', HTMLAnchorElement);
  const status = byId('analytics-status', HTMLElement);
  /** @type {{ destroy(): void } | null} */
  let chart = null;
  let livesListed = false;

  const draw = async () => {
    const channel = opts.operator ? channelInput.value.trim() || '*' : '';
    const query = analyticsQuery(rangeSel.value, bySel.value, Date.now(), channel);
    csv.href = `/api/dashboard/analytics.csv?${query}`;
    const r = await api('GET', `/api/dashboard/analytics?${query}`);
    const report = r.ok ? parseReport(r.data) : null;
    if (!report) {
      // Nothing shown may be taken for this choice's numbers.
      tiles.replaceChildren();
      chart?.destroy();
      chart = null;
      chartBox.replaceChildren();
      status.textContent = t('dashboard.analytics.notLoaded', {
        reason: r.ok ? t('dashboard.analytics.unexpected') : friendlyError(r.error),
      });
      return;
    }
    status.textContent = report.times.length ? '' : t('dashboard.analytics.empty');
    tiles.replaceChildren(
      ...summaryTiles(report.summary).map(([label, value]) => {
        const d = el('div', 'analytics-tile');
        d.append(el('dt', '', label), el('dd', '', value));
        return d;
      }),
    );
    if (!livesListed && !rangeSel.value.startsWith('live:')) {
      livesListed = true;
      for (const l of report.lives) {
        const date = formatDate(l.startedAt);
        const label = l.endedAt
          ? t('dashboard.analytics.live', { date })
          : t('dashboard.analytics.liveNow', { date });
        const o = /** @type {HTMLOptionElement} */ (el('option', '', label));
        o.value = `live:${l.id}`;
        rangeSel.append(o);
      }
    }
    let uPlot;
    try {
      uPlot = await loadUplot();
    } catch {
      status.textContent = t('dashboard.analytics.noChart');
      return;
    }
    chart?.destroy();
    chartBox.replaceChildren();
    const styles = getComputedStyle(document.documentElement);
    const text = styles.getPropertyValue('--text').trim() || '#ddd';
    const grid = styles.getPropertyValue('--border').trim() || '#444';
    const axis = { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    chart = new uPlot(
      {
        width: Math.max(280, chartBox.clientWidth || 600),
        height: 240,
        series: [
          {},
          { label: t('dashboard.analytics.allViewers'), stroke: text, width: 2 },
          ...report.groups.map((g, i) => ({
            label: g.name,
            stroke: PALETTE[i % PALETTE.length],
            width: 1.5,
          })),
        ],
        axes: [axis, { ...axis, label: t('dashboard.analytics.axis') }],
        scales: { x: { time: true } },
      },
      [report.times.map((t) => t / 1000), report.total, ...report.groups.map((g) => g.viewers)],
      chartBox,
    );
  };

  channelInput.addEventListener('change', () => {
    // Another channel has other lives: list them again.
    for (const o of [...rangeSel.options]) if (o.value.startsWith('live:')) o.remove();
    livesListed = false;
    void draw();
  });
  rangeSel.addEventListener('change', () => void draw());
  bySel.addEventListener('change', () => void draw());
  await draw();
}
