// The channel's past broadcasts under its player (issue 15): each with its thumbnail, title, date and
// length, linking to /videos/ID. The list comes from the hub (/api/channels/NAME/videos); the channel's
// owner also sees hidden ones, marked so. Shown only when there is something to show.

import { api } from './api.js';
import { el, optionalById } from './dom.js';
import { streamNameFromPath } from './format.js';
import { asArray, asRecord } from './json.js';
import { formatDuration, formatStarted, parseVideo } from './video-format.js';
import { afterPlayerStarts } from './page-order.js';
import { t } from './i18n.js';

async function mount() {
  const section = optionalById('past', HTMLElement);
  const list = optionalById('past-list', HTMLElement);
  const name = streamNameFromPath(location.pathname);
  if (!section || !list || !name) return;
  const r = await api('GET', `/api/channels/${encodeURIComponent(name)}/videos`);
  if (!r.ok) return;
  /** @type {import('./video-format.js').VideoView[]} */
  const videos = [];
  for (const item of asArray(asRecord(r.data)?.videos)) {
    const v = parseVideo(item);
    if (v && !v.live) videos.push(v);
  }
  list.replaceChildren(
    ...videos.map((v) => {
      const item = el('li', 'past-item');
      const a = /** @type {HTMLAnchorElement} */ (el('a', 'past-link'));
      a.href = v.url;
      const img = /** @type {HTMLImageElement} */ (el('img', 'past-thumb'));
      img.src = v.thumbnail;
      img.alt = '';
      img.loading = 'lazy';
      img.addEventListener('error', () => img.remove(), { once: true });
      a.append(img, el('span', 'past-title', v.hidden ? t('watch.pastHidden', { title: v.title }) : v.title));
      item.append(
        a,
        el('span', 'past-meta', `${formatStarted(v.startedAt)} · ${formatDuration(v.durationMs)}`),
      );
      return item;
    }),
  );
  section.hidden = videos.length === 0;
}

void afterPlayerStarts().then(mount);
