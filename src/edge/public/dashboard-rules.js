// Pure parts of the streamer dashboard: validating GET /api/dashboard, the PATCH for what changed, and
// the status line. dashboard.js does the DOM.

import { parseMembers } from './chat-format.js';
import { asRecord } from './json.js';
import { formatNumber, formatRelative, t } from './i18n.js';

/**
 * @param {unknown} v
 * @returns {v is number}
 */
const isFiniteNumber = (v) => typeof v === 'number' && Number.isFinite(v);

/**
 * A form field's text: forms hold strings; anything else (a missing field) counts as empty.
 * @param {unknown} v
 */
const fieldText = (v) => (typeof v === 'string' ? v : '');

/**
 * A clean copy of the dashboard response, or null if it is not one.
 * @param {unknown} value
 */
export function parseDashboard(value) {
  const raw = asRecord(value);
  const s = asRecord(raw?.streamer);
  if (!raw || !s || typeof s.name !== 'string') return null;
  /** @param {unknown} v */
  const str = (v) => (typeof v === 'string' ? v : '');
  /** @param {unknown} v */
  const count = (v) => (isFiniteNumber(v) && v > 0 ? Math.floor(v) : 0);
  return {
    streamer: {
      name: s.name,
      title: str(s.title),
      description: str(s.description),
      category: str(s.category),
      hasPassword: s.hasPassword === true,
      /** What the ingress records of the channel: '' for the site's default, else off/all/source/top-and-lowest. */
      recording: ['off', 'all', 'source', 'top-and-lowest'].includes(str(s.recording))
        ? str(s.recording)
        : '',
      createdAt: isFiniteNumber(s.createdAt) ? s.createdAt : null,
      lastLiveAt: isFiniteNumber(s.lastLiveAt) ? s.lastLiveAt : null,
    },
    live: raw.live === true,
    viewers: count(raw.viewers),
    followers: count(raw.followers),
    chatMembers: parseMembers(raw.chatMembers),
    moderators: Array.isArray(raw.moderators)
      ? raw.moderators.filter(/** @returns {m is string} */ (m) => typeof m === 'string').sort()
      : [],
  };
}

/**
 * The fields of the info form that differ from the saved channel (trimmed), or null if none do.
 * @param {{title?: string, category?: string, description?: string}} saved
 * @param {Record<string, unknown>} form
 */
export function infoPatch(saved, form) {
  /** @type {Record<string, string>} */
  const patch = {};
  for (const key of /** @type {const} */ (['title', 'category', 'description'])) {
    const value = fieldText(form[key]).trim();
    if (value !== (saved[key] ?? '')) patch[key] = value;
  }
  return Object.keys(patch).length ? patch : null;
}

/**
 * A problem with the info form, or null (the hub's limits: title 140, category 64, description 2000).
 * @param {Record<string, unknown>} form
 */
export function checkInfo(form) {
  const most = (/** @type {number} */ n) => ({ max: formatNumber(n) });
  if (fieldText(form.title).trim().length > 140) return t('dashboard.info.titleLong', most(140));
  if (fieldText(form.category).trim().length > 64) return t('dashboard.info.categoryLong', most(64));
  if (fieldText(form.description).trim().length > 2000)
    return t('dashboard.info.descriptionLong', most(2000));
  return null;
}

/** "3 days ago" ("3 дня назад"). @param {number} at */
const dateFormat = (at) => formatRelative(at);

/**
 * "Live" / "Offline" and a second line: when the channel was last live.
 * @param {{live: boolean, streamer: {lastLiveAt: number | null}}} d
 */
export function liveStatus(d, format = dateFormat) {
  if (d.live) return { text: t('dashboard.status.live'), sub: t('dashboard.status.streaming'), live: true };
  const last = d.streamer.lastLiveAt;
  return {
    text: t('dashboard.status.offline'),
    sub: last ? t('dashboard.status.lastLive', { when: format(last) }) : t('dashboard.status.never'),
    live: false,
  };
}
