// The JSON (text) messages of the viewer WebSocket, edge → page (src/edge/viewer-session.ts and
// viewer-socket.ts write them). Media travels as binary frames (frames.js); these carry the stream's
// description, clock pongs, the end of a stream, errors and skip notices.

import { asRecord } from './json.js';

/**
 * A rendition as the edge describes it (src/common/media.ts RenditionInfo).
 * @typedef {{ id: string, kind: 'video' | 'audio', codecs: string, bandwidth: number, width?: number,
 *   height?: number, frameRate?: number, timescale: number }} Rendition
 */
/**
 * The stream's description (src/common/media.ts StreamInfo), sent on join and after every change.
 * @typedef {{ name: string, availabilityStartTime: number, segmentDurationMs: number, chunkDurationMs: number,
 *   epoch: number, renditions: Rendition[], protected?: boolean }} StreamInfo
 */
/**
 * @typedef {{ type: 'info', info: StreamInfo }
 *   | { type: 'pong', t: number, server: number }
 *   | { type: 'end', reason?: string }
 *   | { type: 'error', code: string, message?: string }
 *   | { type: 'skipped', rendition?: string }
 *   | { type: 'peer', msg: Record<string, unknown> }} ViewerMessage
 */

/** @param {unknown} v */
const optionalString = (v) => (typeof v === 'string' ? v : undefined);

/**
 * One text message, or null for one this page does not use (newer edges may say more; ignoring it keeps
 * old pages working). Throws on text that is not JSON.
 * @param {string} text
 * @returns {ViewerMessage | null}
 */
export function parseViewerMessage(text) {
  const msg = asRecord(JSON.parse(text));
  // Peer-assisted delivery (peer-assist.js): its messages, and errors about its messages.
  if (msg && typeof msg.type === 'string' && msg.type.startsWith('p2p')) return { type: 'peer', msg };
  if (msg?.type === 'error' && String(msg.code).startsWith('P2P_')) return { type: 'peer', msg };
  switch (msg?.type) {
    case 'info': {
      const info = asRecord(msg.info);
      if (!info || !Array.isArray(info.renditions)) return null;
      // The edge relays what its upstream validated (STREAM_START in src/common/protocol/frames.ts).
      return { type: 'info', info: /** @type {StreamInfo} */ (info) };
    }
    case 'pong':
      return typeof msg.t === 'number' && typeof msg.server === 'number'
        ? { type: 'pong', t: msg.t, server: msg.server }
        : null;
    case 'end':
      return { type: 'end', reason: optionalString(msg.reason) };
    case 'error':
      return { type: 'error', code: String(msg.code), message: optionalString(msg.message) };
    case 'skipped':
      return { type: 'skipped', rendition: optionalString(msg.rendition) };
    default:
      return null;
  }
}
