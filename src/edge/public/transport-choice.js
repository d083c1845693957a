// Which transports a browser can play, in the order the watch page tries them. Pure: the capabilities
// come in as data (browserCapabilities reads them off the page), so the ordering is unit-tested in Node.
//
// Default order, lowest latency first: the WebSocket player (our own MSE player, ~0.5 s), hls.js over
// LL-HLS (plain HTTP, ~1-2 s; works through proxies and caches that refuse WebSockets), dash.js over
// LL-DASH (same), the browser's built-in HLS player (no quality menu, the browser picks the distance to
// the live edge). `?transport=` puts one first; the others stay behind it as fallbacks.

import { t } from './i18n.js';

/** @typedef {'ws' | 'hls' | 'dash' | 'native'} Transport */
/** @typedef {{ mse: boolean, managedMse: boolean, nativeHls: boolean }} Capabilities */

/** @type {readonly Transport[]} */
export const DEFAULT_ORDER = Object.freeze(['ws', 'hls', 'dash', 'native']);

/**
 * @param {string | null} requested the page's ?transport= (anything else is ignored)
 * @param {Capabilities} can
 * @returns {{ order: Transport[], reason?: string }} transports to try, first choice first; empty with a
 *   reason in words when the browser can play none
 */
export function chooseTransport(requested, can) {
  // hls.js and dash.js take either kind of MediaSource; so does the WebSocket player (media-sink.js).
  const mse = can.mse || can.managedMse;
  /** @param {Transport} t */
  const playable = (t) => (t === 'native' ? can.nativeHls : mse);
  const order = DEFAULT_ORDER.filter(playable);
  if (order.length === 0) return { order, reason: t('player.nothingPlays') };
  // ?transport=hls asks for HLS: hls.js where there is a MediaSource, else the built-in player.
  const asked = requested === 'hls' && !mse ? 'native' : requested;
  const first = order.find((t) => t === asked);
  return { order: first ? [first, ...order.filter((t) => t !== first)] : order };
}

/**
 * What this page can play with.
 * @param {HTMLVideoElement} video
 * @returns {Capabilities}
 */
export function browserCapabilities(video) {
  return {
    mse: 'MediaSource' in globalThis,
    // Safari 17+ and iOS 17.1+ (where iPhones have no plain MediaSource).
    managedMse: 'ManagedMediaSource' in globalThis,
    nativeHls: video.canPlayType('application/vnd.apple.mpegurl') !== '',
  };
}
