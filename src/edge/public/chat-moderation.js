// Clicks on names: a viewer clicking a name mentions its owner; a moderator (or anyone clicking a message's
// "⋯") gets the menu (chat-menu.js) with "Mention" and the sanctions chat-format.js allows, and a pick
// becomes the matching slash command.

import { CHAT_NAME_RE, moderationActions, moderationCommand } from './chat-format.js';
import { NameMenu } from './chat-menu.js';
import { t } from './i18n.js';

/** @import { ChatMessage, MenuAction } from './chat-format.js' */
/** @import { You } from './chat-identity.js' */

export class NameActions {
  /**
   * @param {{
   *   menu: HTMLElement, container: HTMLElement,
   *   log: HTMLElement, memberList: HTMLElement,
   *   you: () => You | null,
   *   message: (seq: number) => ChatMessage | undefined,
   *   badgeOf: (name: string) => string,
   *   mention: (text: string) => void,
   *   command: (text: string) => void,
   * }} opts
   */
  constructor(opts) {
    this.opts = opts;
    this.menu = new NameMenu({
      menu: opts.menu,
      container: opts.container,
      onPick: (action, author) => {
        if (action.type === 'mention') return opts.mention(`@${author}`);
        if (action.type === 'ban' && !confirm(t('chat.confirmBan', { author }))) return;
        opts.command(moderationCommand(action, author));
      },
    });
    opts.log.addEventListener('click', (e) => this.onNameClick(e, false));
    opts.memberList.addEventListener('click', (e) => this.onNameClick(e, true));
  }

  /**
   * A name or "⋯" was clicked: viewers mention the author, moderators get the menu.
   * @param {MouseEvent} e
   * @param {boolean} fromMembers
   */
  onNameClick(e, fromMembers) {
    const btn = e.target instanceof Element ? e.target.closest('button.author, button.msg-actions') : null;
    if (!(btn instanceof HTMLElement)) return;
    const li = btn.closest('li');
    const author = btn.dataset.author ?? li?.dataset.author ?? '';
    const you = this.opts.you();
    if (!you?.canModerate && btn.classList.contains('author')) {
      if (CHAT_NAME_RE.test(author)) this.opts.mention(`@${author}`);
      return;
    }
    const msg = !fromMembers && li?.dataset.seq ? this.opts.message(Number(li.dataset.seq)) : undefined;
    /** @type {MenuAction[]} */
    const actions = [{ type: 'mention', label: t('chat.mention', { author }) }];
    if (msg) actions.push(...moderationActions(msg, you));
    else {
      const asMessage = { seq: -1, kind: 'text', author, badge: this.opts.badgeOf(author) };
      actions.push(...moderationActions(asMessage, you).filter((a) => a.type !== 'delete'));
    }
    this.menu.open(btn, author, actions);
  }

  close() {
    this.menu.close();
  }
}
