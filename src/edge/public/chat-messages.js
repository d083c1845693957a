// The chat log on screen: messages in seq order (MessageLog decides where each goes and which fall out),
// notices, and following the bottom while the viewer is there ("New messages ↓" when they scrolled up).

import { MessageLog, isNearBottom } from './chat-log.js';
import { parseMessage } from './chat-format.js';
import { messageNode, noticeNode } from './chat-view.js';

/** @import { ChatMessage } from './chat-format.js' */

/** Notices kept in the log: a flapping connection must not push the messages out. */
const MAX_NOTICES = 40;
const MAX_MESSAGES = 300;

/** What a message's look depends on besides the message itself. */
/** @typedef {{custom: Map<string, string>, self: string | null, canModerate: boolean}} MessageContext */

export class MessagePane {
  /**
   * @param {{
   *   log: HTMLElement, more: HTMLElement,
   *   context: () => MessageContext,
   *   onScroll: () => void,
   * }} opts
   */
  constructor(opts) {
    this.opts = opts;
    this.log = new MessageLog(MAX_MESSAGES);
    /** @type {Map<number, {msg: ChatMessage, node: HTMLElement}>} */
    this.shown = new Map();
    /** Whether new messages scroll the log down (the viewer is at the bottom). */
    this.stick = true;
    const { log, more } = opts;
    log.addEventListener('scroll', () => {
      this.stick = isNearBottom(log.scrollTop, log.clientHeight, log.scrollHeight);
      if (this.stick) more.hidden = true;
      opts.onScroll();
    });
    // Drawings and custom emoji grow a message after it was placed: stay at the bottom if we were there.
    log.addEventListener('load', () => this.stick && this.scrollToBottom(), true);
    more.addEventListener('click', () => {
      this.stick = true;
      this.scrollToBottom();
    });
  }

  scrollToBottom() {
    this.opts.log.scrollTop = this.opts.log.scrollHeight;
    this.opts.more.hidden = true;
  }

  /** After something was added: follow it, or offer to. */
  afterAdd() {
    if (this.stick) this.scrollToBottom();
    else this.opts.more.hidden = false;
  }

  /**
   * Places one message from the server (invalid ones and repeats are dropped).
   * @param {unknown} raw
   */
  add(raw) {
    const msg = parseMessage(raw);
    if (!msg) return;
    const pos = this.log.add(msg.seq);
    if (!pos) return;
    for (const seq of pos.evicted) {
      this.shown.get(seq)?.node.remove();
      this.shown.delete(seq);
    }
    if (!this.log.has(msg.seq)) return;
    const node = messageNode(msg, this.opts.context());
    this.shown.set(msg.seq, { msg, node });
    const before = pos.before === null ? null : (this.shown.get(pos.before)?.node ?? null);
    this.opts.log.insertBefore(node, before);
  }

  /**
   * A page of history: the first page replaces the list, the next ones add to it.
   * @param {unknown[]} messages
   * @param {boolean} append
   */
  history(messages, append) {
    if (!append) this.clear();
    for (const m of messages) this.add(m);
    this.stick = true;
    this.scrollToBottom();
  }

  /** @param {number[]} seqs */
  remove(seqs) {
    for (const seq of this.log.remove(seqs)) {
      this.shown.get(seq)?.node.remove();
      this.shown.delete(seq);
    }
  }

  clear() {
    this.log.clear();
    this.shown.clear();
    this.opts.log.replaceChildren();
  }

  /** After `you` or the emoji list changed: mentions, emoji and moderator buttons depend on them. */
  rerender() {
    for (const entry of this.shown.values()) {
      const node = messageNode(entry.msg, this.opts.context());
      entry.node.replaceWith(node);
      entry.node = node;
    }
  }

  /**
   * @param {unknown} level
   * @param {string} text
   */
  notice(level, text) {
    const { log } = this.opts;
    log.append(noticeNode(level, text));
    const notices = log.querySelectorAll('li.notice');
    for (let i = 0; i < notices.length - MAX_NOTICES; i++) notices[i]?.remove();
    this.afterAdd();
  }

  /**
   * The message shown under this seq, if any.
   * @param {number} seq
   */
  message(seq) {
    return this.shown.get(seq)?.msg;
  }
}
