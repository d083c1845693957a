// The chat socket (`/chat/NAME`): JSON events in, actions out, reconnecting with backoff after a drop.
// A close with 4403 (kicked or banned) is final. The WebSocket constructor and timers are injectable so the
// reconnect rules run in Node tests; nothing touches the browser at import time.

import { describeClose } from './chat-format.js';
import { asRecord } from './json.js';

/**
 * One JSON event from the chat socket; chat.js validates each field before use.
 * @typedef {{type: string} & Record<string, unknown>} ChatEvent
 */

/** @typedef {'connecting'|'open'|'retrying'|'closed'} ConnectionState */
/** @typedef {{text: string, delayMs?: number, code?: string | null}} StateDetail */

/**
 * What the connection needs of a WebSocket: the browser's, or a fake in Node tests.
 * @typedef {{
 *   readonly readyState: number,
 *   send(data: string): void,
 *   close(code?: number, reason?: string): void,
 *   onopen: ((e: Event) => void) | null,
 *   onmessage: ((e: MessageEvent) => void) | null,
 *   onclose: ((e: CloseEvent) => void) | null,
 *   onerror: ((e: Event) => void) | null,
 * }} SocketLike
 */

/**
 * @typedef {{
 *   url: () => string,
 *   onEvent: (event: ChatEvent) => void,
 *   onState: (state: ConnectionState, detail?: StateDetail) => void,
 *   WebSocketImpl?: new (url: string) => SocketLike,
 *   setTimer?: (fn: () => void, ms: number) => unknown,
 *   clearTimer?: (t: unknown) => void,
 *   random?: () => number,
 * }} ConnectionOptions
 */

/**
 * Reconnect delay after `attempt` failures in a row: 0.5 s doubling to 15 s, ±20 % so edges are not stampeded.
 * @param {number} attempt
 */
export function reconnectDelay(attempt, random = Math.random, baseMs = 500, maxMs = 15_000) {
  const raw = Math.min(maxMs, baseMs * 2 ** Math.max(0, Math.min(attempt, 16)));
  return Math.round(raw * (0.8 + 0.4 * random()));
}

/**
 * `ws(s)://host/chat/NAME[?name=guest]` for the page's origin.
 * @param {{protocol: string, host: string}} loc
 * @param {string} channel
 * @param {string | null} [guestName]
 */
export function chatUrl(loc, channel, guestName) {
  const scheme = loc.protocol === 'https:' ? 'wss' : 'ws';
  const q = guestName ? `?name=${encodeURIComponent(guestName)}` : '';
  return `${scheme}://${loc.host}/chat/${encodeURIComponent(channel)}${q}`;
}

export class ChatConnection {
  /** @param {ConnectionOptions} opts */
  constructor(opts) {
    this.opts = opts;
    /** @type {SocketLike | null} */
    this.ws = null;
    /** @type {unknown} */
    this.timer = null;
    this.attempt = 0;
    this.stopped = false;
    this.final = false;
  }

  get isOpen() {
    return !!this.ws && this.ws.readyState === 1;
  }

  start() {
    this.stopped = false;
    this.final = false;
    this.attempt = 0;
    this.open();
  }

  /** Drops the current socket and connects again now (a new guest name, a new login). */
  restart() {
    this.detach();
    this.start();
  }

  /**
   * Sends an action; false if the socket is not open (the caller keeps the text).
   * @param {{type: string} & Record<string, unknown>} action
   */
  send(action) {
    const ws = this.ws;
    if (!ws || !this.isOpen) return false;
    ws.send(JSON.stringify(action));
    return true;
  }

  close() {
    this.stopped = true;
    this.detach();
  }

  open() {
    /** @type {new (url: string) => SocketLike} */
    const Impl = this.opts.WebSocketImpl ?? WebSocket;
    this.opts.onState('connecting');
    let ws;
    try {
      ws = new Impl(this.opts.url());
    } catch {
      this.retry(1006, '');
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.attempt = 0;
      this.opts.onState('open');
    };
    ws.onmessage = (e) => {
      if (this.ws !== ws || typeof e.data !== 'string') return;
      let event;
      try {
        event = asRecord(JSON.parse(e.data));
      } catch {
        return;
      }
      if (event && typeof event.type === 'string') this.opts.onEvent({ ...event, type: event.type });
    };
    ws.onclose = (e) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.retry(e.code, e.reason);
    };
    // An error is always followed by a close event, which decides what happens next.
    ws.onerror = () => {};
  }

  /** @param {number} code @param {string} reason */
  retry(code, reason) {
    if (this.stopped) return;
    const what = describeClose(code, reason);
    if (!what.retry) {
      this.final = true;
      this.opts.onState('closed', { text: what.text, code: what.code });
      return;
    }
    const delayMs = reconnectDelay(this.attempt++, this.opts.random);
    this.opts.onState('retrying', { text: what.text, delayMs });
    const setTimer = this.opts.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    this.timer = setTimer(() => {
      this.timer = null;
      if (!this.stopped) this.open();
    }, delayMs);
  }

  detach() {
    if (this.timer !== null) {
      const clearTimer =
        this.opts.clearTimer ?? ((t) => clearTimeout(/** @type {ReturnType<typeof setTimeout>} */ (t)));
      clearTimer(this.timer);
      this.timer = null;
    }
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = null;
      try {
        ws.close(1000, 'leaving');
      } catch {
        // Already closed.
      }
    }
  }
}
