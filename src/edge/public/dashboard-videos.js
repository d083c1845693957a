// The dashboard's past broadcasts and clips (issue 15): the channel's recordings, each with a title to
// edit, a hide/show toggle, a link and a delete button (which removes the media too). The channel's own
// session sees hidden ones; the hub checks every change (owner or admin).

import { api } from './api.js';
import { el, optionalById } from './dom.js';
import { asArray, asRecord } from './json.js';
import { formatDuration, formatStarted, parseVideo } from './video-format.js';

/** @typedef {import('./video-format.js').VideoView} VideoView */

/**
 * Fills the panel for `channel` and keeps it current after each change.
 * @param {string} channel
 */
export async function mountVideos(channel) {
  const list = optionalById('dash-videos', HTMLElement);
  const status = optionalById('dash-videos-status', HTMLElement);
  if (!list || !status) return;
  const say = (/** @type {string} */ text) => {
    status.textContent = text;
  };
  const refresh = async () => {
    const r = await api('GET', `/api/channels/${encodeURIComponent(channel)}/videos`);
    if (!r.ok) return say(`Past broadcasts cannot be loaded: ${r.error.message || r.error.code}`);
    /** @type {VideoView[]} */
    const videos = [];
    for (const item of asArray(asRecord(r.data)?.videos)) {
      const v = parseVideo(item);
      if (v) videos.push(v);
    }
    list.replaceChildren(...videos.map((v) => row(v)));
    say(videos.length ? '' : 'No past broadcasts yet: they appear here when a recorded broadcast ends.');
  };
  /** @param {VideoView} v */
  const row = (v) => {
    const li = el('li', 'dash-video');
    li.dataset.id = v.id;
    const title = /** @type {HTMLInputElement} */ (el('input', 'text-input dash-video-title'));
    title.value = v.title;
    title.maxLength = 140;
    title.setAttribute('aria-label', `Title of the broadcast of ${formatStarted(v.startedAt)}`);
    const save = async () => {
      const next = title.value.trim();
      if (!next || next === v.title) return;
      const r = await api('PATCH', `/api/videos/${encodeURIComponent(v.id)}`, { title: next });
      say(r.ok ? 'Title saved.' : `Not saved: ${r.error.message || r.error.code}`);
      if (r.ok) v.title = next;
    };
    title.addEventListener('change', () => void save());
    const meta = el(
      'span',
      'dash-video-meta',
      `${formatStarted(v.startedAt)} · ${v.live ? 'live now' : formatDuration(v.durationMs)}${v.hidden ? ' · hidden' : ''}`,
    );
    const open = /** @type {HTMLAnchorElement} */ (el('a', 'link-button', 'Watch'));
    open.href = v.url;
    const hide = /** @type {HTMLButtonElement} */ (
      el('button', 'link-button dash-video-hide', v.hidden ? 'Show' : 'Hide')
    );
    hide.type = 'button';
    hide.addEventListener('click', () => {
      void api('PATCH', `/api/videos/${encodeURIComponent(v.id)}`, { hidden: !v.hidden }).then((r) => {
        say(
          r.ok
            ? v.hidden
              ? 'Shown to viewers again.'
              : 'Hidden from viewers.'
            : `Not changed: ${r.error.message || r.error.code}`,
        );
        void refresh();
      });
    });
    const del = /** @type {HTMLButtonElement} */ (
      el('button', 'link-button danger dash-video-delete', 'Delete')
    );
    del.type = 'button';
    del.addEventListener('click', () => {
      if (!confirm(`Delete "${v.title}" and its recording? This cannot be undone.`)) return;
      void api('DELETE', `/api/videos/${encodeURIComponent(v.id)}`).then((r) => {
        say(
          r.ok ? 'Deleted, with its recording and clips.' : `Not deleted: ${r.error.message || r.error.code}`,
        );
        void refresh();
      });
    });
    li.append(title, meta, open, hide, del);
    return li;
  };
  await refresh();
}
