// Two chat events that are not messages (issue 16). Held messages: a first-time chatter's link waits for the
// channel's staff, who see it above the log with Approve and Reject (which send /approve or /reject; the hub
// decides and tells every moderator's page to drop it). Raids: the host sends everyone to another live
// channel; the page says so and moves there after a few seconds unless the viewer chooses to stay.

import { el } from './dom.js';
import { formatNumber, t } from './i18n.js';

/** Seconds a raided page waits before it moves (time to read the notice, or to stay). */
export const RAID_DELAY_S = 5;

/**
 * Where a raid takes this page: the same kind of page (watch, embed, popout chat) for the target channel.
 * @param {string} pathname
 * @param {string} target
 * @returns {string | null} null when the target is not a channel name or the page is not a channel's
 */
export function raidPath(pathname, target) {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(target)) return null;
  const m = /^\/(watch|embed|popout-chat)\/[^/]+\/?$/.exec(pathname);
  return m ? `/${m[1]}/${encodeURIComponent(target)}` : null;
}

export class ChatReview {
  /**
   * @param {{container: HTMLElement, command: (text: string) => void, navigate?: (path: string) => void}} opts
   */
  constructor(opts) {
    this.opts = opts;
    this.box = el('section', 'chat-held');
    this.box.setAttribute('aria-label', t('chat.held.label'));
    this.box.hidden = true;
    this.list = el('ul', 'chat-held-list');
    this.box.append(el('h3', 'chat-held-heading', t('chat.held.heading')), this.list);
    this.raidBox = el('div', 'chat-raid');
    this.raidBox.setAttribute('role', 'alert');
    this.raidBox.hidden = true;
    opts.container.prepend(this.raidBox, this.box);
    /** @type {ReturnType<typeof setInterval> | null} */
    this.raidTimer = null;
  }

  /**
   * A held message (the hub sends these to staff only).
   * @param {Record<string, unknown>} ev
   */
  held(ev) {
    if (!Number.isSafeInteger(ev.id) || typeof ev.author !== 'string' || typeof ev.text !== 'string') return;
    const id = /** @type {number} */ (ev.id);
    if (this.list.querySelector(`li[data-id="${id}"]`)) return;
    const li = el('li', 'chat-held-item');
    li.dataset.id = String(id);
    const text = el('span', 'chat-held-text');
    text.append(el('strong', '', ev.author), `: ${ev.text}`);
    const approve = /** @type {HTMLButtonElement} */ (
      el('button', 'secondary-button small', t('chat.held.approve'))
    );
    approve.type = 'button';
    approve.addEventListener('click', () => this.opts.command(`/approve ${id}`));
    const reject = /** @type {HTMLButtonElement} */ (
      el('button', 'link-button danger', t('chat.held.reject'))
    );
    reject.type = 'button';
    reject.addEventListener('click', () => this.opts.command(`/reject ${id}`));
    li.append(text, approve, reject);
    this.list.append(li);
    this.box.hidden = false;
  }

  /** @param {Record<string, unknown>} ev */
  heldDone(ev) {
    const id = ev.id;
    if (typeof id !== 'number' || !Number.isSafeInteger(id)) return;
    this.list.querySelector(`li[data-id="${id}"]`)?.remove();
    this.box.hidden = this.list.children.length === 0;
  }

  /**
   * The host raids `target`: say so, count down, move (unless the viewer stays).
   * @param {Record<string, unknown>} ev
   */
  raid(ev) {
    const target = typeof ev.target === 'string' ? ev.target : '';
    const path = raidPath(location.pathname, target);
    if (!path) return;
    this.stopRaid();
    let left = RAID_DELAY_S;
    const line = el('span', 'chat-raid-text');
    const say = () => {
      line.textContent = t('chat.raid.text', {
        by: typeof ev.by === 'string' ? ev.by : t('chat.raid.theHost'),
        target,
        seconds: formatNumber(left),
      });
    };
    say();
    const go = /** @type {HTMLButtonElement} */ (el('button', 'primary-button small', t('chat.raid.go')));
    go.type = 'button';
    const stay = /** @type {HTMLButtonElement} */ (el('button', 'link-button', t('chat.raid.stay')));
    stay.type = 'button';
    const move = () => {
      this.stopRaid();
      (this.opts.navigate ?? ((p) => location.assign(p)))(path);
    };
    go.addEventListener('click', move);
    stay.addEventListener('click', () => {
      this.stopRaid();
      this.raidBox.hidden = true;
    });
    this.raidBox.replaceChildren(line, go, stay);
    this.raidBox.hidden = false;
    this.raidTimer = setInterval(() => {
      left -= 1;
      if (left <= 0) move();
      else say();
    }, 1000);
  }

  stopRaid() {
    if (this.raidTimer !== null) clearInterval(this.raidTimer);
    this.raidTimer = null;
  }
}
