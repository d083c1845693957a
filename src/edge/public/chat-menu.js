// The small menu that opens on a chat name or a message's "⋯" button: "Mention" for everyone, and for
// moderators the entries chat-format.js allows (delete, mute, ban…). It only positions itself and reports the
// pick; chat.js turns a pick into a slash command.

import { menuNodes } from './chat-view.js';

/** @import { MenuAction } from './chat-format.js' */

export class NameMenu {
  /**
   * @param {{menu: HTMLElement, container: HTMLElement,
   *   onPick: (action: MenuAction, author: string) => void}} opts
   */
  constructor(opts) {
    this.opts = opts;
    /** @type {{author: string, actions: MenuAction[]} | null} */
    this.target = null;
    const { menu } = opts;
    menu.addEventListener('click', (e) => {
      const b = e.target instanceof Element ? e.target.closest('button[data-index]') : null;
      if (!(b instanceof HTMLElement) || !this.target) return;
      const { actions, author } = this.target;
      const action = actions[Number(b.dataset.index)];
      this.close();
      if (action) opts.onPick(action, author);
    });
    document.addEventListener('keydown', (e) => e.key === 'Escape' && this.close());
    document.addEventListener('mousedown', (e) => {
      if (menu.hidden || !(e.target instanceof Element) || menu.contains(e.target)) return;
      // A click on another name reopens the menu there (its own handler); anything else closes it.
      if (!e.target.closest('button.author, button.msg-actions')) this.close();
    });
  }

  /**
   * Opens under `anchor`, kept inside the container.
   * @param {Element} anchor
   * @param {string} author
   * @param {MenuAction[]} actions
   */
  open(anchor, author, actions) {
    const { menu, container } = this.opts;
    this.target = { author, actions };
    menu.replaceChildren(...menuNodes(actions));
    menu.hidden = false;
    const box = container.getBoundingClientRect();
    const r = anchor.getBoundingClientRect();
    const top = Math.min(r.bottom - box.top + 4, box.height - menu.offsetHeight - 4);
    menu.style.top = `${Math.max(4, top)}px`;
    menu.style.left = `${Math.max(4, Math.min(r.left - box.left, box.width - menu.offsetWidth - 4))}px`;
    menu.querySelector('button')?.focus();
  }

  close() {
    if (this.opts.menu.hidden) return;
    this.opts.menu.hidden = true;
    this.target = null;
  }
}
