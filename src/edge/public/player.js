// The watch page: picks a transport by what the browser can play (?transport=ws|dash|hls asks for one;
// default ws, the lowest latency; native HLS where there is no MSE), wires the player to the controls,
// and exposes window.tiercast for tests and benchmarks.

import { WsPlayer } from './ws-player.js';
import { DashPlayer } from './dash-player.js';
import { NativeHlsPlayer, browserCapabilities, chooseTransport } from './native-hls-player.js';
import { streamNameFromPath, renditionLabel, formatViewers, parseStreamEntry } from './format.js';
import { streamAccess } from './stream-access.js';
import { byId } from './dom.js';

/** @import { DashRendition } from './dash-player.js' */
/** @typedef {DashRendition & { frameRate?: number }} QualityOption a video rendition of either player */

/** @type {Record<string, string>} */
const STATUS_TEXT = {
  connecting: 'Connecting…',
  buffering: 'Connecting…',
  live: 'Live',
  offline: 'Stream offline, waiting…',
  reconnecting: 'Reconnecting…',
  error: 'Playback error',
  locked: 'Password required',
};
const LATENCY_EVERY_MS = 250;
const TRANSPORT_LABEL = { ws: 'WebSocket', dash: 'LL-DASH', hls: 'HLS (built-in player)', none: 'none' };
const META_EVERY_MS = 15_000;

/** For elements used only as plain HTML elements (text, hidden). */
const $ = (/** @type {string} */ id) => byId(id, HTMLElement);
const video = byId('video', HTMLVideoElement);
const statusEl = $('status');
const overlay = $('overlay');
const latencyEl = $('latency');
const qualitySelect = byId('quality', HTMLSelectElement);
const unmuteBtn = byId('unmute', HTMLButtonElement);
const playBtn = byId('play', HTMLButtonElement);
const fullscreenBtn = byId('fullscreen', HTMLButtonElement);

const params = new URLSearchParams(location.search);
const choice = chooseTransport(params.get('transport'), browserCapabilities(video));
const transport = choice.transport;
const target = Number(params.get('target'));
const name = streamNameFromPath(location.pathname);

/** @type {QualityOption[]} highest first */
let renditionList = [];
/** @type {WsPlayer | DashPlayer | NativeHlsPlayer | null} */
let player = null;

/**
 * @param {string} status
 * @param {string} [detail]
 */
function setStatus(status, detail) {
  const text = status === 'error' && detail ? detail : (STATUS_TEXT[status] ?? status);
  statusEl.textContent = text;
  statusEl.dataset.status = status;
  document.body.dataset.status = status;
  overlay.textContent = status === 'live' ? '' : text;
  overlay.hidden = status === 'live';
  if (detail === 'Click play to start') playBtn.hidden = false;
}

/** @param {QualityOption[]} list */
function fillQualityMenu(list) {
  renditionList = [...list].sort((a, b) => (b.height ?? 0) - (a.height ?? 0) || b.bandwidth - a.bandwidth);
  const chosen = qualitySelect.value || 'auto';
  const options = [new Option('Auto', 'auto')];
  for (const r of renditionList) options.push(new Option(renditionLabel(r), r.id));
  qualitySelect.replaceChildren(...options);
  qualitySelect.value = renditionList.some((r) => r.id === chosen) ? chosen : 'auto';
  qualitySelect.disabled = renditionList.length === 0;
}

/** @param {string | null} id */
function showQuality(id) {
  // In Auto mode, say what Auto picked: "Auto (720p)".
  const auto = qualitySelect.options[0];
  if (!auto) return;
  const r = renditionList.find((x) => x.id === id);
  auto.textContent = r && r.height ? `Auto (${r.height}p)` : 'Auto';
}

function updateLatency() {
  const l = player ? player.latency() : null;
  latencyEl.textContent = l === null ? 'Latency —' : `Latency ${l.toFixed(2)} s`;
}

function updateMuteButton() {
  unmuteBtn.textContent = video.muted ? 'Unmute' : 'Mute';
  unmuteBtn.setAttribute('aria-pressed', String(!video.muted));
  unmuteBtn.classList.toggle('attention', video.muted);
}

async function refreshMeta() {
  try {
    const res = await fetch('/api/streams', { cache: 'no-store' });
    if (!res.ok) return;
    /** @type {unknown} */
    const list = await res.json();
    const entry = Array.isArray(list) ? list.map(parseStreamEntry).find((e) => e && e.name === name) : null;
    if (!entry) return;
    $('title').textContent = entry.title;
    document.title = `${entry.title} · tiercast`;
    $('category').textContent = entry.category;
    $('viewers').textContent = entry.live ? formatViewers(entry.viewers) : '';
  } catch {
    // The directory is decoration here; playback does not depend on it.
  }
}

function exposeApi() {
  window.tiercast = {
    transport,
    latency: () => (player ? player.latency() : null),
    quality: () => (player ? player.quality() : null),
    renditions: () => (player ? player.renditions() : []),
    setQuality: (idOrAuto) => {
      if (!player) return;
      player.setQuality(idOrAuto);
      qualitySelect.value = renditionList.some((r) => r.id === idOrAuto) ? idOrAuto : 'auto';
    },
    get stalls() {
      return player ? player.stalls : 0;
    },
  };
}

function wireControls() {
  unmuteBtn.addEventListener('click', () => {
    video.muted = !video.muted;
    if (!video.muted && video.volume === 0) video.volume = 1;
  });
  video.addEventListener('volumechange', updateMuteButton);
  updateMuteButton();
  qualitySelect.addEventListener('change', () => player?.setQuality(qualitySelect.value));
  playBtn.addEventListener('click', () => {
    playBtn.hidden = true;
    video.play().catch(() => (playBtn.hidden = false));
  });
  video.addEventListener('pause', () => (playBtn.hidden = false));
  video.addEventListener('playing', () => (playBtn.hidden = true));
  if (document.fullscreenEnabled) {
    fullscreenBtn.addEventListener('click', () => {
      if (document.fullscreenElement) void document.exitFullscreen();
      else void $('stage').requestFullscreen();
    });
  } else {
    fullscreenBtn.hidden = true;
  }
}

function main() {
  exposeApi();
  wireControls();
  $('transport').textContent = TRANSPORT_LABEL[transport];
  if (transport === 'none') {
    setStatus('error', choice.reason);
    qualitySelect.disabled = true;
    return;
  }
  if (!name) {
    $('title').textContent = 'Stream not found';
    setStatus('error', 'This is not a valid stream address.');
    qualitySelect.disabled = true;
    return;
  }
  $('title').textContent = name;
  document.title = `${name} · tiercast`;
  void refreshMeta();
  setInterval(() => void refreshMeta(), META_EVERY_MS);
  // A password-protected stream starts once the viewer has unlocked it (stream-access.js shows the form).
  const access = streamAccess(name);
  void access.locked.then((locked) => locked && setStatus('locked'));
  void access.ready.then(() => startPlayer(name));
}

/** @param {string} name */
function startPlayer(name) {
  const common = {
    video,
    onStatus: setStatus,
    onRenditions: fillQualityMenu,
    onQuality: showQuality,
  };
  const path = `/live/${encodeURIComponent(name)}`;
  if (transport === 'ws') {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const options = target > 0 ? { targetLatency: target } : {};
    player = new WsPlayer({
      ...common,
      url: `${scheme}://${location.host}${path}/ws`,
      stream: name,
      options,
    });
    player.start();
  } else if (transport === 'hls') {
    player = new NativeHlsPlayer({ video, playlistUrl: `${path}/master.m3u8`, onStatus: setStatus });
    player.start();
    // The browser picks the quality: the menu says so.
    fillQualityMenu([]);
  } else {
    player = new DashPlayer({
      ...common,
      manifestUrl: new URL(`${path}/manifest.mpd`, location.href).href,
      targetLatency: target > 0 ? target : 0.8,
    });
    player
      .start()
      .catch((err) =>
        setStatus('error', `Could not start the player: ${err instanceof Error ? err.message : String(err)}`),
      );
  }
  setInterval(updateLatency, LATENCY_EVERY_MS);
  window.addEventListener('pagehide', () => player?.close());
  // A page restored from the back/forward cache has a closed player: start afresh.
  window.addEventListener('pageshow', (e) => e.persisted && location.reload());
}

main();
