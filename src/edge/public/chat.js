// The watch page's chat panel: joins `/chat/NAME` and wires the parts together. The log (chat-messages.js)
// shows messages in seq order, notices, deletions and clears; the composer (chat-composer.js) sends what the
// viewer types, the drawing panel (chat-drawing.js) what they draw; the member panel (chat-members.js) lists
// who is here; names open the moderator menu (chat-moderation.js); chat-identity.js keeps who you are and the
// guest name; chat-status.js the connection state; chat-review.js held links (for staff) and raids. All
// untrusted text reaches the page through chat-view.js (textContent only).

import { ChatConnection, chatUrl } from './chat-connection.js';
import { emojiMap, outgoingText, parseLimits } from './chat-format.js';
import { lineText } from './chat-lines.js';
import { Composer } from './chat-composer.js';
import { MessagePane } from './chat-messages.js';
import { MemberPanel } from './chat-members.js';
import { NameActions } from './chat-moderation.js';
import { ChatIdentity } from './chat-identity.js';
import { ConnectionStatus } from './chat-status.js';
import { DrawingPanel } from './chat-drawing.js';
import { ChatReview } from './chat-review.js';
import { byId, query } from './dom.js';
import { loadMe } from './session.js';
import { streamAccess } from './stream-access.js';
import { has, t } from './i18n.js';

/** @import { ChatEvent, ConnectionState, StateDetail } from './chat-connection.js' */
/** @import { ChatLimits } from './chat-format.js' */
/** @import { PageUser } from './chat-identity.js' */

// Until the edge announces the hub's limits (a `limits` event on join): the hub's defaults.
/** @type {ChatLimits} */
const DEFAULT_LIMITS = { maxMessageChars: 500, maxDrawingBytes: 100_000 };

/**
 * @param {unknown} n
 * @returns {n is number}
 */
function isSeq(n) {
  return Number.isSafeInteger(n);
}

/**
 * @param {{channel: string, user: PageUser | null}} opts
 */
export function mountChat({ channel, user }) {
  const input = byId('chat-input', HTMLInputElement);
  const sendButton = byId('chat-send', HTMLButtonElement);
  const log = byId('chat-log', HTMLElement);
  const memberList = byId('chat-member-list', HTMLElement);
  let limits = DEFAULT_LIMITS;
  let disabled = false;
  /** @type {string | null} the code of the last notice, so a close does not repeat it */
  let lastNoticeCode = null;
  /** @type {Map<string, string>} custom emoji: name → image URL */
  let custom = new Map();

  const status = new ConnectionStatus(byId('chat-status', HTMLElement));
  const identity = new ChatIdentity({
    user,
    els: {
      you: byId('chat-you', HTMLElement),
      guestActions: byId('chat-guest-actions', HTMLElement),
      rename: byId('chat-rename', HTMLButtonElement),
      login: byId('chat-login', HTMLAnchorElement),
      guestForm: byId('chat-guest-form', HTMLFormElement),
      guestName: byId('chat-guest-name', HTMLInputElement),
      guestError: byId('chat-guest-error', HTMLElement),
      cancel: byId('chat-guest-cancel', HTMLButtonElement),
    },
    onRename: () => conn.restart(),
  });
  const members = new MemberPanel({
    toggle: byId('chat-members-toggle', HTMLButtonElement),
    count: byId('chat-member-count', HTMLElement),
    label: document.getElementById('chat-member-label'),
    panel: byId('chat-members', HTMLElement),
    list: memberList,
  });
  const pane = new MessagePane({
    log,
    more: byId('chat-more', HTMLButtonElement),
    context: () => ({
      custom,
      self: identity.you?.name ?? null,
      canModerate: !!identity.you?.canModerate,
    }),
    onScroll: () => names.close(),
  });

  /**
   * @param {unknown} level
   * @param {string} text
   * @param {unknown} [code]
   */
  function notice(level, text, code) {
    lastNoticeCode = typeof code === 'string' ? code : null;
    pane.notice(level, text);
  }

  /**
   * Sends an action; false (with a notice) if the chat is closed or the socket is down.
   * @param {{type: string} & Record<string, unknown>} action
   */
  function send(action) {
    if (status.final || disabled) return false;
    if (conn.send(action)) return true;
    notice('error', t('chat.notConnected'));
    return false;
  }

  /** @param {string} placeholder */
  function setDisabled(placeholder) {
    disabled = true;
    input.disabled = true;
    sendButton.disabled = true;
    drawing.setDisabled(true);
    input.placeholder = placeholder;
    identity.disable();
  }

  /** @param {ChatEvent} ev */
  function onEvent(ev) {
    switch (ev.type) {
      case 'you':
        if (identity.accept(ev)) pane.rerender();
        break;
      case 'history': {
        if (!Array.isArray(ev.messages)) break;
        pane.history(ev.messages, ev.append === true);
        const pending = identity.takeNotice();
        if (pending) notice('info', pending);
        break;
      }
      case 'limits':
        limits = parseLimits(ev, limits);
        input.maxLength = limits.maxMessageChars;
        break;
      case 'message':
        pane.add(ev.msg);
        pane.afterAdd();
        break;
      case 'members':
        members.update(ev.members, ev.total, identity.you?.name ?? null);
        break;
      case 'notice':
        if (typeof ev.text !== 'string') break;
        notice(ev.level, noticeText(ev.code, ev.key, ev.params, ev.text), ev.code);
        if (ev.code === 'CHAT_DISABLED') setDisabled(t('chat.offPlaceholder'));
        break;
      case 'delete':
        if (Array.isArray(ev.seqs)) pane.remove(ev.seqs.filter(isSeq));
        break;
      case 'clear':
        pane.clear();
        break;
      case 'emoji':
        custom = emojiMap(ev.list);
        pane.rerender();
        break;
      case 'status':
        status.hubState(ev.state);
        break;
      case 'held':
        review.held(ev);
        break;
      case 'held-done':
        review.heldDone(ev);
        break;
      case 'raid':
        review.raid(ev);
        break;
    }
  }

  /**
   * @param {ConnectionState} state
   * @param {StateDetail} [detail]
   */
  function onState(state, detail) {
    status.socketState(state);
    if (state !== 'closed') return;
    if (detail?.code !== lastNoticeCode) notice('error', detail?.text ?? t('chat.closed'));
    if (detail?.code === 'GUESTS_NOT_ALLOWED') {
      setDisabled(t('chat.logInPlaceholder'));
      identity.loginOnly();
    } else {
      setDisabled(t('chat.refusedPlaceholder'));
    }
  }

  const conn = new ChatConnection({
    url: () => chatUrl(location, channel, identity.guestName()),
    onEvent,
    onState,
  });

  const composer = new Composer({
    form: byId('chat-form', HTMLFormElement),
    input,
    list: byId('chat-suggest', HTMLUListElement),
    onSend: (value) => {
      const text = outgoingText(value);
      if (!text) return false;
      const ok = send({ type: 'send', text });
      if (ok) pane.stick = true;
      return ok;
    },
    sources: () => ({ custom, members: members.members, self: identity.you?.name ?? null }),
  });

  const names = new NameActions({
    menu: byId('mod-menu', HTMLElement),
    container: query(document, '#chat .chat-main', HTMLElement),
    log,
    memberList,
    you: () => identity.you,
    message: (seq) => pane.message(seq),
    badgeOf: (name) => members.badgeOf(name),
    mention: (text) => composer.insert(text),
    command: (text) => void send({ type: 'send', text }),
  });

  const review = new ChatReview({
    container: query(document, '#chat .chat-main', HTMLElement),
    command: (text) => void send({ type: 'send', text }),
  });

  const drawing = new DrawingPanel({
    toggle: byId('draw-toggle', HTMLButtonElement),
    panel: byId('draw-pad', HTMLElement),
    maxBytes: () => limits.maxDrawingBytes,
    send: (image) => {
      const ok = send({ type: 'draw', image });
      if (ok) pane.stick = true;
      return ok;
    },
    notice: (level, text) => notice(level, text),
  });

  input.disabled = sendButton.disabled = false;
  drawing.setDisabled(false);
  input.placeholder = t('chat.placeholder');
  identity.render();
  status.render();
  conn.start();
  window.addEventListener('pagehide', () => conn.close());
  return { close: () => conn.close() };
}

/**
 * The chat of a page about stream `channel` (the watch page, the popout chat): mounted with the viewer's
 * session once the stream is accessible, so a protected stream's chat waits for its password.
 * @param {string} channel
 */
export function mountChatWhenAccessible(channel) {
  const me = loadMe();
  const access = streamAccess(channel);
  void access.locked.then((locked) => {
    if (locked) byId('chat-input', HTMLInputElement).placeholder = t('chat.lockedPlaceholder');
  });
  void access.ready.then(async () => {
    const { user } = await me;
    mountChat({ channel, user });
  });
}

/**
 * A notice from the chat in the page's language. The hub's notices carry a key and params (seconds of slow
 * mode left, a command's usage): the catalogue's sentence for them. The edge's own carry a code only: the
 * catalogue's sentence for the code (`chat.notice.CODE`). Else the words as sent.
 * @param {unknown} code
 * @param {unknown} key
 * @param {unknown} params
 * @param {string} text
 */
function noticeText(code, key, params, text) {
  if (key !== undefined) return lineText(key, params, text);
  return typeof code === 'string' && /^[A-Z_]+$/.test(code) && has(`chat.notice.${code}`)
    ? t(`chat.notice.${code}`)
    : text;
}
