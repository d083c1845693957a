// The directory page: live channels from /api/streams as cards, refreshed every 5 s.
// Everything from the API goes into the page through textContent and validated attributes.

import { formatViewers, hueFor, parseStreamEntry } from './format.js';

const REFRESH_MS = 5_000;

const grid = document.getElementById('streams');
const empty = document.getElementById('empty');
const summary = document.getElementById('summary');
const sortSelect = document.getElementById('sort');

/** @type {ReturnType<typeof parseStreamEntry>[]} */
let streams = [];
let loaded = false;
let lastRendered = '';

const SORTS = {
  'viewers-desc': (a, b) => b.viewers - a.viewers || a.title.localeCompare(b.title),
  'viewers-asc': (a, b) => a.viewers - b.viewers || a.title.localeCompare(b.title),
  title: (a, b) => a.title.localeCompare(b.title, undefined, { sensitivity: 'base' }),
};

function card(s) {
  const li = document.createElement('li');
  const a = document.createElement('a');
  a.className = 'card';
  a.href = `/watch/${encodeURIComponent(s.name)}`;
  a.dataset.name = s.name;

  const thumb = document.createElement('div');
  thumb.className = 'thumb';
  thumb.style.setProperty('--hue', String(hueFor(s.name)));
  const initial = document.createElement('span');
  initial.className = 'thumb-initial';
  initial.setAttribute('aria-hidden', 'true');
  initial.textContent = s.title.slice(0, 1).toUpperCase();
  const live = document.createElement('span');
  live.className = 'live-badge';
  live.textContent = 'LIVE';
  const viewers = document.createElement('span');
  viewers.className = 'viewer-badge';
  viewers.textContent = formatViewers(s.viewers);
  thumb.append(initial, live, viewers);

  const body = document.createElement('div');
  body.className = 'card-body';
  const title = document.createElement('h2');
  title.className = 'card-title';
  title.textContent = s.title;
  const meta = document.createElement('p');
  meta.className = 'card-meta';
  meta.textContent = s.category ? `${s.name} · ${s.category}` : s.name;
  body.append(title, meta);

  a.append(thumb, body);
  li.append(a);
  return li;
}

function render() {
  const sorted = streams.filter((s) => s.live).sort(SORTS[sortSelect.value] ?? SORTS['viewers-desc']);
  const key = JSON.stringify(sorted);
  if (key === lastRendered) return;
  lastRendered = key;
  // Keep keyboard focus on the same channel across refreshes.
  const focused =
    document.activeElement instanceof HTMLElement ? document.activeElement.dataset.name : undefined;
  grid.replaceChildren(...sorted.map(card));
  if (focused) grid.querySelector(`a[data-name="${CSS.escape(focused)}"]`)?.focus();
  empty.hidden = sorted.length > 0;
  grid.hidden = sorted.length === 0;
  summary.textContent =
    sorted.length === 0
      ? 'Nobody is streaming'
      : `${sorted.length} ${sorted.length === 1 ? 'channel' : 'channels'} live`;
}

async function refresh() {
  try {
    const res = await fetch('/api/streams', { cache: 'no-store' });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const body = await res.json();
    if (!Array.isArray(body)) throw new Error('unexpected directory format');
    streams = body.map(parseStreamEntry).filter(Boolean);
    loaded = true;
    render();
  } catch {
    summary.textContent = loaded ? 'Connection lost, retrying…' : 'Could not load the channels, retrying…';
    lastRendered = '';
  }
}

let timer = null;
function schedule() {
  clearTimeout(timer);
  timer = setTimeout(async () => {
    await refresh();
    if (!document.hidden) schedule();
  }, REFRESH_MS);
}

sortSelect.addEventListener('change', render);
document.addEventListener('visibilitychange', () => {
  if (document.hidden) clearTimeout(timer);
  else void refresh().then(schedule);
});
void refresh().then(schedule);
