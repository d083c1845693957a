// The LL-HLS path through hls.js (low-latency mode), for browsers with a MediaSource (or a
// ManagedMediaSource, which hls.js picks itself) where the WebSocket does not get through. hls.js is loaded
// only in this mode, from /static/hls.min.js.
//
// Latency is read from the stream's clock: the edge writes EXT-X-PROGRAM-DATE-TIME from the time the
// ingress received the media (the stream's wall-clock anchor), and hls.js maps the playhead onto it
// (`playingDate`). `hls.latency` is not used: it measures from the newest part in the playlist, so it leaves
// out the transcoder, the chunk being filled and the relays, the same latency the WebSocket and DASH players
// report against the ingress. The edge's clock comes from /time (as the WebSocket player's comes from
// ping/pong), so the figure holds when this machine's clock is off.

import { ClockSync, localNow } from './clock-sync.js';
import { PLAY_BLOCKED } from './transport-chain.js';
import { asRecord } from './json.js';
import { edgeLoaderConfig } from './hlsjs-edge-loader.js';
import { t } from './i18n.js';
import { loadScript } from './dom.js';

export const HLS_SCRIPT = '/static/hls.min.js';

/** @typedef {typeof import('hls.js').default} HlsJs */
/** @typedef {import('hls.js').default} HlsInstance */
/** @import { ErrorData, HlsConfig, Level } from 'hls.js' */
/** @import { DashRendition } from './dash-player.js' */
/** @import { EdgeFailover } from './http-failover.js' */
/** @typedef {DashRendition & { frameRate?: number }} HlsRendition */

/** First restart comes quickly (a start-up hiccup), later ones back off (a stream that is away). */
const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 10_000;
/** No progress for this long while playing: start hls.js over. */
const STUCK_MS = 6_000;
/** A second fatal media error this soon after recovering from one is not recoverable. */
const MEDIA_RECOVERY_MS = 5_000;
const CLOCK_SAMPLES_AT_MS = [0, 300, 1000];
const CLOCK_EVERY_MS = 30_000;

/**
 * hls.js 1.7 settings (names from node_modules/hls.js/dist/hls.d.ts, HlsConfig).
 * @returns {Partial<HlsConfig>}
 */
export function hlsJsConfig() {
  return {
    // Parts, preload hints, blocking playlist reloads; the target is the playlist's PART-HOLD-BACK.
    lowLatencyMode: true,
    // The page's CSP allows scripts from 'self' only, not the blob: worker hls.js would create. The edge
    // serves fMP4, which hls.js passes through rather than transmuxes, so the main thread barely notices.
    enableWorker: false,
    // As the WebSocket player: keep a little media behind the playhead, not minutes.
    backBufferLength: 10,
    // Catch up gently (as the DASH player: at most 10 % faster) rather than seek.
    maxLiveSyncPlaybackRate: 1.1,
    // After a stall hls.js moves its target back by this much (default 1 s, up to a target duration, kept
    // until the next playlist change): one 200 ms part, as the WebSocket player's stall back-off. The full
    // bench run with the default sat at 2.7 s p50 after 4 stalls, against 1.1 s in a run without one.
    liveSyncOnStallIncrease: 0.2,
  };
}

/**
 * Loads hls.js once, as a classic script (CSP 'self' allows it; no inline code).
 * @returns {Promise<HlsJs>}
 */
export function loadHlsJs(src = HLS_SCRIPT) {
  return loadScript(src, () => globalThis.Hls, 'hls.js');
}

/**
 * The rendition id of an hls.js level: the edge's media playlists are REND/playlist.m3u8.
 * @param {string} uri the level's playlist URL
 * @param {number} index its place in hls.levels (the id when the URL has another shape)
 */
export function levelRendition(uri, index) {
  const m = /([^/?#]+)\/playlist\.m3u8(?:[?#]|$)/.exec(uri);
  return m?.[1] ? decodeURIComponent(m[1]) : String(index);
}

/** @param {ErrorData} data @param {HlsJs} H whether hls.js failed because the stream is not there */
function isOffline(data, H) {
  const D = H.ErrorDetails;
  const playlist = [D.MANIFEST_LOAD_ERROR, D.LEVEL_LOAD_ERROR, D.AUDIO_TRACK_LOAD_ERROR].includes(
    data.details,
  );
  const code = data.response?.code;
  return playlist && (code === 404 || code === 410);
}

/** @param {ErrorData} data @param {HlsJs} H */
function isCodecError(data, H) {
  const D = H.ErrorDetails;
  return [
    D.MANIFEST_INCOMPATIBLE_CODECS_ERROR,
    D.BUFFER_INCOMPATIBLE_CODECS_ERROR,
    D.BUFFER_ADD_CODEC_ERROR,
  ].includes(data.details);
}

export class HlsJsPlayer {
  /**
   * @param {{ video: HTMLVideoElement, playlistUrl: string,
   *   onStatus?: (status: string, detail?: string) => void,
   *   onFailure?: (reason: string) => void,
   *   onRenditions?: (video: HlsRendition[]) => void,
   *   onQuality?: (id: string | null) => void }} params
   */
  constructor({ video, playlistUrl, onStatus, onFailure, onRenditions, onQuality }) {
    this.video = video;
    this.playlistUrl = playlistUrl;
    this.cb = { onStatus, onFailure, onRenditions, onQuality };
    /** @type {HlsJs | null} */
    this.Hls = null;
    /** @type {HlsInstance | null} */
    this.hls = null;
    /** @type {HlsRendition[]} in hls.levels order */
    this.levels = [];
    this.choice = 'auto';
    this.stalls = 0;
    this.playedOnce = false;
    this.offline = false;
    this.closed = false;
    this.retryAttempt = 0;
    this.lastMediaRecovery = -Infinity;
    /** @type {string | null} */
    this.status = null;
    this.clock = new ClockSync();
    /** @type {EdgeFailover | null} other edges to move to when this one is gone */
    this.failover = null;
    /** @type {Set<ReturnType<typeof setTimeout>>} */
    this.timers = new Set();
    /** @type {ReturnType<typeof setInterval>[]} */
    this.intervals = [];
    this.lastProgress = { time: -1, at: performance.now() };
    this.onWaiting = () => {
      if (this.playedOnce && !this.video.seeking && !this.offline) this.stalls++;
    };
    this.onPlaying = () => {
      this.playedOnce = true;
      this.retryAttempt = 0;
      if (!this.offline) this.setStatus('live');
    };
  }

  async start() {
    this.setStatus('connecting');
    const Hls = await loadHlsJs();
    if (this.closed) return;
    if (!Hls.isSupported()) throw new Error('hls.js finds no usable MediaSource here');
    this.Hls = Hls;
    this.video.addEventListener('waiting', this.onWaiting);
    this.video.addEventListener('playing', this.onPlaying);
    for (const ms of CLOCK_SAMPLES_AT_MS) this.later(() => void this.syncClock(), ms);
    this.intervals.push(setInterval(() => void this.syncClock(), CLOCK_EVERY_MS));
    this.intervals.push(setInterval(() => this.watchdog(), 1000));
    this.attach();
  }

  /**
   * Other edges to move to when this one is gone (http-failover.js); before start(). Without it hls.js
   * retries its own edge.
   * @param {EdgeFailover} failover
   */
  setFailover(failover) {
    this.failover = failover;
    // Another edge, another clock: the latency read-out samples the new one.
    failover.onMoved(() => {
      this.clock.reset();
      for (const ms of CLOCK_SAMPLES_AT_MS) this.later(() => void this.syncClock(), ms);
    });
  }

  /** A fresh hls.js on the element: at start, and after a fatal error or a stream that went away. */
  attach() {
    const Hls = this.Hls;
    if (!Hls || this.closed) return;
    this.hls?.destroy();
    const edges = this.failover ? edgeLoaderConfig(Hls.DefaultConfig.loader, this.failover) : {};
    const hls = new Hls({ ...hlsJsConfig(), ...edges });
    this.hls = hls;
    this.lastProgress = { time: -1, at: performance.now() };
    const E = Hls.Events;
    hls.on(E.MANIFEST_PARSED, () => this.onManifest(hls));
    hls.on(E.LEVEL_LOADED, () => {
      if (this.offline) {
        this.offline = false;
        this.setStatus(this.video.paused ? 'buffering' : 'live');
      }
    });
    hls.on(E.FRAG_CHANGED, (_e, data) => this.cb.onQuality?.(this.levels[data.frag.level]?.id ?? null));
    hls.on(E.ERROR, (_e, data) => this.onError(hls, data));
    hls.loadSource(this.playlistUrl);
    hls.attachMedia(this.video);
  }

  /** @param {HlsInstance} hls */
  onManifest(hls) {
    if (hls !== this.hls) return;
    this.offline = false;
    this.levels = hls.levels.map((/** @type {Level} */ l, i) => ({
      id: levelRendition(l.uri, i),
      bandwidth: l.averageBitrate || l.bitrate,
      width: l.width || undefined,
      height: l.height || undefined,
      frameRate: l.frameRate || undefined,
    }));
    this.cb.onRenditions?.(this.levels);
    this.setQuality(this.choice);
    this.setStatus('buffering');
    this.video.play().catch((/** @type {unknown} */ err) => {
      if (asRecord(err)?.name === 'NotAllowedError') this.setStatus('error', PLAY_BLOCKED);
    });
  }

  /** @param {HlsInstance} hls @param {ErrorData} data */
  onError(hls, data) {
    const Hls = this.Hls;
    if (hls !== this.hls || !Hls || this.closed) return;
    if (isOffline(data, Hls)) {
      // The edge has no such stream (not started, or ended): wait for it, like the other players.
      this.offline = true;
      this.setStatus('offline');
      if (data.fatal) this.retryLater();
      return;
    }
    if (!data.fatal) return; // hls.js retries these itself
    const what = `hls.js: ${data.details}${data.error?.message ? ` (${data.error.message})` : ''}`;
    if (isCodecError(data, Hls)) {
      this.setStatus('error', t('player.cannotPlayStream', { details: data.details }));
      this.cb.onFailure?.(what);
    } else if (data.type === Hls.ErrorTypes.MEDIA_ERROR) {
      // The standard recovery: a new MediaSource under the same hls.js, once; twice in a row is a failure.
      const now = performance.now();
      if (now - this.lastMediaRecovery > MEDIA_RECOVERY_MS) {
        this.lastMediaRecovery = now;
        hls.recoverMediaError();
        return;
      }
      this.setStatus('error', what);
      if (!this.playedOnce) this.cb.onFailure?.(what);
    } else if (data.type === Hls.ErrorTypes.NETWORK_ERROR) {
      // The edge is away or slow: not this transport's fault, retry.
      this.setStatus('reconnecting');
    } else {
      this.setStatus('error', what);
      if (!this.playedOnce) this.cb.onFailure?.(what);
    }
    this.retryLater();
  }

  retryLater() {
    if (this.closed) return;
    this.hls?.destroy();
    this.hls = null;
    const ms = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** this.retryAttempt);
    this.retryAttempt++;
    this.later(() => this.attach(), ms);
  }

  watchdog() {
    const v = this.video;
    const now = performance.now();
    if (v.currentTime !== this.lastProgress.time || v.paused || !this.hls) {
      this.lastProgress = { time: v.currentTime, at: now };
      if (!v.paused && v.readyState >= 3 && this.hls && !this.offline) this.setStatus('live');
      return;
    }
    if (now - this.lastProgress.at > STUCK_MS && !this.offline) {
      this.setStatus('reconnecting');
      this.retryLater();
    }
  }

  /** The edge's clock, NTP style, from /time (an ISO date with milliseconds). */
  async syncClock() {
    const sentAt = localNow();
    try {
      const res = await fetch(this.failover?.rewrite('/time') ?? '/time', { cache: 'no-store' });
      const text = await res.text();
      if (res.ok) this.clock.addSample(sentAt, Date.parse(text));
    } catch {
      // Without samples the local clock is used: the read-out is then only as good as this machine's time.
    }
  }

  /** Seconds between the ingress receiving the frame on screen and now, or null while unknown. */
  latency() {
    const shown = this.playedOnce && !this.offline ? this.hls?.playingDate : null;
    if (!shown) return null;
    const now = this.clock.serverNow() ?? Date.now();
    const l = (now - shown.getTime()) / 1000;
    return l > 0 && l < 600 ? l : null;
  }

  /** @param {string} idOrAuto */
  setQuality(idOrAuto) {
    const i = this.levels.findIndex((l) => l.id === idOrAuto);
    this.choice = i >= 0 ? idOrAuto : 'auto';
    // loadLevel, not currentLevel: switch at the next part instead of flushing the ~1 s buffered ahead.
    if (this.hls) this.hls.loadLevel = i;
  }

  quality() {
    const i = this.hls?.currentLevel ?? -1;
    return this.levels[i]?.id ?? null;
  }

  renditions() {
    return this.levels.map((l) => l.id);
  }

  /** @param {string} status @param {string} [detail] */
  setStatus(status, detail) {
    const key = `${status}:${detail ?? ''}`;
    if (key === this.status) return;
    this.status = key;
    this.cb.onStatus?.(status, detail);
  }

  /** @param {() => void} fn @param {number} ms */
  later(fn, ms) {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const i of this.intervals) clearInterval(i);
    this.video.removeEventListener('waiting', this.onWaiting);
    this.video.removeEventListener('playing', this.onPlaying);
    this.hls?.destroy();
    this.hls = null;
  }
}
