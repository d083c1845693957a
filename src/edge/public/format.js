// Small pure helpers shared by the pages: names, labels, numbers (in the page's language, i18n.js).

import { asRecord } from './json.js';
import { formatHoursMinutes, formatNumber, t } from './i18n.js';

/**
 * A directory entry as every edge sends it; `broadcast`: the live broadcast being recorded (a hub's field:
 * rewind while live plays /videos/ID), else null.
 * @typedef {{name: string, title: string, category: string, live: boolean, viewers: number,
 *   broadcast: string | null}} StreamEntry
 */
/**
 * With the fields a hub adds.
 * @typedef {StreamEntry & {description: string, startedAt: number | null, protected: boolean,
 *   thumbnail: string | null}} ChannelEntry
 */

/** Broadcast ids (src/common/recording/stream-recorder.ts BROADCAST_ID). */
const BROADCAST_ID_RE = /^\d{8}T\d{6}Z-[0-9a-f]{4,8}$/;

/** Stream names as the edge accepts them (src/common/protocol/frames.ts NAME_RE). */
export const STREAM_NAME_RE = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * "/watch/NAME", "/embed/NAME" or "/popout-chat/NAME" (optionally with a trailing slash) → NAME, or null if
 * it is not a valid name.
 * @param {string} pathname
 */
export function streamNameFromPath(pathname) {
  const encoded = /^\/(?:watch|embed|popout-chat)\/([^/]+)\/?$/.exec(pathname)?.[1];
  if (encoded === undefined) return null;
  let name;
  try {
    name = decodeURIComponent(encoded);
  } catch {
    return null;
  }
  return STREAM_NAME_RE.test(name) ? name : null;
}

/**
 * "2.5 Mbps", "800 kbps" ("2,5 Мбит/с").
 * @param {number} bps
 */
export function formatBitrate(bps) {
  if (!Number.isFinite(bps) || bps <= 0) return '';
  if (bps >= 1_000_000)
    return t('common.mbps', { value: formatNumber(bps / 1_000_000, { maximumFractionDigits: 1 }) });
  return t('common.kbps', { value: formatNumber(Math.round(bps / 1000)) });
}

/** The rendition id of the publisher's own video, passed through (the server's SOURCE_RENDITION_ID). */
export const SOURCE_ID = 'src';

/**
 * "720p · 2.5 Mbps", "1080p60 · 6 Mbps", "Source (1080p) · 6 Mbps"; falls back to the id when the height
 * is unknown.
 * @param {{id: string, bandwidth: number, height?: number, frameRate?: number}} r
 */
export function renditionLabel(r) {
  let res = r.height ? `${r.height}p` : r.id;
  if (r.height && r.frameRate && r.frameRate > 31) res += Math.round(r.frameRate);
  if (r.id === SOURCE_ID) res = r.height ? t('player.sourceOf', { resolution: res }) : t('player.source');
  const rate = formatBitrate(r.bandwidth);
  return rate ? `${res} · ${rate}` : res;
}

/**
 * Menu order: Source first, then the highest picture first.
 * @param {{id: string, bandwidth: number, height?: number}} a
 * @param {{id: string, bandwidth: number, height?: number}} b
 */
export function byQuality(a, b) {
  const src = Number(b.id === SOURCE_ID) - Number(a.id === SOURCE_ID);
  return src || (b.height ?? 0) - (a.height ?? 0) || b.bandwidth - a.bandwidth;
}

/**
 * "1 viewer", "1.2K viewers" ("1,2 тыс. зрителей").
 * @param {number} n
 */
export function formatViewers(n) {
  const count = Number.isFinite(n) && n > 0 ? Math.floor(n) : 0;
  // Shortened ("1.2K", "1,2 тыс."), the word agrees with the thousands, not with 1,234 (Russian: зрителей).
  if (count >= 1000)
    return t('common.viewersShort', {
      n: formatNumber(count, { notation: 'compact', maximumFractionDigits: 1 }),
    });
  return t('common.viewers', { count, n: formatNumber(count) });
}

/**
 * A stable hue per name, for placeholder thumbnails.
 * @param {string} name
 */
export function hueFor(name) {
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
  return h % 360;
}

/**
 * Thumbnails are same-origin image paths from the hub (`/thumbs/NAME.jpg?v=…`); anything else is dropped.
 * @param {unknown} path
 */
export function safeImagePath(path) {
  return typeof path === 'string' && path.length <= 512 && /^\/(?![/\\])[^\s\\"'<>]*$/.test(path)
    ? path
    : null;
}

/**
 * Validates one directory entry from /api/streams; returns a clean copy or null.
 * @param {unknown} value
 * @returns {StreamEntry | null}
 */
export function parseStreamEntry(value) {
  const raw = asRecord(value);
  if (!raw || typeof raw.name !== 'string' || !STREAM_NAME_RE.test(raw.name)) return null;
  return {
    name: raw.name,
    title: typeof raw.title === 'string' && raw.title.trim() ? raw.title.trim() : raw.name,
    category: typeof raw.category === 'string' ? raw.category.trim() : '',
    live: raw.live === true,
    viewers:
      typeof raw.viewers === 'number' && Number.isFinite(raw.viewers) && raw.viewers > 0
        ? Math.floor(raw.viewers)
        : 0,
    broadcast:
      raw.live === true && typeof raw.broadcast === 'string' && BROADCAST_ID_RE.test(raw.broadcast)
        ? raw.broadcast
        : null,
  };
}

/**
 * A directory entry with the fields a hub adds (description, start time, password flag, thumbnail).
 * Without a hub the edge sends only the basic ones: the others get neutral defaults.
 * @param {unknown} value
 * @returns {ChannelEntry | null}
 */
export function parseChannelEntry(value) {
  const base = parseStreamEntry(value);
  const raw = asRecord(value);
  if (!base || !raw) return null;
  return {
    ...base,
    description: typeof raw.description === 'string' ? raw.description.trim() : '',
    startedAt:
      base.live && typeof raw.startedAt === 'number' && Number.isFinite(raw.startedAt) && raw.startedAt > 0
        ? raw.startedAt
        : null,
    protected: raw.protected === true,
    thumbnail: safeImagePath(raw.thumbnail),
  };
}

/**
 * "live for 1 hr 20 min", "live for 5 min", "just started".
 * @param {number | null} startedAt
 */
export function formatUptime(startedAt, now = Date.now()) {
  if (startedAt === null || !Number.isFinite(startedAt) || startedAt <= 0) return '';
  if (now - startedAt < 60_000) return t('directory.justStarted');
  return t('directory.liveFor', { duration: formatHoursMinutes(now - startedAt) });
}

/**
 * Distinct categories of the entries, most channels first, then by name.
 * @param {StreamEntry[]} entries
 */
export function categoriesOf(entries) {
  /** @type {Map<string, {name: string, count: number}>} */
  const counts = new Map();
  for (const e of entries) {
    if (!e.category) continue;
    const key = e.category.toLowerCase();
    const c = counts.get(key);
    if (c) c.count++;
    else counts.set(key, { name: e.category, count: 1 });
  }
  return [...counts.values()]
    .sort((a, b) => b.count - a.count || a.name.localeCompare(b.name, undefined, { sensitivity: 'base' }))
    .map((c) => c.name);
}
