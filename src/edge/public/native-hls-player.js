// The native HLS path: the browser's own player (Safari, iOS before 17.1, in-app browsers without Media
// Source Extensions) given the edge's multivariant playlist as `video.src`. The browser picks the
// quality and the distance to the live edge; this class only reports status and stalls, and reads the
// latency where the element exposes the playlist's wall clock (`getStartDate()`, Safari).

import { PLAY_BLOCKED } from './transport-chain.js';
import { t } from './i18n.js';

/** A stalled element with no progress for this long is given the playlist again. */
const STUCK_MS = 8_000;
/** After an error, the playlist is given again after this long, doubling up to the maximum. */
const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 10_000;

export class NativeHlsPlayer {
  /**
   * @param {{ video: HTMLVideoElement, playlistUrl: string,
   *   onStatus?: (status: string, detail?: string) => void,
   *   onFailure?: (reason: string) => void }} params
   */
  constructor({ video, playlistUrl, onStatus, onFailure }) {
    this.video = video;
    this.playlistUrl = playlistUrl;
    this.onStatus = onStatus;
    this.onFailure = onFailure;
    this.stalls = 0;
    this.playedOnce = false;
    this.offline = false;
    this.closed = false;
    this.retryAttempt = 0;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.retryTimer = undefined;
    this.lastProgress = { time: -1, at: performance.now() };
    /** @type {ReturnType<typeof setInterval> | undefined} */
    this.watchdog = undefined;
    this.onWaiting = () => {
      if (this.playedOnce && !video.seeking && !this.offline) this.stalls++;
      if (this.playedOnce && !this.offline) this.onStatus?.('buffering');
    };
    this.onPlaying = () => {
      this.playedOnce = true;
      this.offline = false;
      this.retryAttempt = 0;
      this.onStatus?.('live');
    };
    this.onError = () => void this.handleError();
  }

  start() {
    this.onStatus?.('connecting');
    this.video.addEventListener('waiting', this.onWaiting);
    this.video.addEventListener('playing', this.onPlaying);
    this.video.addEventListener('error', this.onError);
    this.reload();
    this.watchdog = setInterval(() => this.check(), 1000);
  }

  reload() {
    if (this.closed) return;
    this.video.src = this.playlistUrl;
    this.video.play().catch(() => !this.closed && this.onStatus?.('connecting', PLAY_BLOCKED));
  }

  /**
   * The element says only "media error N": ask the edge whether the stream is there at all. A missing
   * stream is offline (wait for it); a stream the element cannot play, before it ever played, is this
   * transport failing.
   */
  async handleError() {
    const code = this.video.error?.code;
    /** @type {number} */
    let http = 0;
    try {
      http = (await fetch(this.playlistUrl, { cache: 'no-store' })).status;
    } catch {
      // The edge is unreachable: retry like any error.
    }
    if (this.closed) return;
    if (http === 404 || http === 410) {
      this.offline = true;
      this.onStatus?.('offline');
    } else {
      this.onStatus?.('error', code ? t('player.nativeRetryingCode', { code }) : t('player.nativeRetrying'));
      if (http === 200 && !this.playedOnce && code === MediaError.MEDIA_ERR_SRC_NOT_SUPPORTED)
        this.onFailure?.(`the built-in HLS player cannot play this stream (media error ${code})`);
    }
    this.retryLater();
  }

  retryLater() {
    if (this.closed || this.retryTimer) return;
    const ms = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** this.retryAttempt);
    this.retryAttempt++;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.reload();
    }, ms);
  }

  check() {
    const now = performance.now();
    if (this.video.currentTime !== this.lastProgress.time || this.video.paused || this.retryTimer) {
      this.lastProgress = { time: this.video.currentTime, at: now };
    } else if (now - this.lastProgress.at > STUCK_MS) {
      this.lastProgress.at = now;
      this.onStatus?.('reconnecting');
      this.reload();
    }
  }

  /** Seconds behind the wall clock, where the element maps media time to it (Safari); else null. */
  latency() {
    const v = /** @type {HTMLVideoElement & { getStartDate?: () => Date }} */ (this.video);
    const start = v.getStartDate?.().getTime();
    if (!this.playedOnce || !start || !Number.isFinite(start)) return null;
    const l = (Date.now() - (start + v.currentTime * 1000)) / 1000;
    return l > 0 && l < 600 ? l : null;
  }

  /** The browser chooses the quality itself. */
  quality() {
    return null;
  }

  /** @returns {string[]} */
  renditions() {
    return [];
  }

  /** @param {string} _idOrAuto */
  setQuality(_idOrAuto) {}

  close() {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.watchdog);
    clearTimeout(this.retryTimer);
    this.video.removeEventListener('waiting', this.onWaiting);
    this.video.removeEventListener('playing', this.onPlaying);
    this.video.removeEventListener('error', this.onError);
    this.video.removeAttribute('src');
    this.video.load();
  }
}
