// Past broadcasts (issue 15): the words and numbers shown for one, shared by the video page and the
// channel's list. Pure functions: unit-tested in Node.

import { formatDate } from './i18n.js';

/** @typedef {{ id: string, channel: string, title: string, category: string, startedAt: number, endedAt: number | null, durationMs: number, peakViewers: number, hidden: boolean, live: boolean, url: string, thumbnail: string, protected?: boolean }} VideoView */

/**
 * "1:02:03" or "4:05".
 * @param {number} ms
 */
export function formatDuration(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/**
 * The date a broadcast started, in the page's language.
 * @param {number} at
 */
export function formatStarted(at) {
  return formatDate(at, { dateStyle: 'medium', timeStyle: 'short' });
}

/**
 * A broadcast as the API returned it, or null when the value is not one (the page shows "not found").
 * @param {unknown} v
 * @returns {VideoView | null}
 */
export function parseVideo(v) {
  if (!v || typeof v !== 'object') return null;
  const o = /** @type {Record<string, unknown>} */ (v);
  if (typeof o.id !== 'string' || typeof o.channel !== 'string' || typeof o.startedAt !== 'number')
    return null;
  if (!/^\d{8}T\d{6}Z-[0-9a-f]{4,8}$/.test(o.id) || !/^[A-Za-z0-9_-]{1,64}$/.test(o.channel)) return null;
  return /** @type {VideoView} */ ({
    id: o.id,
    channel: o.channel,
    title: typeof o.title === 'string' && o.title ? o.title : o.channel,
    category: typeof o.category === 'string' ? o.category : '',
    startedAt: o.startedAt,
    endedAt: typeof o.endedAt === 'number' ? o.endedAt : null,
    durationMs: typeof o.durationMs === 'number' ? o.durationMs : 0,
    peakViewers: typeof o.peakViewers === 'number' ? o.peakViewers : 0,
    hidden: o.hidden === true,
    live: o.live === true,
    url: `/videos/${o.id}`,
    thumbnail: `/videos/${o.id}/thumbnail.jpg`,
    protected: o.protected === true,
  });
}
