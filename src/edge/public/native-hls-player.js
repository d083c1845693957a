// The native HLS path: the browser's own player (Safari, iOS before 17.1, in-app browsers without Media
// Source Extensions) given the edge's multivariant playlist as `video.src`. The browser picks the
// quality and the distance to the live edge; this class only reports status and stalls, and reads the
// latency where the element exposes the playlist's wall clock (`getStartDate()`, Safari).

/** A stalled element with no progress for this long is given the playlist again. */
const STUCK_MS = 8_000;

/**
 * The transport a browser can play, in order of preference: the WebSocket player over MSE, LL-DASH or
 * hls.js also over MSE, native HLS where there is no MSE at all. `requested` (the page's ?transport=) wins
 * when the browser can play it.
 * @param {string | null} requested
 * @param {{ mse: boolean, nativeHls: boolean }} can
 * @returns {{ transport: 'ws' | 'dash' | 'hls' | 'none', reason?: string }}
 */
export function chooseTransport(requested, can) {
  if ((requested === 'ws' || requested === 'dash') && can.mse) return { transport: requested };
  if (requested === 'hls' && can.nativeHls) return { transport: 'hls' };
  if (can.mse) return { transport: 'ws' };
  if (can.nativeHls) return { transport: 'hls' };
  return {
    transport: 'none',
    reason:
      'This browser cannot play live video: it has neither Media Source Extensions nor a built-in HLS player. ' +
      'Try a current version of Safari, Chrome, Firefox or Edge.',
  };
}

/** @param {HTMLVideoElement} video */
export function browserCapabilities(video) {
  return {
    mse: 'MediaSource' in globalThis || 'ManagedMediaSource' in globalThis,
    nativeHls: video.canPlayType('application/vnd.apple.mpegurl') !== '',
  };
}

export class NativeHlsPlayer {
  /**
   * @param {{ video: HTMLVideoElement, playlistUrl: string,
   *   onStatus?: (status: string, detail?: string) => void }} params
   */
  constructor({ video, playlistUrl, onStatus }) {
    this.video = video;
    this.playlistUrl = playlistUrl;
    this.onStatus = onStatus;
    this.stalls = 0;
    this.playedOnce = false;
    this.closed = false;
    this.lastProgress = { time: -1, at: performance.now() };
    /** @type {ReturnType<typeof setInterval> | undefined} */
    this.watchdog = undefined;
    this.onWaiting = () => {
      if (this.playedOnce && !video.seeking) this.stalls++;
      if (this.playedOnce) this.onStatus?.('buffering');
    };
    this.onPlaying = () => {
      this.playedOnce = true;
      this.onStatus?.('live');
    };
    this.onError = () => {
      const code = video.error?.code;
      this.onStatus?.(
        'error',
        `The browser's HLS player failed${code ? ` (media error ${code})` : ''}; retrying…`,
      );
      this.reload();
    };
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
    this.video.play().catch(() => this.onStatus?.('connecting', 'Click play to start'));
  }

  check() {
    const now = performance.now();
    if (this.video.currentTime !== this.lastProgress.time || this.video.paused) {
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
    this.video.removeEventListener('waiting', this.onWaiting);
    this.video.removeEventListener('playing', this.onPlaying);
    this.video.removeEventListener('error', this.onError);
    this.video.removeAttribute('src');
    this.video.load();
  }
}
