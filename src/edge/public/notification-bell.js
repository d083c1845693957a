// The bell in the top bar of every page, for a logged-in account (issue 16): how many of its go-live
// notifications are unread, and the last ones in a panel (opening it marks them read). While a page is open
// and visible it asks every 15 s; a notification that arrived since, for a viewer who allowed it, also shows
// through the browser's Notification API (a click opens that channel). With every page closed, Web Push
// (push-subscribe.js) brings them: allowing notifications subscribes this browser too.

import { api } from './api.js';
import { el } from './dom.js';
import { asArray, asRecord } from './json.js';
import { pushSupported, subscribePush } from './push-subscribe.js';
import { formatDate, formatNumber, formatRelative, t } from './i18n.js';

export const BELL_POLL_MS = 15_000;

/** @typedef {{id: number, channel: string, title: string, at: number, read: boolean}} GoLive */

/**
 * @param {unknown} data
 * @returns {{unread: number, items: GoLive[]} | null}
 */
export function parseNotifications(data) {
  const r = asRecord(data);
  if (!r || typeof r.unread !== 'number') return null;
  /** @type {GoLive[]} */
  const items = [];
  for (const x of asArray(r.notifications)) {
    const n = asRecord(x);
    if (
      n &&
      Number.isSafeInteger(n.id) &&
      typeof n.channel === 'string' &&
      /^[A-Za-z0-9_-]{1,64}$/.test(n.channel) &&
      typeof n.title === 'string' &&
      typeof n.at === 'number'
    )
      items.push({
        id: /** @type {number} */ (n.id),
        channel: n.channel,
        title: n.title,
        at: n.at,
        read: n.read === true,
      });
  }
  return { unread: r.unread, items };
}

/**
 * The notifications to show through the Notification API: unread, newer than what the page already knew.
 * @param {GoLive[]} items
 * @param {number} knownUpTo
 */
export function freshOnes(items, knownUpTo) {
  return items.filter((n) => !n.read && n.id > knownUpTo);
}

/**
 * @param {HTMLElement} area the session area of the top bar
 * @param {string} account the signed-in account's name
 */
export function mountBell(area, account) {
  const wrap = el('div', 'bell');
  const button = /** @type {HTMLButtonElement} */ (el('button', 'bell-button'));
  button.type = 'button';
  button.setAttribute('aria-expanded', 'false');
  button.setAttribute('aria-controls', 'bell-panel');
  const icon = el('span', 'bell-icon', '🔔');
  icon.setAttribute('aria-hidden', 'true');
  const count = el('span', 'bell-count');
  count.hidden = true;
  button.append(icon, count);
  const panel = el('div', 'bell-panel');
  panel.id = 'bell-panel';
  panel.hidden = true;
  const list = el('ul', 'bell-list');
  const allow = /** @type {HTMLButtonElement} */ (el('button', 'link-button bell-allow', t('bell.allow')));
  allow.type = 'button';
  const pushState = el('p', 'bell-push');
  pushState.hidden = true;
  panel.append(el('p', 'bell-heading', t('bell.heading')), list, allow, pushState);
  wrap.append(button, panel);
  area.prepend(wrap);

  /** @type {GoLive[]} */
  let items = [];
  let unread = 0;
  /** Newest notification id this page knew of (null until the first answer: old ones are not popped up). */
  /** @type {number | null} */
  let knownUpTo = null;

  const canNotify = () => typeof Notification !== 'undefined' && Notification.permission === 'granted';
  const render = () => {
    count.textContent = unread > 9 ? `${formatNumber(9)}+` : formatNumber(unread);
    count.hidden = unread === 0;
    button.setAttribute('aria-label', unread ? t('bell.unread', { count: unread }) : t('bell.label'));
    list.replaceChildren(
      ...(items.length
        ? items.map((n) => {
            const li = el('li', n.read ? 'bell-item' : 'bell-item is-unread');
            const a = /** @type {HTMLAnchorElement} */ (el('a', 'bell-link'));
            a.href = `/watch/${encodeURIComponent(n.channel)}`;
            a.append(el('strong', '', n.channel), ` ${t('bell.wentLive', { title: n.title })}`);
            // "2 hours ago", with the moment itself on hover.
            const time = el('time', 'bell-time', formatRelative(n.at));
            time.dateTime = new Date(n.at).toISOString();
            time.title = formatDate(n.at);
            li.append(a, time);
            return li;
          })
        : [el('li', 'bell-empty', t('bell.empty'))]),
    );
    allow.hidden = typeof Notification === 'undefined' || Notification.permission !== 'default';
  };

  const check = async () => {
    const r = await api('GET', '/api/me/notifications');
    const got = r.ok ? parseNotifications(r.data) : null;
    if (!got) return;
    items = got.items;
    unread = got.unread;
    const newest = items.reduce((m, n) => Math.max(m, n.id), 0);
    if (knownUpTo !== null && canNotify())
      for (const n of freshOnes(items, knownUpTo)) {
        const shown = new Notification(t('bell.isLive', { channel: n.channel }), {
          body: n.title,
          tag: `golive-${n.id}`,
        });
        shown.addEventListener('click', () => location.assign(`/watch/${encodeURIComponent(n.channel)}`));
      }
    knownUpTo = Math.max(knownUpTo ?? 0, newest);
    render();
  };

  button.addEventListener('click', () => {
    panel.hidden = !panel.hidden;
    button.setAttribute('aria-expanded', String(!panel.hidden));
    if (!panel.hidden && unread > 0) {
      const upTo = items.reduce((m, n) => Math.max(m, n.id), 0);
      void api('POST', '/api/me/notifications/read', { upTo }).then((r) => {
        if (!r.ok) return;
        for (const n of items) n.read = true;
        unread = 0;
        render();
      });
    }
  });
  const push = async () => {
    if (!pushSupported()) return;
    const r = await subscribePush(account);
    pushState.hidden = false;
    pushState.textContent = r.ok ? t('bell.pushOn') : t('bell.pushOff', { reason: r.reason });
  };
  allow.addEventListener('click', () => {
    void Notification.requestPermission().then((p) => {
      render();
      if (p === 'granted') void push();
    });
  });
  // Allowed on an earlier visit: the subscription is sent again (it may belong to another account here).
  if (canNotify()) void push();
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && !panel.hidden) {
      panel.hidden = true;
      button.setAttribute('aria-expanded', 'false');
      button.focus();
    }
  });
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden) void check();
  });
  setInterval(() => {
    if (!document.hidden) void check();
  }, BELL_POLL_MS);
  render();
  void check();
}
