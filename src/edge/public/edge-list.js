// The other edges this viewer can move to, best first: the edge's /api/edges/NAME list (the viewer's region
// first, least loaded first, full edges left out), refreshed every half minute. The WebSocket player moves
// along it when its edge dies, is cut off or is full, without a reload.

import { asRecord } from './json.js';

const REFRESH_MS = 30_000;

/**
 * Media-socket URLs of the other edges in an /api/edges answer (this edge left out), or [] for anything
 * that does not look like one. Only http(s) URLs are taken.
 * @param {unknown} body
 * @param {string} stream
 * @returns {string[]}
 */
export function socketUrlsFromList(body, stream) {
  const rec = asRecord(body);
  if (!rec || !Array.isArray(rec.edges)) return [];
  /** @type {string[]} */
  const out = [];
  for (const e of rec.edges) {
    const edge = asRecord(e);
    if (!edge || typeof edge.url !== 'string' || edge.id === rec.self) continue;
    let url;
    try {
      url = new URL(edge.url);
    } catch {
      continue;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') continue;
    const scheme = url.protocol === 'https:' ? 'wss:' : 'ws:';
    out.push(
      `${scheme}//${url.host}${url.pathname.replace(/\/+$/, '')}/live/${encodeURIComponent(stream)}/ws`,
    );
  }
  return out;
}

/**
 * Keeps the list fresh while the page lives. `urls()` is what the player reads when it must move.
 * @param {string} stream
 * @returns {{ urls: () => string[] }}
 */
export function watchEdgeList(stream) {
  /** @type {string[]} */
  let urls = [];
  const refresh = async () => {
    try {
      const res = await fetch(`/api/edges/${encodeURIComponent(stream)}`, { cache: 'no-store' });
      if (res.ok) urls = socketUrlsFromList(await res.json(), stream);
    } catch {
      // Keep the last list: the edge that would answer may be the one that just failed.
    }
  };
  void refresh();
  setInterval(() => void refresh(), REFRESH_MS);
  return { urls: () => urls };
}
