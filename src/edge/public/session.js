// Who is logged in, for every page: `loadMe()` (one /api/me call per page, shared by the modules that need
// it) and the top bar's right side: the name with "Log out" (and, for an account, the go-live bell), or a
// "Log in" link back to this page.

import { api } from './api.js';
import { loginHref } from './auth-rules.js';
import { hueFor } from './format.js';
import { asArray, asRecord } from './json.js';
import { el } from './dom.js';
import { mountBell } from './notification-bell.js';
import { unsubscribePush } from './push-subscribe.js';
import { mountThemeSwitch } from './theme.js';
import { mountLanguageSwitch } from './language.js';
import { t } from './i18n.js';

/**
 * @typedef {{name: string, role: 'user'|'admin'|'streamer'}} User
 * @typedef {{user: User|null, following: Array<{name: string, live: boolean}>, available: boolean}} Me
 */

/** @type {Promise<Me> | null} */
let mePromise = null;

/**
 * @param {unknown} role
 * @returns {role is User['role']}
 */
function isRole(role) {
  return role === 'user' || role === 'admin' || role === 'streamer';
}

/**
 * The session from /api/me; `available` is false when the hub cannot be reached (treated as logged out).
 * @returns {Promise<Me>}
 */
export function loadMe() {
  mePromise ??= api('GET', '/api/me').then((r) => {
    const data = r.ok ? asRecord(r.data) : null;
    if (!data) return { user: null, following: [], available: false };
    const u = asRecord(data.user);
    const user = u && typeof u.name === 'string' && isRole(u.role) ? { name: u.name, role: u.role } : null;
    /** @type {Me['following']} */
    const following = [];
    for (const item of asArray(data.following)) {
      const f = asRecord(item);
      if (f && typeof f.name === 'string') following.push({ name: f.name, live: f.live === true });
    }
    return { user, following, available: true };
  });
  return mePromise;
}

export async function logOut(after = '/') {
  await unsubscribePush();
  await api('POST', '/api/auth/logout');
  mePromise = null;
  location.assign(after);
}

/** Fills the top bar's session area (created if the page has none). */
export async function mountSessionArea() {
  const bar = document.querySelector('.topbar');
  if (!bar) return;
  const area = bar.querySelector('.session') ?? bar.appendChild(el('div', 'session'));
  area.setAttribute('aria-live', 'polite');
  mountLanguageSwitch(bar, area);
  mountThemeSwitch(bar, area);
  const me = await loadMe();
  const onLoginPage = location.pathname === '/login' || location.pathname.endsWith('/login.html');
  if (!me.user) {
    if (onLoginPage) return area.replaceChildren();
    const a = el('a', 'button-link', t('common.session.logIn'));
    a.href = loginHref(location.pathname + location.search);
    area.replaceChildren(a);
    return;
  }
  const who = el('span', 'session-user');
  const avatar = el('span', 'avatar', me.user.name.slice(0, 1).toUpperCase());
  avatar.setAttribute('aria-hidden', 'true');
  avatar.style.setProperty('--hue', String(hueFor(me.user.name)));
  const name = el('span', 'session-name', me.user.name);
  who.append(avatar, name);
  if (me.user.role !== 'user')
    who.append(
      el('span', 'role-tag', me.user.role === 'admin' ? t('common.role.admin') : t('common.role.streamer')),
    );
  const items = [who];
  if (me.user.role === 'streamer' && !/^\/(static\/)?dashboard/.test(location.pathname)) {
    const dash = el('a', 'session-link', t('common.session.dashboard'));
    dash.href = '/dashboard';
    items.push(dash);
  }
  if (me.user.role !== 'user' && location.pathname !== '/broadcast') {
    const live = el('a', 'session-link', t('common.session.goLive'));
    live.href = '/broadcast';
    items.push(live);
  }
  const out = el('button', 'link-button', t('common.session.logOut'));
  out.type = 'button';
  out.addEventListener('click', () => {
    out.disabled = true;
    void logOut(location.pathname.startsWith('/dashboard') ? '/' : location.pathname + location.search);
  });
  items.push(out);
  area.replaceChildren(...items);
  // Accounts follow channels and hear when they go live (a stream-key login is a channel, not a follower).
  if (me.user.role !== 'streamer') mountBell(/** @type {HTMLElement} */ (area), me.user.name);
}
