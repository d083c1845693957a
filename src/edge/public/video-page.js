// A past broadcast (/videos/ID, issue 15): the recording as static HLS through hls.js (or the browser's own
// HLS where there is no MediaSource), with a quality menu over every recorded rendition. What the video is
// comes from the hub (/api/videos/ID); the media from this edge (/videos/ID/…), which reads the recording
// storage. A password-protected channel's video plays once the channel is unlocked on its page.

import { api } from './api.js';
import { byId } from './dom.js';
import { loadHlsJs } from './hlsjs-player.js';
import { bufferedAhead } from './live-edge.js';
import { mountSessionArea } from './session.js';
import { formatDuration, formatStarted, parseVideo } from './video-format.js';
import { asArray, asRecord } from './json.js';
import { lineText } from './chat-lines.js';
import { formatNumber, t } from './i18n.js';

const id = decodeURIComponent(location.pathname.split('/')[2] ?? '');
const video = byId('video', HTMLVideoElement);
const overlay = byId('overlay', HTMLElement);
const status = byId('status', HTMLElement);
const quality = byId('quality', HTMLSelectElement);

/** @param {string} text */
function show(text) {
  overlay.textContent = text;
  overlay.hidden = false;
  status.textContent = text;
}

async function main() {
  void mountSessionArea();
  const r = await api('GET', `/api/videos/${encodeURIComponent(id)}`);
  const v = r.ok ? parseVideo(asRecord(r.data)?.video) : null;
  if (!v) {
    byId('title', HTMLElement).textContent = t('video.notFound');
    return show(r.status === 404 || r.ok ? t('video.gone') : t('video.cannotLoad'));
  }
  document.title = `${v.title} · ${v.channel} · tiercast`;
  byId('title', HTMLElement).textContent = v.title;
  const channel = byId('channel', HTMLAnchorElement);
  channel.textContent = v.channel;
  channel.href = `/watch/${encodeURIComponent(v.channel)}`;
  byId('category', HTMLElement).textContent = v.category;
  byId('when', HTMLElement).textContent = formatStarted(v.startedAt);
  byId('duration', HTMLElement).textContent = formatDuration(v.durationMs);
  byId('peak', HTMLElement).textContent = v.peakViewers
    ? t('video.peak', { count: v.peakViewers, n: formatNumber(v.peakViewers) })
    : '';
  // Still live: its recording so far plays from the start (the channel has the live picture).
  const fromStart = v.live;
  const src = `/videos/${encodeURIComponent(v.id)}/master.m3u8`;
  // The media answers 403 until the channel is unlocked: say so rather than fail silently.
  const probe = await fetch(src, { credentials: 'same-origin' });
  if (probe.status === 403) return show(t('video.locked'));
  if (!probe.ok) return show(t('video.cannotPlay'));
  video.poster = v.thumbnail;
  const replay = await loadReplay(v.id);
  if (globalThis.MediaSource) {
    const hls = await playWithHlsJs(src, fromStart);
    if (replay) video.addEventListener('timeupdate', () => replay(hls.playingDate?.getTime()));
  } else {
    video.src = src;
    overlay.hidden = true;
    status.textContent = t('video.playing');
    // Safari's own HLS maps the playhead onto EXT-X-PROGRAM-DATE-TIME as getStartDate() + currentTime.
    const start = /** @type {{ getStartDate?: () => Date }} */ (/** @type {unknown} */ (video)).getStartDate;
    if (replay && start)
      video.addEventListener('timeupdate', () =>
        replay(start.call(video).getTime() + video.currentTime * 1000),
      );
  }
}

/**
 * The broadcast's chat, shown as the picture reaches each message's time (the playlists carry the wall-clock
 * time of each epoch's start). Returns the function to call with the playhead's wall-clock time, or null
 * when there is nothing to replay.
 * @param {string} videoId
 * @returns {Promise<((at: number | undefined) => void) | null>}
 */
async function loadReplay(videoId) {
  const r = await api('GET', `/api/videos/${encodeURIComponent(videoId)}/chat`);
  /** @type {Array<{ at: number, author: string, text: string, kind: string }>} */
  const messages = [];
  for (const item of asArray(asRecord(r.data)?.messages)) {
    const m = asRecord(item);
    if (m && typeof m.at === 'number' && typeof m.author === 'string' && typeof m.text === 'string') {
      // The hub's own lines (moderation) in the page's language, as in the live chat.
      const text = m.kind === 'system' ? lineText(m.key, m.params, m.text) : m.text;
      messages.push({ at: m.at, author: m.author, text, kind: String(m.kind) });
    }
  }
  if (!messages.length) return null;
  messages.sort((a, b) => a.at - b.at);
  const panel = byId('replay', HTMLElement);
  const log = byId('replay-log', HTMLElement);
  panel.hidden = false;
  let shown = 0;
  return (at) => {
    if (at === undefined || !Number.isFinite(at)) return;
    let n = 0;
    while (n < messages.length && (messages[n]?.at ?? Infinity) <= at) n++;
    if (n === shown) return;
    if (n < shown) {
      log.replaceChildren();
      shown = 0;
    }
    for (const m of messages.slice(shown, n)) {
      const li = document.createElement('li');
      li.className = 'replay-line';
      const who = document.createElement('strong');
      who.textContent = m.author;
      li.append(
        who,
        document.createTextNode(m.kind === 'drawing' ? ` ${t('video.sentDrawing')}` : `: ${m.text}`),
      );
      log.append(li);
    }
    shown = n;
    log.scrollTop = log.scrollHeight;
  };
}

/**
 * @param {string} src
 * @param {boolean} [fromStart]
 * @returns {Promise<import('hls.js').default>}
 */
async function playWithHlsJs(src, fromStart = false) {
  const Hls = await loadHlsJs();
  // A broadcast still being recorded is a growing playlist: hls.js would start at its live end.
  const hls = new Hls({ enableWorker: false, ...(fromStart ? { startPosition: 0 } : {}) });
  hls.on(Hls.Events.MANIFEST_PARSED, () => {
    quality.replaceChildren(new Option(t('player.auto'), '-1'));
    // Best first, as on the watch page (hls.js keeps its levels lowest first).
    const levels = hls.levels.map((l, i) => ({ l, i })).sort((a, b) => (b.l.height || 0) - (a.l.height || 0));
    for (const { l, i } of levels)
      quality.append(new Option(l.height ? `${l.height}p` : t('video.level', { n: i + 1 }), String(i)));
    quality.disabled = hls.levels.length < 2;
    overlay.hidden = true;
    status.textContent = fromStart ? t('video.fromStart') : t('video.ready');
    void video.play().catch(() => undefined);
  });
  hls.on(Hls.Events.LEVEL_SWITCHED, (_e, d) => {
    const l = hls.levels[d.level];
    video.dataset.level = String(d.level);
    status.textContent = l?.height ? t('video.playingHeight', { height: l.height }) : t('video.playing');
  });
  hls.on(Hls.Events.ERROR, (_e, d) => {
    if (d.fatal) show(t('video.failed'));
  });
  quality.addEventListener('change', () => {
    // A chosen level is switched to at once (the buffer is replaced); Auto lets hls.js choose again.
    hls.currentLevel = Number(quality.value);
  });
  hls.loadSource(src);
  hls.attachMedia(video);
  // A seek right after a quality switch (which flushes the buffer) can leave hls.js loading nothing: the
  // element playing, nothing buffered at the playhead. Seen in CI under load. After 3 s of that, load again
  // from where the playhead is.
  let stuckSince = 0;
  const watchdog = setInterval(() => {
    const stuck = !video.paused && !video.ended && video.readyState <= 1 && bufferedAhead(video) === 0;
    if (!stuck) stuckSince = 0;
    else if (!stuckSince) stuckSince = performance.now();
    else if (performance.now() - stuckSince > 3000) {
      stuckSince = 0;
      console.warn('tiercast: nothing loading at the playhead, loading again from', video.currentTime);
      hls.startLoad(video.currentTime);
    }
  }, 500);
  // Nothing to load again once hls.js has given up or gone.
  hls.on(Hls.Events.DESTROYING, () => clearInterval(watchdog));
  hls.on(Hls.Events.ERROR, (_e, d) => {
    if (d.fatal) clearInterval(watchdog);
  });
  return hls;
}

void main();
