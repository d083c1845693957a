// DOM for the chat panel: messages, notices, members and suggestions. Every name and text from the server
// goes in through textContent; images only from validated URLs (chat-format.js). No innerHTML anywhere.

import { badgeLabel, formatClock, tokenize } from './chat-format.js';
import { lineText } from './chat-lines.js';
import { el, setUserColor } from './dom.js';
import { t } from './i18n.js';

/** @import { ChatMessage, Member, MenuAction, Part } from './chat-format.js' */
/** @import { Suggestion } from './typeahead.js' */

/**
 * A message's text parts as nodes.
 * @param {Part[]} parts
 */
export function partsToNodes(parts) {
  const frag = document.createDocumentFragment();
  for (const p of parts) {
    if (p.type === 'text') frag.append(p.text);
    else if (p.type === 'mention')
      frag.append(el('span', p.self ? 'mention mention-self' : 'mention', `@${p.name}`));
    else if (p.type === 'link') {
      const a = el('a', 'chat-link', p.text);
      a.href = p.href;
      a.target = '_blank';
      a.rel = 'noopener noreferrer nofollow ugc';
      frag.append(a);
    } else if (p.type === 'emoji' && p.url) {
      const img = el('img', 'emoji');
      img.src = p.url;
      img.alt = `:${p.name}:`;
      img.title = `:${p.name}:`;
      img.loading = 'lazy';
      img.decoding = 'async';
      frag.append(img);
    } else if (p.type === 'emoji') {
      const span = el('span', 'emoji-char', p.char);
      span.title = `:${p.name}:`;
      span.setAttribute('role', 'img');
      span.setAttribute('aria-label', `:${p.name}:`);
      frag.append(span);
    }
  }
  return frag;
}

/** @param {string | undefined} badge */
export function badgeNode(badge) {
  const label = badgeLabel(badge);
  if (!label) return null;
  const b = el('span', `badge badge-${badge}`, label);
  return b;
}

/**
 * The author's name as a button (opens the moderator menu or mentions them).
 * @param {ChatMessage} msg
 */
function authorNode(msg) {
  const b = el('button', 'author', msg.author);
  b.type = 'button';
  setUserColor(b, msg.color);
  b.dataset.author = msg.author;
  return b;
}

/**
 * One chat message as an <li>.
 * @param {ChatMessage} msg
 * @param {{custom: Map<string,string>, self: string|null, canModerate: boolean}} ctx
 */
export function messageNode(msg, ctx) {
  const li = el('li', `msg msg-${msg.kind}`);
  li.dataset.seq = String(msg.seq);
  li.dataset.author = msg.author;
  li.title = formatClock(msg.at);
  if (msg.kind === 'system') {
    li.append(el('span', 'msg-body', lineText(msg.key, msg.params, msg.text)));
    return li;
  }
  const parts = tokenize(msg.text, { custom: ctx.custom, self: ctx.self });
  if (
    parts.some((p) => p.type === 'mention' && p.self) &&
    msg.author.toLowerCase() !== (ctx.self ?? '').toLowerCase()
  ) {
    li.classList.add('mentions-me');
  }
  const badge = badgeNode(msg.badge);
  if (msg.kind === 'me') {
    const line = el('span', 'msg-body');
    setUserColor(line, msg.color);
    line.append('* ', authorNode(msg), ' ', partsToNodes(parts));
    if (badge) li.append(badge, ' ');
    li.append(line);
  } else {
    if (badge) li.append(badge, ' ');
    li.append(authorNode(msg), el('span', 'colon', ': '));
    if (msg.kind === 'drawing') {
      if (msg.text) li.append(el('span', 'msg-body', msg.text));
      const img = el('img', 'drawing');
      img.src = msg.image ?? '';
      img.alt = t('chat.drawingBy', { author: msg.author });
      img.width = 300;
      img.height = 150;
      img.decoding = 'async';
      li.append(img);
    } else {
      const text = el('span', 'msg-body');
      text.append(partsToNodes(parts));
      li.append(text);
    }
  }
  if (ctx.canModerate) {
    const more = el('button', 'msg-actions', '⋯');
    more.type = 'button';
    more.title = t('chat.moderate');
    more.setAttribute('aria-label', t('chat.moderateMessage', { author: msg.author }));
    more.setAttribute('aria-haspopup', 'menu');
    li.append(more);
  }
  return li;
}

/**
 * A notice from the server (help text keeps its line breaks through CSS white-space: pre-line).
 * @param {unknown} level 'error' or anything else (shown as info)
 * @param {string} text
 */
export function noticeNode(level, text) {
  const li = el('li', `notice notice-${level === 'error' ? 'error' : 'info'}`, text);
  li.setAttribute('role', level === 'error' ? 'alert' : 'note');
  return li;
}

/**
 * @param {Member[]} members
 * @param {string | null} selfName
 */
export function memberNodes(members, selfName) {
  return members.map((m) => {
    const li = el('li', 'member');
    const badge = badgeNode(m.badge);
    if (badge) li.append(badge, ' ');
    const name = el('button', 'author', m.name);
    name.type = 'button';
    setUserColor(name, m.color);
    name.dataset.author = m.name;
    li.append(name);
    if (selfName && m.name.toLowerCase() === selfName.toLowerCase())
      li.append(el('span', 'member-you', ` ${t('chat.you')}`));
    return li;
  });
}

/**
 * @param {Suggestion[]} items
 * @param {number} selected
 */
export function suggestionNodes(items, selected) {
  return items.map((item, i) => {
    const li = el('li', 'suggestion');
    li.id = `suggest-${i}`;
    li.setAttribute('role', 'option');
    li.setAttribute('aria-selected', String(i === selected));
    li.dataset.index = String(i);
    if (item.kind === 'emoji') {
      if (item.url) {
        const img = el('img', 'emoji');
        img.src = item.url;
        img.alt = '';
        li.append(img);
      } else {
        li.append(el('span', 'emoji-char', item.char));
      }
      li.append(el('span', 'suggestion-name', `:${item.name}:`));
    } else {
      const name = el('span', 'suggestion-name', `@${item.name}`);
      setUserColor(name, item.color);
      const badge = badgeNode(item.badge);
      if (badge) li.append(badge);
      li.append(name);
    }
    return li;
  });
}

/** @param {MenuAction[]} actions */
export function menuNodes(actions) {
  return actions.map((a, i) => {
    const b = el('button', a.danger ? 'menu-item danger' : 'menu-item', a.label);
    b.type = 'button';
    b.setAttribute('role', 'menuitem');
    b.dataset.index = String(i);
    return b;
  });
}
