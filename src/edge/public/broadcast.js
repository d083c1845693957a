// The /broadcast page: a streamer goes live from the browser. Picks the sources (broadcast-media.js),
// encodes with WebCodecs (or, where it is missing, records WebM with MediaRecorder: broadcast-recorder.js)
// and sends tags (or the WebM bytes) to the ingress the edge names (/api/broadcast/ingest) over one
// socket (broadcast-link.js), shows the health, the viewer count (/api/streams of this edge) and, once the
// ingress has said the stream's name, its chat (chat.js, as on the watch page).

import { api } from './api.js';
import { socketUrlFor } from './broadcast-rules.js';
import { IngestLink } from './broadcast-link.js';
import { LiveEncoder, missingSupport, openSources } from './broadcast-media.js';
import { RecorderEncoder, encodingPath, recorderCodecsLabel } from './broadcast-recorder.js';
import { mountChatWhenAccessible } from './chat.js';
import { byId } from './dom.js';
import { formatBitrate, formatViewers, parseStreamEntry } from './format.js';
import { asArray, asRecord } from './json.js';
import { mountSessionArea } from './session.js';
import { errorText, formatNumber, t } from './i18n.js';

/** @import { LinkState } from './broadcast-link.js' */
/** @import { Sources } from './broadcast-media.js' */

const $ = (/** @type {string} */ id) => byId(id, HTMLElement);
const form = byId('go-live', HTMLFormElement);
const keyInput = byId('stream-key', HTMLInputElement);
const startButton = byId('start', HTMLButtonElement);
const preview = byId('preview', HTMLVideoElement);
const status = $('status');
const errorLine = $('error');

void mountSessionArea();

/** @type {{sources: Sources, encoder: LiveEncoder | RecorderEncoder, link: IngestLink} | null} */
let session = null;
/** @type {string | null} */
let streamName = null;
let chatMounted = false;
/** @type {number | undefined} */
let viewerTimer;
/** @type {number | undefined} */
let healthTimer;

// For tests and benchmarks: the link's state, and a way to cut the socket as a network change would.
window.tiercastBroadcast = {
  get state() {
    return status.dataset.status ?? 'offline';
  },
  get reconnects() {
    return session?.link.health.reconnects ?? 0;
  },
  dropConnection: () => session?.link.ws?.close(),
};

const path = encodingPath();
$('health-encoder').textContent = !path
  ? '—'
  : path.kind === 'webm'
    ? t('broadcast.encoderWebm', { codecs: recorderCodecsLabel(path.mimeType) })
    : t('broadcast.encoderWebCodecs');
const unsupported = missingSupport();
if (unsupported) {
  const banner = $('unsupported');
  banner.textContent = unsupported;
  banner.hidden = false;
  startButton.disabled = true;
}

/**
 * @param {'live' | 'offline' | 'error' | 'connecting'} kind
 * @param {string} text
 */
function setStatus(kind, text) {
  status.dataset.status = kind;
  status.textContent = text;
}

/** @param {boolean} on */
function setRunning(on) {
  startButton.textContent = on ? t('broadcast.stop') : t('broadcast.start');
  keyInput.disabled = on;
  byId('video-source', HTMLSelectElement).disabled = on;
  byId('use-mic', HTMLInputElement).disabled = on;
  $('overlay').hidden = on;
}

form.addEventListener('submit', (ev) => {
  // Never a navigation: the key must not reach a URL or a request body to the edge.
  ev.preventDefault();
  if (session) stop();
  else void start();
});

async function start() {
  errorLine.textContent = '';
  const key = keyInput.value.trim();
  if (!key) {
    errorLine.textContent = t('broadcast.pasteKey');
    keyInput.focus();
    return;
  }
  startButton.disabled = true;
  setStatus('connecting', t('broadcast.starting'));
  try {
    const where = await api('GET', '/api/broadcast/ingest');
    const found = where.ok ? asRecord(where.data)?.url : undefined;
    const url = typeof found === 'string' ? found : null;
    if (!url) throw new Error(where.ok ? t('broadcast.noIngest') : errorText(where.error));
    const video = /** @type {'camera' | 'screen' | 'both'} */ (byId('video-source', HTMLSelectElement).value);
    const sources = await openSources(video, byId('use-mic', HTMLInputElement).checked);
    preview.srcObject = sources.preview;
    /** @type {IngestLink | null} */
    let linkRef = null;
    const onError = (/** @type {string} */ message) =>
      fail(t('broadcast.encoderStopped', { reason: message }));
    const encoder =
      path?.kind === 'webm'
        ? new RecorderEncoder({
            video: sources.video,
            audio: sources.audio,
            mimeType: path.mimeType,
            onChunk: (bytes) => linkRef?.sendBytes(bytes),
            onError,
          })
        : new LiveEncoder({
            video: sources.video,
            audio: sources.audio,
            onTag: (t) => linkRef?.send(t),
            onError,
          });
    const link = new IngestLink({
      url: socketUrlFor(url, location),
      key,
      encoder,
      onState,
      onAccepted: (name, audio) => {
        streamName = name;
        $('title').textContent = t('broadcast.broadcastingAs', { name });
        $('stream-name').textContent = name;
        const note = $('audio-note');
        note.hidden = audio || !sources.audio;
        note.textContent = t('broadcast.videoOnly');
        if (!chatMounted) {
          chatMounted = true;
          mountChatWhenAccessible(name);
        }
      },
    });
    linkRef = link;
    session = { sources, encoder, link };
    setRunning(true);
    encoder.start();
    link.start();
    viewerTimer = window.setInterval(() => void refreshViewers(), 3000);
    healthTimer = window.setInterval(showHealth, 1000);
  } catch (err) {
    fail(describeStartError(err));
  } finally {
    startButton.disabled = !!unsupported;
  }
}

/** @param {unknown} err */
function describeStartError(err) {
  if (err instanceof DOMException && err.name === 'NotAllowedError') return t('broadcast.notAllowed');
  if (err instanceof DOMException && err.name === 'NotFoundError') return t('broadcast.noDevice');
  return err instanceof Error ? err.message : String(err);
}

/**
 * @param {LinkState} state
 * @param {string} detail
 */
function onState(state, detail) {
  switch (state) {
    case 'connecting':
      return setStatus('connecting', t('broadcast.connecting'));
    case 'sending':
      return setStatus('connecting', t('broadcast.startingStream'));
    case 'live':
      return setStatus('live', t('broadcast.live'));
    case 'reconnecting':
      return setStatus('connecting', detail || t('broadcast.reconnecting'));
    case 'refused':
      return fail(detail);
    case 'stopped':
      return setStatus('offline', t('broadcast.notLive'));
  }
}

/** Ends the broadcast with words for the streamer. @param {string} message */
function fail(message) {
  stop();
  setStatus('error', t('broadcast.notLive'));
  errorLine.textContent = message;
}

function stop() {
  const s = session;
  session = null;
  clearInterval(viewerTimer);
  clearInterval(healthTimer);
  if (s) {
    s.link.stop();
    s.encoder.stop();
    s.sources.stop();
  }
  preview.srcObject = null;
  setRunning(false);
  $('uplink-warning').hidden = true;
  if (status.dataset.status !== 'error') setStatus('offline', t('broadcast.notLive'));
}

function showHealth() {
  if (!session) return;
  const h = session.link.health;
  $('health-bitrate').textContent = formatBitrate(h.sentBps) || '—';
  $('health-server').textContent = h.serverKbps === null ? '—' : formatBitrate(h.serverKbps * 1000) || '0';
  $('health-dropped').textContent = formatNumber(h.dropped);
  $('health-rtt').textContent = h.rttMs === null ? '—' : t('broadcast.ms', { value: formatNumber(h.rttMs) });
  $('health-reconnects').textContent = formatNumber(h.reconnects);
  $('uplink-warning').hidden = !h.behind;
}

async function refreshViewers() {
  if (!streamName) return;
  const r = await api('GET', '/api/streams');
  if (!r.ok) return;
  for (const item of asArray(r.data)) {
    const e = parseStreamEntry(item);
    if (e && e.name === streamName) {
      $('viewers').textContent = formatViewers(e.viewers);
      return;
    }
  }
  $('viewers').textContent = formatViewers(0);
}
