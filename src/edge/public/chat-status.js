// The chat's connection state and the status line above the log: "Connecting…" before the first open,
// "Reconnecting…" after a drop, "Chat reconnecting…" while the edge has lost the hub, "Disconnected" once
// the chat closed for good. Nothing shows while all is well.

import { t } from './i18n.js';

/** @import { ConnectionState } from './chat-connection.js' */

export class ConnectionStatus {
  /** @param {HTMLElement} el */
  constructor(el) {
    this.el = el;
    /** @type {ConnectionState} */
    this.socket = 'connecting';
    this.everOpen = false;
    /** The edge's link to the hub is down (a `status` event); the socket itself may be fine. */
    this.hubReconnecting = false;
    /** Closed for good (a kick, a refusal): no reconnect follows. */
    this.final = false;
  }

  /** @param {ConnectionState} state */
  socketState(state) {
    this.socket = state;
    if (state === 'open') this.everOpen = true;
    if (state === 'closed') this.final = true;
    this.render();
  }

  /** @param {unknown} state the edge's hub link: 'reconnecting' or back to normal */
  hubState(state) {
    this.hubReconnecting = state === 'reconnecting';
    this.render();
  }

  render() {
    let text = '';
    let kind = 'warn';
    if (this.final) {
      text = t('chat.status.disconnected');
      kind = 'error';
    } else if (this.socket !== 'open')
      text = this.everOpen ? t('chat.status.reconnecting') : t('chat.status.connecting');
    else if (this.hubReconnecting) text = t('chat.status.hubReconnecting');
    this.el.textContent = text;
    this.el.dataset.kind = kind;
    this.el.hidden = !text;
  }
}
