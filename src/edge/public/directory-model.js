// Pure parts of the directory page: which channels go in which section, in what order.

/** @import { StreamEntry } from './format.js' */
/** @typedef {(a: StreamEntry, b: StreamEntry) => number} Compare */

/** @type {Compare} */
const byName = (a, b) => a.name.localeCompare(b.name, undefined, { sensitivity: 'base' });

/** @type {Record<string, Compare | undefined> & {viewers: Compare, name: Compare}} */
export const SORTS = {
  viewers: (a, b) =>
    b.viewers - a.viewers ||
    a.title.localeCompare(b.title, undefined, { sensitivity: 'base' }) ||
    byName(a, b),
  name: byName,
};

/**
 * Splits entries into live and offline lists for a category filter ('' = all) and a sort key.
 * Offline channels have no viewers, so they are always by name.
 * @template {StreamEntry} T
 * @param {T[]} entries
 * @param {{category?: string, sort?: string}} [opts]
 */
export function arrange(entries, { category = '', sort = 'viewers' } = {}) {
  const cat = category.toLowerCase();
  const shown = cat ? entries.filter((e) => e.category.toLowerCase() === cat) : entries;
  const compare = SORTS[sort] ?? SORTS.viewers;
  return {
    live: shown.filter((e) => e.live).sort(compare),
    offline: shown.filter((e) => !e.live).sort(byName),
  };
}

/**
 * The followed channels that are live now, most viewers first, as directory entries where known.
 * @template {StreamEntry} T
 * @param {Array<{name: string, live: boolean}>} following
 * @param {T[]} entries
 */
export function followingLive(following, entries) {
  const byKey = new Map(entries.map((e) => [e.name, e]));
  /** @type {Array<T | StreamEntry>} */
  const out = [];
  for (const f of following) {
    const e = byKey.get(f.name);
    if (e ? e.live : f.live)
      out.push(e ?? { name: f.name, title: f.name, category: '', live: true, viewers: 0, broadcast: null });
  }
  return out.sort(SORTS.viewers);
}
