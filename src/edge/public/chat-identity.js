// Who you are in the chat: the name the hub gave you (a `you` event), "Chatting as …", and for guests the
// name they pick (kept in localStorage and sent as `?name=` on the next connect).

import { CHAT_NAME_RE, safeColor } from './chat-format.js';
import { loginHref } from './auth-rules.js';
import { setUserColor } from './dom.js';
import { t } from './i18n.js';

/** @import { ChatEvent } from './chat-connection.js' */

/** @typedef {{name: string, color: string, badge: unknown, canModerate: boolean}} You */
/** @typedef {{name: string, role: string}} PageUser */

const GUEST_KEY = 'tiercast.guestName';
const GUEST_NAME_RE = /^[A-Za-z0-9_-]{2,32}$/;

/** The guest name picked on an earlier visit, if it is still a valid one. */
export function storedGuestName() {
  try {
    const n = localStorage.getItem(GUEST_KEY);
    return n && GUEST_NAME_RE.test(n) ? n : null;
  } catch {
    return null;
  }
}

/** @param {string} name */
function storeGuestName(name) {
  try {
    localStorage.setItem(GUEST_KEY, name);
  } catch {
    // Private mode: the name lasts for this page only.
  }
}

export class ChatIdentity {
  /**
   * @param {{
   *   user: PageUser | null,
   *   els: {you: HTMLElement, guestActions: HTMLElement, rename: HTMLElement, login: HTMLAnchorElement,
   *     guestForm: HTMLFormElement, guestName: HTMLInputElement, guestError: HTMLElement, cancel: HTMLElement},
   *   onRename: () => void,
   * }} opts
   */
  constructor(opts) {
    this.opts = opts;
    /** @type {You | null} */
    this.you = null;
    /** @type {string | null} a guest name asked for and not yet confirmed by a `you` event */
    this.requestedName = null;
    /** @type {string | null} shown once the history after a rename has replaced the log */
    this.pendingNotice = null;
    const { els } = opts;
    els.login.href = loginHref(location.pathname);
    els.rename.addEventListener('click', () => {
      els.guestForm.hidden = false;
      els.guestName.value = this.you?.name ?? storedGuestName() ?? '';
      els.guestError.textContent = '';
      els.guestName.focus();
      els.guestName.select();
    });
    els.cancel.addEventListener('click', () => (els.guestForm.hidden = true));
    els.guestForm.addEventListener('submit', (e) => {
      e.preventDefault();
      const name = els.guestName.value.trim();
      if (!GUEST_NAME_RE.test(name) || !CHAT_NAME_RE.test(name)) {
        els.guestError.textContent = t('chat.badGuestName');
        return;
      }
      els.guestForm.hidden = true;
      if (name === this.you?.name) return;
      this.requestedName = name;
      storeGuestName(name);
      opts.onRename();
    });
  }

  /** The `?name=` to connect with: none for accounts, else the name asked for or kept. */
  guestName() {
    return this.opts.user ? null : (this.requestedName ?? storedGuestName());
  }

  /**
   * A `you` event. True if the messages must be drawn again (your name or moderator rights changed).
   * @param {ChatEvent} ev
   */
  accept(ev) {
    if (typeof ev.name !== 'string') return false;
    const before = this.you;
    this.you = {
      name: ev.name,
      color: safeColor(ev.color),
      badge: ev.badge,
      canModerate: ev.canModerate === true,
    };
    if (this.requestedName && this.requestedName.toLowerCase() !== ev.name.toLowerCase()) {
      // Shown after the history that follows, which replaces the list.
      this.pendingNotice = t('chat.nameTaken', { wanted: this.requestedName, name: ev.name });
    }
    this.requestedName = null;
    if (!this.opts.user && ev.badge === 'guest') storeGuestName(ev.name);
    this.render();
    return !before || before.name !== this.you.name || before.canModerate !== this.you.canModerate;
  }

  /** The notice left by a refused rename, once. */
  takeNotice() {
    const text = this.pendingNotice;
    this.pendingNotice = null;
    return text;
  }

  render() {
    const { els, user } = this.opts;
    const name = this.you?.name ?? user?.name ?? '';
    const b = document.createElement('b');
    b.textContent = name;
    setUserColor(b, this.you?.color);
    els.you.replaceChildren(name ? `${t('chat.chattingAs')} ` : '', name ? b : '');
    els.guestActions.hidden = !!user;
  }

  /** The chat is off for this viewer: no renaming. */
  disable() {
    this.opts.els.guestActions.hidden = true;
    this.opts.els.guestForm.hidden = true;
  }

  /** Guests may not chat here: keep the way out (the login link), without the guest-name button. */
  loginOnly() {
    const { els } = this.opts;
    els.guestActions.hidden = false;
    els.rename.hidden = true;
    els.guestActions.querySelector('[aria-hidden]')?.setAttribute('hidden', '');
  }
}
