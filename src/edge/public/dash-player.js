// The LL-DASH path: dash.js (v5) playing the edge's chunked-transfer manifest. Used where a
// WebSocket is not wanted (proxies, caches, CDN in front of the edge). dash.js is loaded only in
// this mode, from /static/dash.all.min.js.
//
// dash.js switches itself to low-latency mode from the MPD (availabilityTimeComplete=false); the
// settings below choose how close to the edge it plays and how it catches up.

import { asRecord } from './json.js';
import { loadScript } from './dom.js';

export const DASH_SCRIPT = '/static/dash.all.min.js';

/** @typedef {typeof import('dashjs')} DashJs */
/** @import { MediaPlayerClass, MediaPlayerSettingClass } from 'dashjs' */
/** @import { CommonMediaRequest, CommonMediaResponse } from '@svta/cml-request' */
/** @import { EdgeFailover } from './http-failover.js' */
/** @typedef {{ id: string, bandwidth: number, width?: number, height?: number }} DashRendition */
/**
 * dash.js merges what updateSettings gets into its defaults, but its types mark a few nested groups
 * (abr.throughput.ewma, sampleSettings) as required; settings are written as a deep partial.
 * @template T
 * @typedef {{ [K in keyof T]?: NonNullable<T[K]> extends object ? DeepPartial<NonNullable<T[K]>> : T[K] }} DeepPartial
 */

/**
 * Settings for dash.js 5.2 (names from node_modules/dashjs/index.d.ts, MediaPlayerSettingClass).
 * Chosen by measurement on loopback, 1 s segments of 200 ms chunks: the default catch-up mode held
 * its target within ±10 ms without stalls at 0.6 to 1.0 s; LoL+ sat 10 to 30 ms above it and started
 * slower. 0.8 s leaves room for a real network and keeps glass-to-glass under 1.2 s. `?target=`
 * on the page overrides it.
 * @param {number} targetLatency seconds
 * @returns {DeepPartial<MediaPlayerSettingClass>}
 */
export function lowLatencySettings(targetLatency) {
  return {
    streaming: {
      // Ours wins over the MPD's ServiceDescription target, which is tuned for any player.
      delay: { liveDelay: targetLatency },
      liveCatchup: {
        enabled: true,
        mode: 'liveCatchupModeDefault',
        // Beyond this drift a seek is cheaper than minutes of 1.x speed.
        maxDrift: 1.5,
        playbackRate: { min: -0.1, max: 0.1 },
      },
      buffer: {
        // With ~1 s of buffer, a stall must be declared quickly to be recovered quickly.
        lowLatencyStallThreshold: 0.3,
      },
      abr: {
        autoSwitchBitrate: { video: true, audio: true },
        throughput: {
          // Chunked transfer makes download time meaningless (the server paces it); measure per moof.
          lowLatencyDownloadTimeCalculationMode: 'lowLatencyDownloadTimeCalculationModeMoofParsing',
        },
      },
      utcSynchronization: { enabled: true },
    },
  };
}

/**
 * Loads dash.js once, as a classic script (CSP 'self' allows it; no inline code).
 * @returns {Promise<DashJs>}
 */
export function loadDashJs(src = DASH_SCRIPT) {
  return loadScript(src, () => globalThis.dashjs, 'dash.js');
}

/** The scheme of the edge's UTCTiming (/time answers an ISO date: src/edge/mpd.ts). */
const UTC_TIMING_SCHEME = 'urn:mpeg:dash:utc:http-iso:2014';

/** First re-attach comes quickly (a start-up hiccup), later ones back off (a stream that is away). */
const RETRY_MIN_MS = 250;
const RETRY_MAX_MS = 10_000;
/** No progress for this long while dash.js thinks it is playing: re-attach the manifest. */
const STUCK_MS = 6_000;

export class DashPlayer {
  /**
   * @param {{ video: HTMLVideoElement, manifestUrl: string, targetLatency?: number,
   *   onStatus?: (status: string, detail?: string) => void,
   *   onFailure?: (reason: string) => void,
   *   onRenditions?: (video: DashRendition[]) => void,
   *   onQuality?: (id: string | null) => void }} params
   */
  constructor({ video, manifestUrl, targetLatency = 0.8, onStatus, onFailure, onRenditions, onQuality }) {
    this.video = video;
    this.manifestUrl = manifestUrl;
    this.targetLatency = targetLatency;
    this.cb = { onStatus, onFailure, onRenditions, onQuality };
    /** @type {MediaPlayerClass | null} */
    this.player = null;
    this.choice = 'auto';
    /** @type {string | null} the video representation on screen */
    this.rendered = null;
    /** @type {DashRendition[]} */
    this.reps = [];
    this.stalls = 0;
    this.playedOnce = false;
    this.retryAttempt = 0;
    /** @type {ReturnType<typeof setTimeout> | null} */
    this.retryTimer = null;
    /** @type {ReturnType<typeof setInterval> | undefined} */
    this.watchdogTimer = undefined;
    this.closed = false;
    this.lastProgress = { time: -1, at: performance.now() };
    /** @type {EdgeFailover | null} other edges to move to when this one is gone */
    this.failover = null;
    this.onWaiting = () => {
      if (this.playedOnce && !this.video.seeking) this.stalls++;
    };
    this.onPlaying = () => {
      this.playedOnce = true;
      this.retryAttempt = 0;
      this.cb.onStatus?.('live');
    };
    video.addEventListener('waiting', this.onWaiting);
    video.addEventListener('playing', this.onPlaying);
  }

  async start() {
    this.cb.onStatus?.('connecting');
    const dashjs = await loadDashJs();
    if (this.closed) return;
    const p = dashjs.MediaPlayer().create();
    this.player = p;
    p.updateSettings(/** @type {MediaPlayerSettingClass} */ (lowLatencySettings(this.targetLatency)));
    const E = dashjs.MediaPlayer.events;
    p.on(E.STREAM_INITIALIZED, () => this.onStreamInitialized());
    p.on(E.QUALITY_CHANGE_RENDERED, (e) => {
      if (e.mediaType !== 'video') return;
      this.rendered = e.newRepresentation?.id ?? null;
      this.cb.onQuality?.(this.rendered);
    });
    p.on(E.ERROR, (e) => this.onError(e));
    if (this.failover) throughFailover(p, this.failover);
    p.initialize(this.video, this.manifestUrl, true);
    // The clock is the edge's (the MPD's UTCTiming, /time): without this, when it does not answer dash.js
    // asks a third party's (time.akamai.com), which the page's CSP does not keep out (other edges are
    // reached over http(s)). After initialize(), which puts that default in.
    p.clearDefaultUTCTimingSources();
    this.watchdogTimer = setInterval(() => this.watchdog(), 1000);
  }

  /**
   * Other edges to move to when this one is gone (http-failover.js); before start(). Without it the
   * player retries its own edge.
   * @param {EdgeFailover} failover
   */
  setFailover(failover) {
    this.failover = failover;
  }

  onStreamInitialized() {
    const player = this.player;
    if (!player) return;
    const reps = player.getRepresentationsByType('video') ?? [];
    this.reps = reps.map((r) => ({
      id: String(r.id),
      bandwidth: r.bandwidth,
      width: r.width,
      height: r.height,
    }));
    this.cb.onRenditions?.(this.reps);
    this.rendered = player.getCurrentRepresentationForType('video')?.id ?? null;
    this.cb.onQuality?.(this.rendered);
    if (this.choice !== 'auto') this.setQuality(this.choice);
  }

  /** @param {unknown} e dash.js's error event */
  onError(e) {
    const err = asRecord(asRecord(e)?.error) ?? {};
    const code = err.code ?? 'unknown';
    // A manifest that cannot be loaded means the stream is not live (404) or the edge is away.
    // 11 MANIFEST_LOADER_LOADING_FAILURE, 25 DOWNLOAD_ERROR_ID_MANIFEST (dash.js Errors).
    const offline = code === 11 || code === 25;
    const message = typeof err.message === 'string' ? err.message : undefined;
    // 16 TIME_SYNC_FAILED: the edge's clock did not answer; dash.js keeps the offset it had, playback goes on.
    if (code === 16) return;
    this.cb.onStatus?.(offline ? 'offline' : 'reconnecting', message);
    // 23 CAPABILITY_MEDIASOURCE_ERROR, 35 MEDIASOURCE_TYPE_UNSUPPORTED: this browser cannot play it this way.
    if ((code === 23 || code === 35) && !this.playedOnce)
      this.cb.onFailure?.(`dash.js error ${code}${message ? ` (${message})` : ''}`);
    this.scheduleReattach();
  }

  scheduleReattach() {
    if (this.retryTimer || this.closed) return;
    const ms = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** this.retryAttempt);
    this.retryAttempt++;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.reattach();
    }, ms);
  }

  /** dash.js recovers from most things itself; a new stream timeline (restart) needs a fresh start. */
  reattach() {
    if (!this.player || this.closed) return;
    this.playedOnce = false;
    this.lastProgress = { time: -1, at: performance.now() };
    this.player.attachSource(this.manifestUrl);
  }

  watchdog() {
    const v = this.video;
    const now = performance.now();
    if (v.currentTime !== this.lastProgress.time || v.paused) {
      this.lastProgress = { time: v.currentTime, at: now };
      return;
    }
    if (now - this.lastProgress.at > STUCK_MS && !this.retryTimer) {
      this.cb.onStatus?.('reconnecting');
      this.lastProgress.at = now;
      this.scheduleReattach();
    }
  }

  /** @param {string} idOrAuto */
  setQuality(idOrAuto) {
    this.choice = idOrAuto;
    const p = this.player;
    if (!p) return;
    if (idOrAuto === 'auto' || !this.reps.some((r) => r.id === idOrAuto)) {
      this.choice = 'auto';
      p.updateSettings({ streaming: { abr: { autoSwitchBitrate: { video: true } } } });
      return;
    }
    p.updateSettings({ streaming: { abr: { autoSwitchBitrate: { video: false } } } });
    // No forced replace: flushing the ~1 s of buffer ahead would stall a low-latency stream.
    p.setRepresentationForTypeById('video', idOrAuto, false);
  }

  latency() {
    if (!this.player || !this.playedOnce) return null;
    const l = this.player.getCurrentLiveLatency();
    return Number.isFinite(l) && l > 0 ? l : null;
  }

  quality() {
    if (this.rendered) return this.rendered;
    return this.player?.getCurrentRepresentationForType('video')?.id ?? null;
  }

  renditions() {
    return this.reps.map((r) => r.id);
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.retryTimer ?? undefined);
    clearInterval(this.watchdogTimer);
    this.video.removeEventListener('waiting', this.onWaiting);
    this.video.removeEventListener('playing', this.onPlaying);
    this.player?.destroy();
    this.player = null;
  }
}

/**
 * dash.js's requests through the edge failover: each attempt goes to the edge in use; one that found its
 * edge gone decides the move before dash.js sees the failure, and dash.js's own retry (a tenth of a
 * second for a low-latency segment) then goes to the next edge. dash.js keeps its MPD, buffer and segment
 * numbers: it sees only its own URLs.
 * @param {MediaPlayerClass} p
 * @param {EdgeFailover} failover
 */
function throughFailover(p, failover) {
  /** @type {WeakMap<CommonMediaRequest, { base: string, url: string }>} */
  const sent = new WeakMap();
  // dash.js asks the MPD's clock (UTCTiming) with a request of its own, which does not pass the interceptors:
  // after a move it fails at the old edge, then tries this one.
  failover.onMoved((base) => {
    p.clearDefaultUTCTimingSources();
    p.addUTCTimingSource(UTC_TIMING_SCHEME, `${base}/time`);
  });
  p.addRequestInterceptor((request) => {
    const base = failover.current();
    sent.set(request, { base, url: request.url });
    request.url = failover.rewrite(request.url, base);
    return Promise.resolve(request);
  });
  p.addResponseInterceptor(async (/** @type {CommonMediaResponse} */ response) => {
    const s = sent.get(response.request);
    if (!s) return response;
    const status = response.status ?? 0;
    const ctl = asRecord(response.request.customData)?.abortController;
    const aborted = ctl instanceof AbortController && ctl.signal.aborted;
    // A chunked segment cut off mid-way ends with its status but no body.
    const cut = status >= 200 && status < 300 && response.data == null;
    if (status >= 200 && status < 300 && !cut) failover.ok(s.base);
    else if (status >= 400 && status < 500) await failover.warmed(s.base);
    else if (!aborted) await failover.failed(s.base, cut ? 0 : status);
    // dash.js takes the MPD's address as the base of its segments: keep it this edge's.
    if (s.base !== failover.own) response.url = s.url;
    return response;
  });
}
