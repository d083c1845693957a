// The directory page: channels from /api/streams as cards (thumbnail or a placeholder, a lock on
// password-protected ones), category chips, live channels sorted by viewers or name, offline ones in their own
// section, and a "Following live" row for logged-in viewers. Refreshed every 5 s.
// Everything from the API goes into the page through textContent and validated attributes.

import { categoriesOf, formatUptime, formatViewers, hueFor, parseChannelEntry } from './format.js';
import { arrange, followingLive } from './directory-model.js';
import { loadMe, mountSessionArea } from './session.js';
import { byId, el } from './dom.js';
import { t } from './i18n.js';

/** @import { ChannelEntry, StreamEntry } from './format.js' */
/** @import { Me } from './session.js' */

const REFRESH_MS = 5_000;

const grid = byId('streams', HTMLElement);
const offlineGrid = byId('offline', HTMLElement);
const empty = byId('empty', HTMLElement);
const summary = byId('summary', HTMLElement);
const sortSelect = byId('sort', HTMLSelectElement);
const chips = byId('chips', HTMLElement);

/** @type {ChannelEntry[]} */
let streams = [];
/** @type {Me['following'] | null} */
let following = null;
let loaded = false;
let lastRendered = '';
let category = new URLSearchParams(location.search).get('category') ?? '';

function lockIcon() {
  const span = el('span', 'lock-badge');
  span.title = t('directory.locked');
  span.setAttribute('role', 'img');
  span.setAttribute('aria-label', t('directory.locked'));
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('width', '14');
  svg.setAttribute('height', '14');
  svg.setAttribute('aria-hidden', 'true');
  const rect = document.createElementNS(svg.namespaceURI, 'rect');
  for (const [k, v] of Object.entries({ x: 5, y: 10.5, width: 14, height: 10, rx: 2, fill: 'currentColor' }))
    rect.setAttribute(k, String(v));
  const path = document.createElementNS(svg.namespaceURI, 'path');
  for (const [k, v] of Object.entries({
    d: 'M8 10.5V7.5a4 4 0 0 1 8 0v3',
    fill: 'none',
    stroke: 'currentColor',
    'stroke-width': 2.2,
  }))
    path.setAttribute(k, String(v));
  svg.append(rect, path);
  span.append(svg);
  return span;
}

/** @param {ChannelEntry} s */
function thumbnail(s) {
  const thumb = el('div', 'thumb');
  thumb.style.setProperty('--hue', String(hueFor(s.name)));
  const initial = el('span', 'thumb-initial', s.title.slice(0, 1).toUpperCase());
  initial.setAttribute('aria-hidden', 'true');
  thumb.append(initial);
  if (s.thumbnail) {
    const img = el('img', 'thumb-img');
    img.src = s.thumbnail;
    img.alt = '';
    img.loading = 'lazy';
    img.decoding = 'async';
    // A missing or broken image leaves the placeholder showing.
    img.addEventListener('error', () => img.remove());
    thumb.append(img);
  }
  if (s.live) {
    thumb.append(
      el('span', 'live-badge', t('common.liveBadge')),
      el('span', 'viewer-badge', formatViewers(s.viewers)),
    );
  } else {
    thumb.append(el('span', 'offline-badge', t('directory.offlineBadge')));
  }
  if (s.protected) thumb.append(lockIcon());
  return thumb;
}

/** @param {ChannelEntry} s */
function card(s) {
  const li = document.createElement('li');
  const a = el('a', s.live ? 'card' : 'card card-offline');
  a.href = `/watch/${encodeURIComponent(s.name)}`;
  a.dataset.name = s.name;
  if (s.description) a.title = s.description.slice(0, 300);

  const body = el('div', 'card-body');
  body.append(el('h2', 'card-title', s.title));
  const meta = [s.name, s.category, s.live ? formatUptime(s.startedAt) : ''].filter(Boolean).join(' · ');
  body.append(el('p', 'card-meta', meta));
  a.append(thumbnail(s), body);
  li.append(a);
  return li;
}

/** @param {StreamEntry} s */
function followingItem(s) {
  const li = document.createElement('li');
  const a = el('a', 'following-item');
  a.href = `/watch/${encodeURIComponent(s.name)}`;
  a.dataset.name = s.name;
  const avatar = el('span', 'avatar', s.name.slice(0, 1).toUpperCase());
  avatar.setAttribute('aria-hidden', 'true');
  avatar.style.setProperty('--hue', String(hueFor(s.name)));
  const text = el('span', 'following-text');
  text.append(el('span', 'following-name', s.name), el('span', 'following-title', s.title));
  a.append(avatar, text, el('span', 'following-viewers', formatViewers(s.viewers)));
  li.append(a);
  return li;
}

function renderChips() {
  const cats = categoriesOf(streams);
  if (category && !cats.some((c) => c.toLowerCase() === category.toLowerCase())) cats.push(category);
  chips.hidden = cats.length === 0;
  /**
   * @param {string} label
   * @param {string} value
   */
  const make = (label, value) => {
    const b = el('button', 'chip', label);
    b.type = 'button';
    b.dataset.category = value;
    b.setAttribute('aria-pressed', String(value.toLowerCase() === category.toLowerCase()));
    return b;
  };
  chips.replaceChildren(make(t('directory.allCategories'), ''), ...cats.map((c) => make(c, c)));
}

/** @param {Element | null} target */
function focus(target) {
  if (target instanceof HTMLElement) target.focus();
}

function render() {
  const sort = sortSelect.value;
  const { live, offline } = arrange(streams, { category, sort });
  const follows = following ? followingLive(following, streams) : null;
  const key = JSON.stringify([live, offline, follows, category, sort]);
  if (key === lastRendered) return;
  lastRendered = key;
  // Keep keyboard focus on the same channel across refreshes.
  const focused =
    document.activeElement instanceof HTMLElement ? document.activeElement.dataset.name : undefined;
  const focusedChip =
    document.activeElement instanceof HTMLElement ? document.activeElement.dataset.category : undefined;
  grid.replaceChildren(...live.map(card));
  offlineGrid.replaceChildren(...offline.map(card));
  byId('offline-section', HTMLElement).hidden = offline.length === 0;
  renderChips();
  if (follows) {
    const list = byId('following-list', HTMLElement);
    byId('following', HTMLElement).hidden = false;
    list.replaceChildren(...follows.map(followingItem));
    list.hidden = follows.length === 0;
    byId('following-empty', HTMLElement).hidden = follows.length > 0;
  }
  if (focused) focus(document.querySelector(`main a[data-name="${CSS.escape(focused)}"]`));
  if (focusedChip !== undefined)
    focus(chips.querySelector(`button[data-category="${CSS.escape(focusedChip)}"]`));
  empty.hidden = live.length > 0;
  grid.hidden = live.length === 0;
  byId('empty-title', HTMLElement).textContent = category
    ? t('directory.emptyIn', { category })
    : t('directory.emptyTitle');
  const count = live.length;
  summary.textContent =
    count === 0
      ? category
        ? t('directory.summaryNoneIn', { category })
        : t('directory.summaryNone')
      : category
        ? t('directory.summaryIn', { count, category })
        : t('directory.summary', { count });
}

async function refresh() {
  try {
    const res = await fetch('/api/streams', { cache: 'no-store' });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    /** @type {unknown} */
    const body = await res.json();
    if (!Array.isArray(body)) throw new Error('unexpected directory format');
    streams = body.map(parseChannelEntry).filter((e) => e !== null);
    loaded = true;
    render();
  } catch {
    summary.textContent = loaded ? t('directory.connectionLost') : t('directory.loadFailed');
    lastRendered = '';
  }
}

/** @type {ReturnType<typeof setTimeout> | undefined} */
let timer;
function schedule() {
  clearTimeout(timer);
  timer = setTimeout(async () => {
    await refresh();
    if (!document.hidden) schedule();
  }, REFRESH_MS);
}

/** @param {string} value */
function setCategory(value) {
  category = value;
  const params = new URLSearchParams(location.search);
  if (value) params.set('category', value);
  else params.delete('category');
  const q = params.toString();
  history.replaceState(null, '', q ? `${location.pathname}?${q}` : location.pathname);
  render();
}

sortSelect.addEventListener('change', render);
chips.addEventListener('click', (e) => {
  const b = e.target instanceof Element ? e.target.closest('button[data-category]') : null;
  if (b instanceof HTMLElement)
    setCategory(b.dataset.category === category ? '' : (b.dataset.category ?? ''));
});
document.addEventListener('visibilitychange', () => {
  if (document.hidden) clearTimeout(timer);
  else void refresh().then(schedule);
});
void mountSessionArea();
void loadMe().then((me) => {
  if (!me.user || me.user.role === 'streamer') return;
  following = me.following;
  lastRendered = '';
  if (loaded) render();
});
void refresh().then(schedule);
