// The dashboard's past broadcasts and clips (issue 15): the channel's recordings, each with a title to
// edit, a hide/show toggle, a link and a delete button (which removes the media too). The channel's own
// session sees hidden ones; the hub checks every change (owner or admin).

import { api } from './api.js';
import { el, optionalById } from './dom.js';
import { asArray, asRecord } from './json.js';
import { formatDuration, formatStarted, parseVideo } from './video-format.js';
import { errorText, t } from './i18n.js';

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
    if (!r.ok) return say(t('dashboard.videos.notLoaded', { reason: errorText(r.error) }));
    /** @type {VideoView[]} */
    const videos = [];
    for (const item of asArray(asRecord(r.data)?.videos)) {
      const v = parseVideo(item);
      if (v) videos.push(v);
    }
    list.replaceChildren(...videos.map((v) => row(v)));
    say(videos.length ? '' : t('dashboard.videos.none'));
  };
  /** @param {VideoView} v */
  const row = (v) => {
    const li = el('li', 'dash-video');
    li.dataset.id = v.id;
    const title = /** @type {HTMLInputElement} */ (el('input', 'text-input dash-video-title'));
    title.value = v.title;
    title.maxLength = 140;
    title.setAttribute('aria-label', t('dashboard.videos.titleOf', { when: formatStarted(v.startedAt) }));
    const save = async () => {
      const next = title.value.trim();
      if (!next || next === v.title) return;
      const r = await api('PATCH', `/api/videos/${encodeURIComponent(v.id)}`, { title: next });
      say(
        r.ok
          ? t('dashboard.videos.titleSaved')
          : t('dashboard.videos.notSaved', { reason: errorText(r.error) }),
      );
      if (r.ok) v.title = next;
    };
    title.addEventListener('change', () => void save());
    const meta = el(
      'span',
      'dash-video-meta',
      [
        formatStarted(v.startedAt),
        v.live ? t('dashboard.videos.liveNow') : formatDuration(v.durationMs),
        ...(v.hidden ? [t('dashboard.videos.hidden')] : []),
      ].join(' · '),
    );
    const open = /** @type {HTMLAnchorElement} */ (el('a', 'link-button', 'Watch'));
    open.href = v.url;
    const hide = /** @type {HTMLButtonElement} */ (
      el(
        'button',
        'link-button dash-video-hide',
        v.hidden ? t('dashboard.videos.show') : t('dashboard.videos.hide'),
      )
    );
    hide.type = 'button';
    hide.addEventListener('click', () => {
      void api('PATCH', `/api/videos/${encodeURIComponent(v.id)}`, { hidden: !v.hidden }).then((r) => {
        say(
          r.ok
            ? v.hidden
              ? t('dashboard.videos.shown')
              : t('dashboard.videos.hiddenNow')
            : t('dashboard.videos.notChanged', { reason: errorText(r.error) }),
        );
        void refresh();
      });
    });
    const del = /** @type {HTMLButtonElement} */ (
      el('button', 'link-button danger dash-video-delete', t('dashboard.videos.delete'))
    );
    del.type = 'button';
    del.addEventListener('click', () => {
      if (!confirm(t('dashboard.videos.confirmDelete', { title: v.title }))) return;
      void api('DELETE', `/api/videos/${encodeURIComponent(v.id)}`).then((r) => {
        say(
          r.ok
            ? t('dashboard.videos.deleted')
            : t('dashboard.videos.notDeleted', { reason: errorText(r.error) }),
        );
        void refresh();
      });
    });
    li.append(title, meta, open, hide, del);
    return li;
  };
  await refresh();
}
