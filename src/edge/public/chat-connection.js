// The chat socket (`/chat/NAME`): JSON events in, actions out, reconnecting with backoff after a drop.
// A close with 4403 (kicked or banned) is final. The WebSocket constructor and timers are injectable so the
// reconnect rules run in Node tests; nothing touches the browser at import time.

import { describeClose } from './chat-format.js';

/** Reconnect delay after `attempt` failures in a row: 0.5 s doubling to 15 s, ±20 % so edges are not stampeded. */
export function reconnectDelay(attempt, random = Math.random, baseMs = 500, maxMs = 15_000) {
  const raw = Math.min(maxMs, baseMs * 2 ** Math.max(0, Math.min(attempt, 16)));
  return Math.round(raw * (0.8 + 0.4 * random()));
}

/** `ws(s)://host/chat/NAME[?name=guest]` for the page's origin. */
export function chatUrl(loc, channel, guestName) {
  const scheme = loc.protocol === 'https:' ? 'wss' : 'ws';
  const q = guestName ? `?name=${encodeURIComponent(guestName)}` : '';
  return `${scheme}://${loc.host}/chat/${encodeURIComponent(channel)}${q}`;
}

export class ChatConnection {
  /**
   * @param {{
   *   url: () => string,
   *   onEvent: (event: any) => void,
   *   onState: (state: 'connecting'|'open'|'retrying'|'closed', detail?: {text:string, delayMs?:number, code?:string|null}) => void,
   *   WebSocketImpl?: typeof WebSocket,
   *   setTimer?: (fn: () => void, ms: number) => any,
   *   clearTimer?: (t: any) => void,
   *   random?: () => number,
   * }} opts
   */
  constructor(opts) {
    this.opts = opts;
    this.ws = null;
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

  /** Sends an action; false if the socket is not open (the caller keeps the text). */
  send(action) {
    if (!this.isOpen) return false;
    this.ws.send(JSON.stringify(action));
    return true;
  }

  close() {
    this.stopped = true;
    this.detach();
  }

  open() {
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
        event = JSON.parse(e.data);
      } catch {
        return;
      }
      if (event && typeof event === 'object' && typeof event.type === 'string') this.opts.onEvent(event);
    };
    ws.onclose = (e) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.retry(e.code, e.reason);
    };
    // An error is always followed by a close event, which decides what happens next.
    ws.onerror = () => {};
  }

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
      (this.opts.clearTimer ?? clearTimeout)(this.timer);
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
