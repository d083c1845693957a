// The watch page: tries the transports the browser can play, in order (transport-choice.js: WebSocket,
// hls.js, dash.js, the built-in HLS player; ?transport=ws|hls|dash|native puts one first), moves to the next
// without a reload when one fails (transport-chain.js), wires the player to the controls, and exposes
// window.tiercast for tests and benchmarks.

import { WsPlayer } from './ws-player.js';
import { WebCodecsPlayer, webCodecsAvailable } from './webcodecs-player.js';
import { baseOfSocketUrl, watchEdgeList } from './edge-list.js';
import { EdgeFailover } from './http-failover.js';
import { DashPlayer } from './dash-player.js';
import { NativeHlsPlayer } from './native-hls-player.js';
import { HlsJsPlayer } from './hlsjs-player.js';
import { browserCapabilities, chooseTransport } from './transport-choice.js';
import { PLAY_BLOCKED, TransportChain } from './transport-chain.js';
import { streamNameFromPath, renditionLabel, formatViewers, parseStreamEntry, byQuality } from './format.js';
import { streamAccess } from './stream-access.js';
import { byId } from './dom.js';
import { Dvr, NUDGE_S } from './dvr.js';
import { formatNumber, t } from './i18n.js';

/** @import { DashRendition } from './dash-player.js' */
/** @import { Transport } from './transport-choice.js' */
/** @import { ChainHooks } from './transport-chain.js' */
/** @typedef {DashRendition & { frameRate?: number }} QualityOption a video rendition of any player */
/** @typedef {WsPlayer | HlsJsPlayer | DashPlayer | NativeHlsPlayer} Player */

/** @type {Record<string, () => string>} */
const STATUS_TEXT = {
  connecting: () => t('player.status.connecting'),
  buffering: () => t('player.status.connecting'),
  live: () => t('player.status.live'),
  offline: () => t('player.status.offline'),
  reconnecting: () => t('player.status.reconnecting'),
  error: () => t('player.status.error'),
  locked: () => t('player.status.locked'),
  rewound: () => t('player.status.rewound'),
};
const LATENCY_EVERY_MS = 250;
/** @type {Record<Transport, () => string>} */
const TRANSPORT_LABEL = {
  ws: () => t('player.transport.ws'),
  hls: () => t('player.transport.hls'),
  dash: () => t('player.transport.dash'),
  native: () => t('player.transport.native'),
};
/** @type {Record<Transport, TiercastPageApi['transport']>} what window.tiercast.transport says */
const PAGE_TRANSPORT = { ws: 'ws', hls: 'hls', dash: 'dash', native: 'hls' };
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
const volumeSlider = byId('volume', HTMLInputElement);

const params = new URLSearchParams(location.search);
const choice = chooseTransport(params.get('transport'), browserCapabilities(video));
const target = Number(params.get('target'));
/**
 * The WebSocket transport's decoder: WebCodecs onto a canvas (webcodecs-player.js) where the browser has
 * VideoDecoder, AudioDecoder and AudioWorklet, as it shows frames sooner than MSE (docs/benchmarks.md); MSE
 * elsewhere, and when the WebCodecs player cannot play the stream. `?player=mse` forces MSE;
 * `?player=webcodecs` is the default spelled out.
 */
const useWebCodecs = params.get('player') !== 'mse' && webCodecsAvailable();
/** Whether the WebCodecs player was tried: a second `ws` in the order is the MSE player, its fallback. */
let webCodecsTried = false;
/** `?quality=src`: start with that rendition (a link to Source) once the player lists it; then the menu rules. */
let wantedQuality = params.get('quality');
const name = streamNameFromPath(location.pathname);

/** @type {QualityOption[]} highest first */
let renditionList = [];
/** @type {Player | null} */
let player = null;
/** @type {TransportChain<Player> | null} */
let chain = null;
/** @type {Dvr | null} rewind while live, once the stream has started */
let dvr = null;

/** @returns {Transport | null} the transport playing, or the first to try before playback starts */
const currentTransport = () => chain?.transport ?? choice.order[0] ?? null;

/**
 * @param {string} status
 * @param {string} [detail]
 */
function setStatus(status, detail) {
  const shown = detail === PLAY_BLOCKED ? t('player.playBlocked') : detail;
  const text =
    (status === 'error' || status === 'rewound') && shown ? shown : (STATUS_TEXT[status]?.() ?? status);
  statusEl.textContent = text;
  statusEl.dataset.status = status;
  document.body.dataset.status = status;
  const playing = status === 'live' || status === 'rewound';
  overlay.textContent = playing ? '' : text;
  overlay.hidden = playing;
  if (detail === PLAY_BLOCKED) playBtn.hidden = false;
}

/** @param {QualityOption[]} list */
function fillQualityMenu(list) {
  renditionList = [...list].sort(byQuality);
  const chosen = qualitySelect.value || 'auto';
  const options = [new Option(t('player.auto'), 'auto')];
  for (const r of renditionList) options.push(new Option(renditionLabel(r), r.id));
  qualitySelect.replaceChildren(...options);
  qualitySelect.value = renditionList.some((r) => r.id === chosen) ? chosen : 'auto';
  qualitySelect.disabled = renditionList.length === 0;
  const wanted = wantedQuality;
  if (wanted && renditionList.some((r) => r.id === wanted)) {
    wantedQuality = null;
    qualitySelect.value = wanted;
    // The player calls this while it lists its renditions: choose once it is done.
    queueMicrotask(() => player?.setQuality(wanted));
  }
}

/** @param {string | null} id */
function showQuality(id) {
  // In Auto mode, say what Auto picked: "Auto (720p)".
  const auto = qualitySelect.options[0];
  if (!auto) return;
  const r = renditionList.find((x) => x.id === id);
  auto.textContent = r && r.height ? t('player.autoPicked', { height: r.height }) : t('player.auto');
}

function updateLatency() {
  const l = player ? player.latency() : null;
  latencyEl.textContent =
    l === null
      ? t('player.latencyNone')
      : t('player.latency', {
          seconds: formatNumber(l, { minimumFractionDigits: 2, maximumFractionDigits: 2 }),
        });
}

function updateMuteButton() {
  volumeSlider.value = String(video.muted ? 0 : video.volume);
  unmuteBtn.textContent = video.muted ? t('player.unmute') : t('player.mute');
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
    dvr?.setBroadcast(entry.broadcast);
  } catch {
    // The directory is decoration here; playback does not depend on it.
  }
}

/** @type {{ urls: () => string[], bases: () => string[] } | undefined} the other edges, to move to */
let edges;
/**
 * Whether the HTTP players may move to another edge: only for a stream known to be open. A protected one is
 * unlocked by a cookie of this edge's origin, which another edge never sees.
 */
let httpMayMove = false;

/** The edge the player gets its media from (its base URL), and how often it moved to another. */
function edgeInUse() {
  if (player instanceof WsPlayer) return { base: baseOfSocketUrl(player.edgeUrl()), moves: player.failovers };
  if (player instanceof HlsJsPlayer || player instanceof DashPlayer)
    return { base: player.failover?.current() ?? location.origin, moves: player.failover?.moves ?? 0 };
  return { base: location.origin, moves: 0 };
}

function exposeApi() {
  window.tiercast = {
    get transport() {
      const t = currentTransport();
      return t ? PAGE_TRANSPORT[t] : 'none';
    },
    get hlsPlayer() {
      const t = currentTransport();
      return t === 'hls' ? 'hls.js' : t === 'native' ? 'native' : null;
    },
    get player() {
      // Before the first player exists: the decoder it will use.
      if (!player) return useWebCodecs && currentTransport() === 'ws' ? 'webcodecs' : 'mse';
      return player instanceof WebCodecsPlayer ? 'webcodecs' : 'mse';
    },
    webcodecs: () => (player instanceof WebCodecsPlayer ? player.webcodecsStats() : null),
    position: () => {
      if (player instanceof WebCodecsPlayer) return player.wc?.shownTime ?? null;
      return video.readyState >= 2 ? video.currentTime : null;
    },
    get paused() {
      return isPaused();
    },
    get fallbacks() {
      return chain ? [...chain.failures] : [];
    },
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
    edgeMoves: () => edgeInUse().moves,
    edge: () => edgeInUse().base,
    repeatsDropped: () => (player instanceof WsPlayer ? (player.sink?.repeats ?? 0) : 0),
    p2p: () => {
      const p = player instanceof WsPlayer ? player.peers : null;
      return p
        ? {
            on: p.on,
            id: p.id,
            stats: { ...p.stats },
            links: p.linkCounts(),
            plan: structuredClone(p.plan),
            lagMs: p.lagSummary(),
            events: p.events(),
          }
        : null;
    },
    dvr: () => (dvr ? dvr.state() : null),
    bufferedRanges: () => {
      const b = video.buffered;
      return Array.from({ length: b.length }, (_, i) => [b.start(i), b.end(i)]);
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
  playBtn.addEventListener('click', () => setPaused(false));
  video.addEventListener('pause', () => (playBtn.hidden = false));
  video.addEventListener('playing', () => (playBtn.hidden = true));
  const toggleFullscreen = () => {
    if (document.fullscreenElement) void document.exitFullscreen();
    else void $('stage').requestFullscreen();
  };
  if (document.fullscreenEnabled) fullscreenBtn.addEventListener('click', toggleFullscreen);
  else fullscreenBtn.hidden = true;
  volumeSlider.addEventListener('input', () => {
    video.volume = Number(volumeSlider.value);
    video.muted = video.volume === 0;
  });
  document.addEventListener('keydown', (e) => {
    const key = playerKey(e);
    // The arrows rewind only where there is something to rewind; otherwise they keep their own use.
    if (!key || ((key === 'back' || key === 'forward') && !dvr?.available())) return;
    e.preventDefault();
    if (key === 'play') setPaused(!isPaused());
    else if (key === 'mute') unmuteBtn.click();
    else if (key === 'fullscreen' && document.fullscreenEnabled) toggleFullscreen();
    else if (key === 'back' || key === 'forward') dvr?.nudge(key === 'back' ? -NUDGE_S : NUDGE_S);
    else if (key === 'louder' || key === 'quieter') {
      video.volume = Math.min(1, Math.max(0, video.volume + (key === 'louder' ? 0.1 : -0.1)));
      video.muted = video.volume === 0;
    }
  });
}

/** Whether the picture is paused: the WebCodecs player's own state, else the <video>'s. */
function isPaused() {
  return player instanceof WebCodecsPlayer ? player.paused : video.paused;
}

/**
 * Pauses or resumes the picture. The WebCodecs player holds its picture and sound and comes back at the live
 * point; a <video> resumes where it stopped (its player then catches up).
 * @param {boolean} paused
 */
function setPaused(paused) {
  if (player instanceof WebCodecsPlayer) {
    player.setPaused(paused);
    playBtn.hidden = !paused;
    return;
  }
  if (paused) {
    video.pause();
    return;
  }
  playBtn.hidden = true;
  video.play().catch(() => (playBtn.hidden = false));
}

/**
 * The player's keys, as on common video sites: space or k play/pause, m mute, f full screen, up/down
 * volume, left/right 10 s back or forward (rewind while live). Not while typing (chat, password) or on a
 * control that uses the key itself.
 * @param {KeyboardEvent} e
 * @returns {'play' | 'mute' | 'fullscreen' | 'louder' | 'quieter' | 'back' | 'forward' | null}
 */
function playerKey(e) {
  if (e.ctrlKey || e.metaKey || e.altKey) return null;
  const t = e.target;
  if (t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement || t instanceof HTMLSelectElement)
    return null;
  if (t instanceof HTMLElement && t.isContentEditable) return null;
  if (t instanceof HTMLButtonElement && (e.key === ' ' || e.key === 'Enter')) return null;
  switch (e.key) {
    case ' ':
    case 'k':
      return 'play';
    case 'm':
      return 'mute';
    case 'f':
      return 'fullscreen';
    case 'ArrowUp':
      return 'louder';
    case 'ArrowDown':
      return 'quieter';
    case 'ArrowLeft':
      return 'back';
    case 'ArrowRight':
      return 'forward';
    default:
      return null;
  }
}

function main() {
  exposeApi();
  wireControls();
  const first = choice.order[0];
  $('transport').textContent = first ? TRANSPORT_LABEL[first]() : t('player.transport.none');
  if (!first) {
    setStatus('error', choice.reason);
    qualitySelect.disabled = true;
    return;
  }
  if (!name) {
    $('title').textContent = t('player.notFound');
    setStatus('error', t('player.badAddress'));
    qualitySelect.disabled = true;
    return;
  }
  $('title').textContent = name;
  document.title = `${name} · tiercast`;
  // oEmbed discovery: sites that unfurl a pasted watch link find the embeddable player.
  const oembed = document.createElement('link');
  oembed.rel = 'alternate';
  oembed.type = 'application/json+oembed';
  oembed.href = `/oembed?url=${encodeURIComponent(location.origin + location.pathname)}`;
  document.head.append(oembed);
  void refreshMeta();
  setInterval(() => void refreshMeta(), META_EVERY_MS);
  // A password-protected stream starts once the viewer has unlocked it (stream-access.js shows the form).
  const access = streamAccess(name);
  void access.locked.then((locked) => locked && setStatus('locked'));
  void access.ready.then(async () => {
    httpMayMove = await access.open;
    startPlayer(name);
    setInterval(updateLatency, LATENCY_EVERY_MS);
    window.addEventListener('pagehide', () => chain?.close());
    // A page restored from the back/forward cache has a closed player: start afresh.
    window.addEventListener('pageshow', (e) => e.persisted && location.reload());
    // The watch page rewinds while live; the embedded player (embed.html) has no seek bar.
    if (!document.getElementById('dvr')) return;
    dvr = new Dvr({
      video,
      channel: name,
      leaveLive,
      returnLive: () => startPlayer(name),
      onStatus: (text) => setStatus('rewound', text),
    });
    dvr.start();
    void refreshMeta();
  });
}

/** The viewer rewound (dvr.js): the live player is closed and the <video> left clean for the recording's. */
function leaveLive() {
  chain?.close();
  chain = null;
  player = null;
  document.getElementById('picture')?.remove();
  video.hidden = false;
  video.removeAttribute('src');
  video.load();
  video.playbackRate = 1;
  fillQualityMenu([]);
  $('transport').textContent = t('player.transport.recording');
  $('transport').title = '';
}

/** @param {string} name */
function startPlayer(name) {
  // Each start (again after a rewind) tries WebCodecs first where it was asked for.
  webCodecsTried = false;
  chain = new TransportChain({
    // With WebCodecs: ws (WebCodecs), then ws again (MSE), then the HTTP transports.
    order: useWebCodecs ? choice.order.flatMap((tr) => (tr === 'ws' ? [tr, tr] : [tr])) : choice.order,
    create: (tr, hooks) => createPlayer(tr, name, hooks),
    // The MSE player after a WebCodecs one that failed is worth trying only if the socket brought the stream
    // (the decoder was the problem); a socket the network refuses goes straight to the HTTP transports.
    skip: (tr, failed) =>
      tr === 'ws' && failed.transport === 'ws' && !(player instanceof WsPlayer && player.info),
    onStatus: setStatus,
    onSwitch: (tr, p, failed) => {
      player = p;
      const label = $('transport');
      label.textContent = TRANSPORT_LABEL[tr]();
      label.title = failed
        ? t('player.transport.failed', {
            transport: TRANSPORT_LABEL[failed.transport](),
            reason: failed.reason,
          })
        : '';
      // A new player has its own renditions (none for the built-in player, which chooses itself).
      fillQualityMenu([]);
    },
  });
  chain.start();
}

/**
 * @param {Transport} t
 * @param {string} name
 * @param {ChainHooks} hooks
 * @returns {Player}
 */
function createPlayer(t, name, hooks) {
  if (player) {
    // The previous transport left its source and speed on the element: the next one starts clean.
    video.removeAttribute('src');
    video.load();
    video.playbackRate = 1;
  }
  const webCodecs = t === 'ws' && useWebCodecs && !webCodecsTried;
  if (webCodecs) webCodecsTried = true;
  else {
    // A transport after a failed WebCodecs player (MSE over the same socket first) plays on the <video> again.
    document.getElementById('picture')?.remove();
    video.hidden = false;
  }
  const common = {
    video,
    onStatus: hooks.onStatus,
    onFailure: hooks.onFailure,
    onRenditions: fillQualityMenu,
    onQuality: showQuality,
  };
  const path = `/live/${encodeURIComponent(name)}`;
  switch (t) {
    case 'ws': {
      const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
      const options = target > 0 ? { targetLatency: target } : {};
      const wsParams = {
        ...common,
        url: `${scheme}://${location.host}${path}/ws`,
        stream: name,
        options,
        peerAssist: peerAssistWanted(),
        onPeerState: showPeerState,
      };
      const ws = webCodecs
        ? new WebCodecsPlayer({ ...wsParams, canvas: pictureCanvas() })
        : new WsPlayer(wsParams);
      // When this edge dies, is cut off or is full, the player moves to the next edge without a reload.
      edges ??= watchEdgeList(name);
      ws.setFailover(edges.urls);
      return ws;
    }
    case 'hls': {
      const hls = new HlsJsPlayer({ ...common, playlistUrl: `${path}/master.m3u8` });
      const failover = httpFailover(name, `${path}/master.m3u8`);
      if (failover) hls.setFailover(failover);
      return hls;
    }
    case 'dash': {
      const dash = new DashPlayer({
        ...common,
        manifestUrl: new URL(`${path}/manifest.mpd`, location.href).href,
        targetLatency: target > 0 ? target : 0.8,
      });
      const failover = httpFailover(name, `${path}/manifest.mpd`);
      if (failover) dash.setFailover(failover);
      return dash;
    }
    case 'native':
      return new NativeHlsPlayer({ ...common, playlistUrl: `${path}/master.m3u8` });
  }
}

/** The viewer's P2P switch, kept across visits (on unless switched off). */
const P2P_KEY = 'tiercast.p2p';
function peerAssistWanted() {
  try {
    return localStorage.getItem(P2P_KEY) !== 'off';
  } catch {
    return true;
  }
}

/**
 * The P2P line under the player: shown while the edge has P2P on for this page (or the viewer switched it
 * off), with the switch. @param {'on' | 'off'} state @param {string} [detail]
 */
function showPeerState(state, detail) {
  const box = $('p2p');
  const text = $('p2p-state');
  const toggle = byId('p2p-toggle', HTMLButtonElement);
  const wanted = peerAssistWanted();
  // Shown while on, and while switched off by the viewer; not where the edge does not use P2P at all.
  box.hidden = state === 'off' && (wanted || (detail ?? '').startsWith('P2P_DISABLED'));
  text.textContent = state === 'on' ? t('player.p2p.on') : t('player.p2p.off');
  toggle.textContent = wanted ? t('player.p2p.turnOff') : t('player.p2p.turnOn');
  toggle.setAttribute('aria-pressed', String(wanted));
  if (detail && state === 'off' && detail.startsWith('P2P_BAD_DATA'))
    text.textContent = t('player.p2p.offErrors');
  toggle.onclick = () => {
    const next = !peerAssistWanted();
    try {
      localStorage.setItem(P2P_KEY, next ? 'on' : 'off');
    } catch {
      // storage unavailable: the switch holds for this page only
    }
    if (player instanceof WsPlayer) player.setPeerAssist(next);
    showPeerState(next ? state : 'off');
  };
}

/**
 * The canvas the WebCodecs player draws on, in place of the <video> (which stays, hidden, as the model of the
 * mute and volume controls). A probe reads it with drawImage like a video.
 */
function pictureCanvas() {
  let canvas = document.getElementById('picture');
  if (!(canvas instanceof HTMLCanvasElement)) {
    canvas = document.createElement('canvas');
    canvas.id = 'picture';
    canvas.className = 'picture';
    canvas.setAttribute('role', 'img');
    canvas.setAttribute('aria-label', t('player.liveVideo'));
    video.after(canvas);
  }
  video.hidden = true;
  return /** @type {HTMLCanvasElement} */ (canvas);
}

/**
 * When this edge is gone, the HTTP players send their requests to the next edge (http-failover.js).
 * @param {string} name
 * @param {string} warmPath the document that makes an edge subscribe to the stream
 */
function httpFailover(name, warmPath) {
  if (!httpMayMove) return null;
  edges ??= watchEdgeList(name);
  const failover = new EdgeFailover({ own: location.origin, others: edges.bases, warmPath });
  failover.onMoved((base) => console.warn(`tiercast: edge gone, moved to ${base}`));
  return failover;
}

main();
