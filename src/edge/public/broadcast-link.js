// The /broadcast page's connection to the ingress: one WebSocket at a time. The key is the first message
// (never in the URL); after `{"ok":true}` the sequence headers go first and video waits for a keyframe.
// A socket that drops is replaced (0.5 s … 5 s backoff) and the stream goes on for viewers as after an RTMP
// reconnect; a refusal (wrong key, codec, too fast, …) ends it with the ingress's words. When the uplink
// cannot keep up (unsent bytes above SEND_LIMIT) video is dropped until the next keyframe, and counted.
// With the MediaRecorder fallback (broadcast-recorder.js) the socket says `"format": "webm"` and carries one
// WebM file from its acceptance on; a WebM stream cannot skip bytes, so an uplink that falls too far
// behind (WEBM_DROP_LIMIT unsent) gets a new socket and a new file instead.

import { reconnectDelayMs, readAnswer, shouldReconnect, uplinkBehind } from './broadcast-rules.js';
import { TAG_VIDEO, encodeTag } from './ingest-frames.js';
import { errorText, t } from './i18n.js';

/** @import { EncodedTag, LiveEncoder } from './broadcast-media.js' */
/** @import { RecorderEncoder } from './broadcast-recorder.js' */

const SEND_LIMIT = 4 * 1024 * 1024;
const WEBM_DROP_LIMIT = 8 * 1024 * 1024;
const PING_EVERY_MS = 2000;

/**
 * @typedef {'connecting' | 'sending' | 'live' | 'reconnecting' | 'refused' | 'stopped'} LinkState
 * @typedef {{sentBps: number, rttMs: number | null, dropped: number, behind: boolean,
 *   serverKbps: number | null, reconnects: number}} LinkHealth
 */

export class IngestLink {
  /**
   * @param {{url: string, key: string, encoder: LiveEncoder | RecorderEncoder,
   *   onState: (s: LinkState, detail: string) => void, onAccepted: (name: string, audio: boolean) => void}} opts
   */
  constructor(opts) {
    this.opts = opts;
    /** @type {WebSocket | null} */
    this.ws = null;
    this.accepted = false;
    this.refused = false;
    this.stopped = false;
    this.needKey = true;
    this.attempt = 0;
    this.reconnects = 0;
    this.dropped = 0;
    this.sentBytes = 0;
    this.lastSent = 0;
    this.lastBuffered = 0;
    /** @type {number[]} */
    this.bufferedSamples = [];
    /** @type {LinkHealth} */
    this.health = { sentBps: 0, rttMs: null, dropped: 0, behind: false, serverKbps: null, reconnects: 0 };
    /** @type {ReturnType<typeof setInterval> | undefined} */
    this.timer = undefined;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.retry = undefined;
    this.tick = 0;
    /** @type {number | undefined} the newest media time encoded: a resent sequence header carries it */
    this.lastMs = undefined;
  }

  start() {
    this.connect();
    this.timer = setInterval(() => this.sample(), 1000);
  }

  connect() {
    if (this.stopped) return;
    this.accepted = false;
    this.refused = false;
    this.needKey = true;
    this.opts.onState(this.attempt === 0 && this.reconnects === 0 ? 'connecting' : 'reconnecting', '');
    const ws = new WebSocket(this.opts.url);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    const encoder = this.opts.encoder;
    // Tags announce the microphone so the ingress waits for audio that starts later than the picture
    // (a WebM header names its tracks itself).
    const hello =
      encoder.format === 'webm'
        ? { key: this.opts.key, format: 'webm' }
        : { key: this.opts.key, audio: encoder.sendsAudio };
    ws.onopen = () => ws.send(JSON.stringify(hello));
    ws.onmessage = (ev) => {
      if (typeof ev.data !== 'string') return;
      this.onAnswer(ev.data);
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.accepted = false;
      if (this.opts.encoder.format === 'webm') this.opts.encoder.end();
      if (this.stopped) return;
      if (!shouldReconnect(ev.code, this.refused)) {
        if (!this.refused) {
          this.refused = true;
          this.opts.onState('refused', closeText(ev.code, ev.reason));
        }
        this.stop(false);
        return;
      }
      this.opts.onState('reconnecting', t('broadcast.reconnecting'));
      this.retry = setTimeout(() => {
        this.reconnects++;
        this.connect();
      }, reconnectDelayMs(this.attempt++));
    };
  }

  /** @param {string} text */
  onAnswer(text) {
    const a = readAnswer(text);
    if (a.kind === 'accepted') {
      this.accepted = true;
      this.attempt = 0;
      const { encoder } = this.opts;
      if (encoder.format === 'webm') {
        // A new WebM file for this socket: its header, then a keyframe.
        encoder.begin();
        this.opts.onAccepted(a.name, a.audio);
        this.opts.onState('sending', '');
        return;
      }
      // The sequence headers first, then the next keyframe (asked for now).
      // At the current media time: the ingress measures pace from a socket's first tag.
      const now = this.lastMs ?? 0;
      if (encoder.audioConfig && a.audio) this.sendTag(8, now, encoder.audioConfig);
      if (encoder.videoConfig) this.sendTag(TAG_VIDEO, now, encoder.videoConfig);
      encoder.requestKeyframe();
      this.opts.onAccepted(a.name, a.audio);
      this.opts.onState('sending', '');
    } else if (a.kind === 'refused') {
      this.refused = true;
      this.opts.onState('refused', errorText({ code: a.code, message: a.message }));
    } else if (a.kind === 'pong') {
      this.health.rttMs = Math.round(performance.now() - a.t);
    } else if (a.kind === 'stats') {
      this.health.serverKbps = a.kbps;
      if (a.live) this.opts.onState('live', '');
    }
  }

  /**
   * A tag from the encoder: sent, or dropped when there is no accepted socket or the uplink is full.
   * @param {EncodedTag} t
   */
  send(t) {
    this.lastMs = Math.max(this.lastMs ?? 0, t.timestampMs);
    const ws = this.ws;
    if (!ws || !this.accepted || ws.readyState !== WebSocket.OPEN) return;
    if (t.type === TAG_VIDEO) {
      if (this.needKey && !t.key) return;
      if (ws.bufferedAmount > SEND_LIMIT && !t.key) {
        this.dropped++;
        this.needKey = true;
        this.opts.encoder.requestKeyframe();
        return;
      }
      if (t.key) this.needKey = false;
    } else if (ws.bufferedAmount > 2 * SEND_LIMIT) {
      return;
    }
    this.sendTag(t.type, t.timestampMs, t.body);
  }

  /**
   * A chunk of this socket's WebM file (MediaRecorder): sent in order, never dropped alone; an uplink too
   * far behind gets a new socket (and so a new file starting at a keyframe).
   * @param {Uint8Array} bytes
   */
  sendBytes(bytes) {
    const ws = this.ws;
    if (!ws || !this.accepted || ws.readyState !== WebSocket.OPEN) return;
    if (ws.bufferedAmount > WEBM_DROP_LIMIT) {
      this.dropped++;
      ws.close();
      return;
    }
    ws.send(bytes);
    this.sentBytes += bytes.length;
  }

  /**
   * @param {8 | 9} type
   * @param {number} ms
   * @param {Uint8Array} body
   */
  sendTag(type, ms, body) {
    const msg = encodeTag(type, ms, body);
    this.ws?.send(msg);
    this.sentBytes += msg.length;
  }

  sample() {
    const ws = this.ws;
    const buffered = ws?.bufferedAmount ?? 0;
    const bytes = this.sentBytes - this.lastSent - (buffered - this.lastBuffered);
    this.lastSent = this.sentBytes;
    this.lastBuffered = buffered;
    this.bufferedSamples = [...this.bufferedSamples.slice(-4), buffered];
    this.health = {
      ...this.health,
      sentBps: Math.max(0, bytes * 8),
      dropped: this.dropped + this.opts.encoder.droppedFrames,
      behind: uplinkBehind(this.bufferedSamples),
      reconnects: this.reconnects,
    };
    if (ws && this.accepted && ws.readyState === WebSocket.OPEN && this.tick++ % (PING_EVERY_MS / 1000) === 0)
      ws.send(JSON.stringify({ type: 'ping', t: performance.now() }));
  }

  /** Stops sending; `byUser` closes the socket normally. Idempotent. */
  stop(byUser = true) {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.retry);
    if (byUser) this.opts.onState('stopped', '');
    const ws = this.ws;
    this.ws = null;
    if (ws && ws.readyState <= WebSocket.OPEN) ws.close(1000, 'stopped by the streamer');
  }
}

/**
 * Why the ingress closed the socket, for the streamer: a reason is a code, optionally followed by ": words"
 * (BROWSER_INGEST_TOO_FAST: …), said in the page's language where the catalogue has the code.
 * @param {number} code
 * @param {string} reason
 */
function closeText(code, reason) {
  if (!reason) return t('broadcast.closed', { code });
  const m = /^([A-Z][A-Z_]+)(?::\s*(.*))?$/s.exec(reason);
  return m ? errorText({ code: m[1], message: m[2] ?? '' }) : reason;
}
