// The watch page's chat panel: joins `/chat/NAME`, shows messages in seq order (ignoring repeats), notices,
// members, deletions and clears, and sends what the viewer types or draws. Moderators get a menu on each
// message that sends the matching slash command. Guests pick a name (kept in localStorage) and reconnect with
// `?name=`. All untrusted text reaches the page through chat-view.js (textContent only).

import { ChatConnection, chatUrl } from './chat-connection.js';
import { MessageLog, isNearBottom } from './chat-log.js';
import {
  CHAT_NAME_RE,
  emojiMap,
  moderationActions,
  moderationCommand,
  outgoingText,
  parseLimits,
  parseMembers,
  parseMessage,
  safeColor,
} from './chat-format.js';
import { memberNodes, messageNode, noticeNode } from './chat-view.js';
import { NameMenu } from './chat-menu.js';
import { Composer } from './chat-composer.js';
import { DrawPad } from './draw-pad.js';
import { loginHref } from './auth-rules.js';

const GUEST_KEY = 'tiercast.guestName';
// Until the edge announces the hub's limits (a `limits` event on join): the hub's defaults.
const DEFAULT_LIMITS = { maxMessageChars: 500, maxDrawingBytes: 100_000 };
const MAX_NOTICES = 40;
const GUEST_NAME_RE = /^[A-Za-z0-9_-]{2,32}$/;

const $ = (id) => document.getElementById(id);

function storedGuestName() {
  try {
    const n = localStorage.getItem(GUEST_KEY);
    return n && GUEST_NAME_RE.test(n) ? n : null;
  } catch {
    return null;
  }
}

/**
 * @param {{channel: string, user: {name: string, role: string} | null}} opts
 */
export function mountChat({ channel, user }) {
  const els = {
    log: $('chat-log'),
    more: $('chat-more'),
    status: $('chat-status'),
    membersToggle: $('chat-members-toggle'),
    memberCount: $('chat-member-count'),
    members: $('chat-members'),
    memberList: $('chat-member-list'),
    menu: $('mod-menu'),
    main: document.querySelector('#chat .chat-main'),
    form: $('chat-form'),
    input: $('chat-input'),
    send: $('chat-send'),
    you: $('chat-you'),
    guestActions: $('chat-guest-actions'),
    guestForm: $('chat-guest-form'),
    guestName: $('chat-guest-name'),
    guestError: $('chat-guest-error'),
    drawToggle: $('draw-toggle'),
    drawPad: $('draw-pad'),
  };
  const state = {
    you: null,
    members: [],
    custom: new Map(),
    stick: true,
    socket: 'connecting',
    everOpen: false,
    hubReconnecting: false,
    final: false,
    disabled: false,
    lastNoticeCode: null,
    requestedName: null,
    pendingNotice: null,
    limits: DEFAULT_LIMITS,
  };
  const log = new MessageLog(300);
  /** @type {Map<number, {msg: any, node: HTMLElement}>} */
  const shown = new Map();
  let pad = null;

  // ---- messages ----

  const ctx = () => ({
    custom: state.custom,
    self: state.you?.name ?? null,
    canModerate: !!state.you?.canModerate,
  });

  function scrollToBottom() {
    els.log.scrollTop = els.log.scrollHeight;
    els.more.hidden = true;
  }

  function afterAdd() {
    if (state.stick) scrollToBottom();
    else els.more.hidden = false;
  }

  function addMessage(raw) {
    const msg = parseMessage(raw);
    if (!msg) return;
    const pos = log.add(msg.seq);
    if (!pos) return;
    for (const seq of pos.evicted) {
      shown.get(seq)?.node.remove();
      shown.delete(seq);
    }
    if (!log.has(msg.seq)) return;
    const node = messageNode(msg, ctx());
    shown.set(msg.seq, { msg, node });
    els.log.insertBefore(node, pos.before === null ? null : (shown.get(pos.before)?.node ?? null));
  }

  function removeMessages(seqs) {
    for (const seq of log.remove(seqs)) {
      shown.get(seq)?.node.remove();
      shown.delete(seq);
    }
  }

  function clearMessages() {
    log.clear();
    shown.clear();
    els.log.replaceChildren();
  }

  /** After `you` or the emoji list changed: mentions, emoji and moderator buttons depend on them. */
  function rerender() {
    for (const entry of shown.values()) {
      const node = messageNode(entry.msg, ctx());
      entry.node.replaceWith(node);
      entry.node = node;
    }
  }

  function notice(level, text, code) {
    state.lastNoticeCode = code ?? null;
    els.log.append(noticeNode(level, text));
    const notices = els.log.querySelectorAll('li.notice');
    for (let i = 0; i < notices.length - MAX_NOTICES; i++) notices[i].remove();
    afterAdd();
  }

  // ---- server events ----

  function onEvent(ev) {
    switch (ev.type) {
      case 'you':
        onYou(ev);
        break;
      case 'history':
        if (!Array.isArray(ev.messages)) break;
        // A long history comes in pages: the first replaces the list, the next ones add to it.
        if (ev.append !== true) clearMessages();
        for (const m of ev.messages) addMessage(m);
        state.stick = true;
        scrollToBottom();
        if (state.pendingNotice) notice('info', state.pendingNotice);
        state.pendingNotice = null;
        break;
      case 'limits':
        state.limits = parseLimits(ev, state.limits);
        els.input.maxLength = state.limits.maxMessageChars;
        break;
      case 'message':
        addMessage(ev.msg);
        afterAdd();
        break;
      case 'members':
        state.members = parseMembers(ev.members);
        state.memberTotal = Number.isSafeInteger(ev.total) && ev.total >= state.members.length ? ev.total : state.members.length;
        renderMembers();
        break;
      case 'notice':
        if (typeof ev.text !== 'string') break;
        notice(ev.level, ev.text, ev.code);
        if (ev.code === 'CHAT_DISABLED') setDisabled('Chat is off on this network');
        break;
      case 'delete':
        if (Array.isArray(ev.seqs)) removeMessages(ev.seqs.filter(Number.isSafeInteger));
        break;
      case 'clear':
        clearMessages();
        break;
      case 'emoji':
        state.custom = emojiMap(ev.list);
        rerender();
        break;
      case 'status':
        state.hubReconnecting = ev.state === 'reconnecting';
        renderStatus();
        break;
    }
  }

  function onYou(ev) {
    if (typeof ev.name !== 'string') return;
    const before = state.you;
    state.you = {
      name: ev.name,
      color: safeColor(ev.color),
      badge: ev.badge,
      canModerate: ev.canModerate === true,
    };
    if (state.requestedName && state.requestedName.toLowerCase() !== ev.name.toLowerCase()) {
      // Shown after the history that follows, which replaces the list.
      state.pendingNotice = `The name ${state.requestedName} is not available here; you are ${ev.name}.`;
    }
    state.requestedName = null;
    if (!user && ev.badge === 'guest') {
      try {
        localStorage.setItem(GUEST_KEY, ev.name);
      } catch {
        // Private mode: the name lasts for this page only.
      }
    }
    renderIdentity();
    if (!before || before.name !== state.you.name || before.canModerate !== state.you.canModerate) rerender();
  }

  // ---- connection state ----

  function renderStatus() {
    let text = '';
    let kind = 'warn';
    if (state.final) {
      text = 'Disconnected';
      kind = 'error';
    } else if (state.socket !== 'open') text = state.everOpen ? 'Reconnecting…' : 'Connecting…';
    else if (state.hubReconnecting) text = 'Chat reconnecting…';
    els.status.textContent = text;
    els.status.dataset.kind = kind;
    els.status.hidden = !text;
  }

  function setDisabled(placeholder) {
    state.disabled = true;
    els.input.disabled = true;
    els.send.disabled = true;
    els.drawToggle.disabled = true;
    els.input.placeholder = placeholder;
    els.drawPad.hidden = true;
    els.guestActions.hidden = true;
    els.guestForm.hidden = true;
  }

  const conn = new ChatConnection({
    url: () => chatUrl(location, channel, user ? null : (state.requestedName ?? storedGuestName())),
    onEvent,
    onState: (s, detail) => {
      state.socket = s;
      if (s === 'open') state.everOpen = true;
      if (s === 'closed') {
        state.final = true;
        if (detail?.code !== state.lastNoticeCode) notice('error', detail?.text ?? 'Chat closed.');
        if (detail?.code === 'GUESTS_NOT_ALLOWED') {
          setDisabled('Log in to chat');
          // Keep the way out: the login link, without the guest-name button.
          els.guestActions.hidden = false;
          $('chat-rename').hidden = true;
          els.guestActions.querySelector('[aria-hidden]')?.setAttribute('hidden', '');
        } else {
          setDisabled('You cannot chat here');
        }
      }
      renderStatus();
    },
  });

  // ---- sending ----

  function send(action) {
    if (state.final || state.disabled) return false;
    if (conn.send(action)) return true;
    notice('error', 'Not connected to the chat right now; try again in a moment.');
    return false;
  }

  const composer = new Composer({
    form: els.form,
    input: els.input,
    list: $('chat-suggest'),
    onSend: (value) => {
      const text = outgoingText(value);
      if (!text) return false;
      const ok = send({ type: 'send', text });
      if (ok) state.stick = true;
      return ok;
    },
    sources: () => ({ custom: state.custom, members: state.members, self: state.you?.name ?? null }),
  });

  // ---- members, identity ----

  function renderMembers() {
    els.memberCount.textContent = String(state.memberTotal ?? state.members.length);
    els.memberList.replaceChildren(...memberNodes(state.members, state.you?.name ?? null));
  }

  function renderIdentity() {
    const name = state.you?.name ?? user?.name ?? '';
    const b = document.createElement('b');
    b.textContent = name;
    b.style.color = state.you?.color ?? '';
    els.you.replaceChildren(name ? 'Chatting as ' : '', name ? b : '');
    els.guestActions.hidden = !!user;
  }

  els.membersToggle.addEventListener('click', () => {
    els.members.hidden = !els.members.hidden;
    els.membersToggle.setAttribute('aria-expanded', String(!els.members.hidden));
  });

  $('chat-login').href = loginHref(location.pathname);
  $('chat-rename').addEventListener('click', () => {
    els.guestForm.hidden = false;
    els.guestName.value = state.you?.name ?? storedGuestName() ?? '';
    els.guestError.textContent = '';
    els.guestName.focus();
    els.guestName.select();
  });
  $('chat-guest-cancel').addEventListener('click', () => (els.guestForm.hidden = true));
  els.guestForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const name = els.guestName.value.trim();
    if (!GUEST_NAME_RE.test(name) || !CHAT_NAME_RE.test(name)) {
      els.guestError.textContent = 'Use 2 to 32 letters, digits, "_" or "-".';
      return;
    }
    els.guestForm.hidden = true;
    if (name === state.you?.name) return;
    state.requestedName = name;
    try {
      localStorage.setItem(GUEST_KEY, name);
    } catch {
      // See onYou.
    }
    conn.restart();
  });

  // ---- names and the moderator menu ----

  const menu = new NameMenu({
    menu: els.menu,
    container: els.main,
    onPick: (action, author) => {
      if (action.type === 'mention') return composer.insert(`@${author}`);
      if (action.type === 'ban' && !confirm(`Ban ${author} from this chat?`)) return;
      send({ type: 'send', text: moderationCommand(action, author) });
    },
  });

  /** A name or "⋯" was clicked: viewers mention the author, moderators get the menu. */
  function onNameClick(e, fromMembers) {
    const btn = e.target instanceof Element ? e.target.closest('button.author, button.msg-actions') : null;
    if (!btn) return;
    const li = btn.closest('li');
    const author = btn.dataset.author ?? li?.dataset.author ?? '';
    if (!state.you?.canModerate && btn.classList.contains('author')) {
      if (CHAT_NAME_RE.test(author)) composer.insert(`@${author}`);
      return;
    }
    const entry = !fromMembers && li?.dataset.seq ? shown.get(Number(li.dataset.seq)) : undefined;
    const actions = [{ type: 'mention', label: `Mention @${author}` }];
    if (entry) actions.push(...moderationActions(entry.msg, state.you));
    else {
      const badge = state.members.find((m) => m.name === author)?.badge ?? 'user';
      const asMessage = { seq: -1, kind: 'text', author, badge };
      actions.push(...moderationActions(asMessage, state.you).filter((a) => a.type !== 'delete'));
    }
    menu.open(btn, author, actions);
  }

  els.log.addEventListener('click', (e) => onNameClick(e, false));
  els.memberList.addEventListener('click', (e) => onNameClick(e, true));

  // ---- scrolling ----

  els.log.addEventListener('scroll', () => {
    state.stick = isNearBottom(els.log.scrollTop, els.log.clientHeight, els.log.scrollHeight);
    if (state.stick) els.more.hidden = true;
    menu.close();
  });
  // Drawings and custom emoji grow a message after it was placed: stay at the bottom if we were there.
  els.log.addEventListener('load', () => state.stick && scrollToBottom(), true);
  els.more.addEventListener('click', () => {
    state.stick = true;
    scrollToBottom();
  });

  // ---- drawing ----

  els.drawToggle.addEventListener('click', () => {
    const open = els.drawPad.hidden;
    if (open && !pad) {
      pad = new DrawPad($('draw-canvas'), $('draw-colors'));
      $('draw-clear').addEventListener('click', () => pad.clear());
      $('draw-send').addEventListener('click', sendDrawing);
    }
    els.drawPad.hidden = !open;
    els.drawToggle.setAttribute('aria-pressed', String(open));
  });

  function sendDrawing() {
    const image = pad?.toDataUrl();
    if (!image) return notice('info', 'Draw something first.');
    if (image.length > state.limits.maxDrawingBytes)
      return notice('error', 'That drawing is too detailed to send; clear it and try a simpler one.');
    if (send({ type: 'draw', image })) {
      pad.clear();
      els.drawPad.hidden = true;
      els.drawToggle.setAttribute('aria-pressed', 'false');
      state.stick = true;
    }
  }

  els.input.disabled = els.send.disabled = els.drawToggle.disabled = false;
  els.input.placeholder = 'Send a message';
  renderIdentity();
  renderStatus();
  conn.start();
  window.addEventListener('pagehide', () => conn.close());
  return { close: () => conn.close() };
}
