// The "In chat" panel: who is here (hosts and moderators first), the head count on its toggle button, and
// the list the @name type-ahead draws from.

import { parseMembers } from './chat-format.js';
import { memberNodes } from './chat-view.js';
import { formatNumber, t } from './i18n.js';

/** @import { Member } from './chat-format.js' */

export class MemberPanel {
  /**
   * `label`: the words after the count, for screen readers ("people in chat"), in the count's plural form.
   * @param {{toggle: HTMLElement, count: HTMLElement, label?: HTMLElement | null, panel: HTMLElement,
   *   list: HTMLElement}} els
   */
  constructor(els) {
    this.els = els;
    /** @type {Member[]} */
    this.members = [];
    /** @type {number | null} everyone in the chat; the list may be cut short */
    this.total = null;
    els.toggle.addEventListener('click', () => {
      els.panel.hidden = !els.panel.hidden;
      els.toggle.setAttribute('aria-expanded', String(!els.panel.hidden));
    });
  }

  /**
   * A `members` event: the list and the total head count.
   * @param {unknown} members
   * @param {unknown} total
   * @param {string | null} self
   */
  update(members, total, self) {
    this.members = parseMembers(members);
    this.total =
      typeof total === 'number' && Number.isSafeInteger(total) && total >= this.members.length
        ? total
        : this.members.length;
    this.render(self);
  }

  /** @param {string | null} self */
  render(self) {
    const count = this.total ?? this.members.length;
    this.els.count.textContent = formatNumber(count);
    if (this.els.label) this.els.label.textContent = ` ${t('chat.people', { count })}`;
    this.els.list.replaceChildren(...memberNodes(this.members, self));
  }

  /**
   * A member's badge, or 'user' for someone not in the list.
   * @param {string} name
   */
  badgeOf(name) {
    return this.members.find((m) => m.name === name)?.badge ?? 'user';
  }
}
