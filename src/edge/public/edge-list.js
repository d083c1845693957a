// The other edges this viewer can move to, best first: the edge's /api/edges/NAME list (the viewer's region
// first, least loaded first, full edges left out), refreshed every half minute. The WebSocket player moves
// along it when its edge dies, is cut off or is full, without a reload.

import { asRecord } from './json.js';

const REFRESH_MS = 30_000;

/**
 * Base URLs of the other edges in an /api/edges answer (this edge left out), best first, without a trailing
 * slash: `BASE/live/NAME/...` is the same stream there. [] for anything that does not look like one; only
 * http(s) URLs are taken.
 * @param {unknown} body
 * @returns {string[]}
 */
export function edgeBasesFromList(body) {
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
    out.push(`${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`);
  }
  return out;
}

/**
 * The media-socket URL of stream `stream` at an edge's base URL.
 * @param {string} base
 * @param {string} stream
 */
export function socketUrlAt(base, stream) {
  const scheme = base.startsWith('https:') ? 'wss:' : 'ws:';
  return `${scheme}${base.slice(base.indexOf('//'))}/live/${encodeURIComponent(stream)}/ws`;
}

/**
 * The base URL of the edge behind a media-socket URL (the inverse of socketUrlAt).
 * @param {string} url
 */
export function baseOfSocketUrl(url) {
  const u = new URL(url);
  const scheme = u.protocol === 'wss:' ? 'https:' : 'http:';
  return `${scheme}//${u.host}${u.pathname.replace(/\/live\/[^/]+\/ws$/, '')}`;
}

/**
 * Media-socket URLs of the other edges in an /api/edges answer (this edge left out), or [] for anything
 * that does not look like one. Only http(s) URLs are taken.
 * @param {unknown} body
 * @param {string} stream
 * @returns {string[]}
 */
export function socketUrlsFromList(body, stream) {
  return edgeBasesFromList(body).map((base) => socketUrlAt(base, stream));
}

/**
 * Keeps the list fresh while the page lives. `urls()` (media sockets) and `bases()` (base URLs) are what
 * the players read when they must move.
 * @param {string} stream
 * @returns {{ urls: () => string[], bases: () => string[] }}
 */
export function watchEdgeList(stream) {
  /** @type {string[]} */
  let bases = [];
  /** @type {string[]} */
  let urls = [];
  const refresh = async () => {
    try {
      const res = await fetch(`/api/edges/${encodeURIComponent(stream)}`, { cache: 'no-store' });
      if (!res.ok) return;
      /** @type {unknown} */
      const body = await res.json();
      bases = edgeBasesFromList(body);
      urls = bases.map((base) => socketUrlAt(base, stream));
    } catch {
      // Keep the last list: the edge that would answer may be the one that just failed.
    }
  };
  void refresh();
  setInterval(() => void refresh(), REFRESH_MS);
  return { urls: () => urls, bases: () => bases };
}
