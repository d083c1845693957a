// The /broadcast page's pure decisions: where to connect, how to read the ingress's answers, when the
// uplink is falling behind, whether to reconnect. No DOM (tested in Node).

import { asRecord } from './json.js';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1', '0.0.0.0']);

/**
 * The socket URL for the page: an ingest URL on a loopback address (the all-in-one's own ingress) is
 * reached at the host the page itself came from.
 * @param {string} ingestUrl
 * @param {{hostname: string, protocol: string}} page
 */
export function socketUrlFor(ingestUrl, page) {
  const u = new URL(ingestUrl);
  if (LOOPBACK.has(u.hostname) && !LOOPBACK.has(page.hostname)) u.hostname = page.hostname;
  if (page.protocol === 'https:' && u.protocol === 'ws:' && !LOOPBACK.has(u.hostname)) u.protocol = 'wss:';
  return u.toString();
}

/**
 * A JSON text message from the ingress, checked.
 * @typedef {{kind: 'accepted', name: string, audio: boolean}
 *   | {kind: 'refused', code: string, message: string}
 *   | {kind: 'pong', t: number}
 *   | {kind: 'stats', kbps: number, frames: number, behindMs: number, live: boolean}
 *   | {kind: 'other'}} IngestAnswer
 * @param {string} text
 * @returns {IngestAnswer}
 */
export function readAnswer(text) {
  /** @type {unknown} */
  let v;
  try {
    v = JSON.parse(text);
  } catch {
    return { kind: 'other' };
  }
  const o = asRecord(v);
  if (!o) return { kind: 'other' };
  if (o.ok === true && typeof o.name === 'string')
    return { kind: 'accepted', name: o.name, audio: o.audio === true };
  if (o.ok === false || o.type === 'error')
    return {
      kind: 'refused',
      code: typeof o.code === 'string' ? o.code : 'UNKNOWN',
      // Without words of its own, the page says it by the code (i18n.js errorText).
      message: typeof o.message === 'string' ? o.message : '',
    };
  if (o.type === 'pong' && typeof o.t === 'number') return { kind: 'pong', t: o.t };
  if (o.type === 'stats')
    return {
      kind: 'stats',
      kbps: Number(o.kbps) || 0,
      frames: Number(o.frames) || 0,
      behindMs: Number(o.behindMs) || 0,
      live: o.live === true,
    };
  return { kind: 'other' };
}

/** Close codes after which trying again cannot help: the streamer must act (key, codec, another publish). */
const FINAL_CLOSE_CODES = new Set([1009, 4001, 4003, 4409, 4429]);

/**
 * Reconnect after this socket closed? Not after a refusal, nor when the streamer pressed Stop.
 * @param {number} closeCode
 * @param {boolean} refused an `{"ok":false}` or `{"type":"error"}` arrived
 */
export function shouldReconnect(closeCode, refused) {
  return !refused && !FINAL_CLOSE_CODES.has(closeCode);
}

/**
 * Backoff before reconnect attempt `n` (0-based): 0.5 s, 1 s, 2 s, 4 s, then 5 s.
 * @param {number} n
 */
export function reconnectDelayMs(n) {
  return Math.min(5000, 500 * 2 ** n);
}

/**
 * Is the uplink failing to keep up? Yes when the socket's unsent bytes have grown on each of the last
 * samples and stand above `floor` now, or stand above `ceiling` at all.
 * @param {number[]} buffered bufferedAmount samples, oldest first (one a second)
 * @param {{floor?: number, ceiling?: number}} [limits]
 */
export function uplinkBehind(buffered, { floor = 256 * 1024, ceiling = 2 * 1024 * 1024 } = {}) {
  const last = buffered[buffered.length - 1] ?? 0;
  if (last > ceiling) return true;
  if (buffered.length < 3 || last < floor) return false;
  const tail = buffered.slice(-3);
  return tail.every((v, i) => i === 0 || v > /** @type {number} */ (tail[i - 1]));
}

/**
 * An H.264 codec string whose level fits the frame size (baseline profile, no B-frames).
 * @param {number} width
 * @param {number} height
 */
export function avcCodecFor(width, height) {
  const area = width * height;
  if (area <= 1280 * 720) return 'avc1.42e01f'; // level 3.1
  if (area <= 1920 * 1080) return 'avc1.42e028'; // level 4.0
  return 'avc1.42e033'; // level 5.1
}

/**
 * A bitrate for the frame size: about 0.1 bit per pixel at 30 fps, 0.5 to 6 Mbit/s.
 * @param {number} width
 * @param {number} height
 */
export function videoBitrateFor(width, height) {
  return Math.max(500_000, Math.min(6_000_000, Math.round(width * height * 30 * 0.1)));
}
