// The chat input: Enter sends, and a type-ahead list for `:emoji:` (after two characters) and `@name`
// (from the member list) driven by the arrow keys, Tab/Enter to pick and Escape to close.

import { applyCompletion, findToken, moveSelection, suggestEmoji, suggestMembers } from './typeahead.js';
import { suggestionNodes } from './chat-view.js';

/** @import { Member } from './chat-format.js' */
/** @import { Suggestion, Token } from './typeahead.js' */

export class Composer {
  /**
   * @param {{
   *   form: HTMLFormElement, input: HTMLInputElement, list: HTMLUListElement,
   *   onSend: (text: string) => boolean,
   *   sources: () => {custom: Map<string,string>, members: Member[], self: string|null},
   * }} opts
   */
  constructor(opts) {
    this.opts = opts;
    /** @type {Suggestion[]} */
    this.items = [];
    this.selected = -1;
    /** @type {Token | null} */
    this.token = null;
    const { form, input, list } = opts;
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      if (this.items.length && this.selected >= 0) return this.pick(this.selected);
      if (opts.onSend(input.value)) {
        input.value = '';
        this.close();
      }
    });
    input.addEventListener('input', () => this.update());
    input.addEventListener('click', () => this.update());
    input.addEventListener('keyup', (e) => {
      if (['ArrowLeft', 'ArrowRight', 'Home', 'End'].includes(e.key)) this.update();
    });
    input.addEventListener('keydown', (e) => this.keydown(e));
    input.addEventListener('blur', () => setTimeout(() => this.close(), 150));
    // mousedown, not click: picking must not blur the input first.
    list.addEventListener('mousedown', (e) => {
      const li = e.target instanceof Element ? e.target.closest('li[data-index]') : null;
      if (!(li instanceof HTMLElement)) return;
      e.preventDefault();
      this.pick(Number(li.dataset.index));
    });
  }

  /** @param {KeyboardEvent} e */
  keydown(e) {
    if (!this.items.length) return;
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      this.selected = moveSelection(this.selected, e.key === 'ArrowDown' ? 1 : -1, this.items.length);
      this.render();
    } else if (e.key === 'Tab' || (e.key === 'Enter' && this.selected >= 0)) {
      e.preventDefault();
      this.pick(this.selected >= 0 ? this.selected : 0);
    } else if (e.key === 'Escape') {
      e.preventDefault();
      this.close();
    }
  }

  update() {
    const { input } = this.opts;
    const token = findToken(input.value, input.selectionStart ?? input.value.length);
    if (!token) return this.close();
    const { custom, members, self } = this.opts.sources();
    const items =
      token.kind === 'emoji'
        ? suggestEmoji(token.query, custom)
        : suggestMembers(token.query, members, { self });
    if (!items.length) return this.close();
    this.token = token;
    this.items = items;
    // The best match is highlighted so Enter/Tab picks it; but a bare "@" or a name typed out in full
    // leaves Enter to send the message.
    const typedOut =
      token.kind === 'mention' && items.some((i) => i.name.toLowerCase() === token.query.toLowerCase());
    this.selected = token.kind === 'mention' && (!token.query || typedOut) ? -1 : 0;
    this.render();
  }

  render() {
    const { list, input } = this.opts;
    list.replaceChildren(...suggestionNodes(this.items, this.selected));
    list.hidden = this.items.length === 0;
    input.setAttribute('aria-expanded', String(!list.hidden));
    if (this.selected >= 0) input.setAttribute('aria-activedescendant', `suggest-${this.selected}`);
    else input.removeAttribute('aria-activedescendant');
  }

  /** @param {number} index */
  pick(index) {
    const item = this.items[index];
    if (!item || !this.token) return this.close();
    const { input } = this.opts;
    const next = applyCompletion(input.value, this.token, item.insert);
    input.value = next.value;
    input.setSelectionRange(next.caret, next.caret);
    this.close();
    input.focus();
  }

  /**
   * Puts text (a mention) at the caret, e.g. when a name is clicked.
   * @param {string} text
   */
  insert(text) {
    const { input } = this.opts;
    const at = input.selectionStart ?? input.value.length;
    const before = input.value.slice(0, at);
    const pad = before && !before.endsWith(' ') ? ' ' : '';
    const value = `${before}${pad}${text} ${input.value.slice(at).trimStart()}`;
    input.value = value.slice(0, input.maxLength > 0 ? input.maxLength : value.length);
    const caret = Math.min(input.value.length, before.length + pad.length + text.length + 1);
    input.focus();
    input.setSelectionRange(caret, caret);
  }

  close() {
    this.items = [];
    this.selected = -1;
    this.token = null;
    this.opts.list.hidden = true;
    this.opts.list.replaceChildren();
    this.opts.input.setAttribute('aria-expanded', 'false');
    this.opts.input.removeAttribute('aria-activedescendant');
  }
}
