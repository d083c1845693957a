// A clip (/clips/ID, issue 15): an MP4 cut from a live broadcast, played by the browser itself and offered
// for download. What it is comes from the hub (/api/clips/ID); the MP4 from this edge, which applies the
// channel's password as for the live stream.

import { api } from './api.js';
import { byId } from './dom.js';
import { asRecord } from './json.js';
import { mountSessionArea } from './session.js';
import { formatDuration } from './video-format.js';
import { t } from './i18n.js';

const id = decodeURIComponent(location.pathname.split('/')[2] ?? '');
const status = byId('status', HTMLElement);

async function main() {
  void mountSessionArea();
  const r = await api('GET', `/api/clips/${encodeURIComponent(id)}`);
  const c = r.ok ? asRecord(asRecord(r.data)?.clip) : null;
  if (
    !c ||
    typeof c.channel !== 'string' ||
    typeof c.mp4 !== 'string' ||
    !/^\/clips\/[0-9a-f]{12}\/clip\.mp4$/.test(c.mp4)
  ) {
    byId('title', HTMLElement).textContent = t('video.clipNotFound');
    status.textContent = r.ok || r.status === 404 ? t('video.clipGone') : t('video.clipCannotLoad');
    return;
  }
  const title = typeof c.title === 'string' ? c.title : t('video.clip');
  document.title = `${title} · tiercast`;
  byId('title', HTMLElement).textContent = title;
  const channel = byId('channel', HTMLAnchorElement);
  channel.textContent = c.channel;
  channel.href = `/watch/${encodeURIComponent(c.channel)}`;
  byId('maker', HTMLElement).textContent =
    typeof c.createdBy === 'string' ? t('video.clippedBy', { name: c.createdBy }) : '';
  byId('duration', HTMLElement).textContent = formatDuration(
    typeof c.durationMs === 'number' ? c.durationMs : 0,
  );
  const probe = await fetch(c.mp4, { method: 'HEAD', credentials: 'same-origin' });
  if (probe.status === 403) {
    status.textContent = t('video.locked');
    return;
  }
  const video = byId('video', HTMLVideoElement);
  video.src = c.mp4;
  const download = byId('download', HTMLAnchorElement);
  download.href = c.mp4;
  download.download = `${c.channel}-${id}.mp4`;
  download.hidden = false;
  status.textContent = t('video.ready');
}

void main();
