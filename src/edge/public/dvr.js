// Rewind while live (issue 15, ADR 0020): the watch page's seek bar over what the channel's live broadcast
// has recorded, its "Live" button and how far behind live the viewer is.
//
// Which broadcast is being recorded comes with the directory (/api/streams, the hub's push to the edges:
// no request to the hub per viewer); what of it can be rewound to from the edge (/videos/ID/window.json).
//
// At the live end the page plays the live path as ever (push over WebSocket, LL-HLS, LL-DASH). A viewer
// who drags the bar back leaves it: the live player is closed and hls.js (or the browser's own HLS) plays
// the broadcast's growing recording from the edge (/videos/ID/master.m3u8), starting at the wall-clock
// moment asked for. Seeking to within a few seconds of the end, or pressing "Live", closes it and starts
// the live player again. Positions are wall-clock times, read from EXT-X-PROGRAM-DATE-TIME and measured
// by the edge's clock (window.json), so "1:00 behind live" means the picture is a minute old.

import { byId } from './dom.js';
import { loadHlsJs } from './hlsjs-player.js';
import { asRecord } from './json.js';
import { t } from './i18n.js';

/** How often what can be rewound to is read again from the edge (the bar grows by the clock meanwhile). */
const WINDOW_EVERY_MS = 10_000;
/** The bar and the readout follow the picture this often. */
const TICK_MS = 500;
/** A seek closer to the end than this returns to the live player. */
export const LIVE_SNAP_S = 3;
/** Less than this recorded, there is nothing worth rewinding to: the bar stays hidden. */
const MIN_WINDOW_S = 10;
/** What the arrow keys move by. */
export const NUDGE_S = 10;
/** A seek lands this far inside the window's oldest end: that segment may slide out before it loads. */
const OLDEST_MARGIN_MS = 3000;

/** @typedef {{ live: boolean, windowS: number, from: number, to: number, now: number }} DvrWindow */
/** @typedef {{ start: number, programDateTime: number | null, duration: number }} Fragment */

/**
 * "1:02", "1:02:03": a length of time in whole seconds.
 * @param {number} s
 */
export function clockText(s) {
  const total = Math.max(0, Math.round(s));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const sec = String(total % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/**
 * Where a wall-clock moment is on a playlist's timeline (seconds), from its fragments' program date times:
 * inside the fragment that holds it, or the nearest end of the playlist.
 * @param {Fragment[]} fragments
 * @param {number} at ms since the epoch
 * @returns {number | null}
 */
export function positionOf(fragments, at) {
  const dated = fragments.filter((f) => typeof f.programDateTime === 'number');
  const first = dated[0];
  const last = dated.at(-1);
  if (!first || !last) return null;
  if (at <= /** @type {number} */ (first.programDateTime)) return first.start;
  let f = first;
  for (const x of dated) if (/** @type {number} */ (x.programDateTime) <= at) f = x;
  const into = (at - /** @type {number} */ (f.programDateTime)) / 1000;
  // Past the end of its fragment (a cut in time after it): the next one's start.
  if (into > f.duration && f !== last) return f.start + f.duration;
  return f.start + Math.min(into, f.duration);
}

/**
 * @param {unknown} data window.json's answer
 * @returns {DvrWindow | null}
 */
function parseWindow(data) {
  const w = asRecord(data);
  if (!w) return null;
  const { live, windowS, from, to, now } = w;
  if (typeof live !== 'boolean') return null;
  for (const n of [windowS, from, to, now]) if (typeof n !== 'number' || !Number.isFinite(n)) return null;
  return /** @type {DvrWindow} */ ({ live, windowS, from, to, now });
}

/**
 * A media playlist's segments with their start (seconds from the playlist's first) and program date time,
 * as hls.js places them when it first loads the playlist.
 * @param {string} text
 * @returns {Fragment[]}
 */
export function playlistFragments(text) {
  /** @type {Fragment[]} */
  const out = [];
  let start = 0;
  /** @type {number | null} */
  let date = null;
  /** @type {number | null} */
  let duration = null;
  for (const line of text.split('\n')) {
    const l = line.trim();
    if (l.startsWith('#EXT-X-PROGRAM-DATE-TIME:')) date = Date.parse(l.slice(25));
    else if (l.startsWith('#EXTINF:')) duration = Number.parseFloat(l.slice(8));
    else if (l && !l.startsWith('#') && duration !== null) {
      out.push({ start, programDateTime: date !== null && Number.isFinite(date) ? date : null, duration });
      start += duration;
      if (date !== null) date += duration * 1000;
      duration = null;
    }
  }
  return out;
}

export class Dvr {
  /**
   * @param {{
   *   video: HTMLVideoElement,
   *   channel: string,
   *   leaveLive: () => void,
   *   returnLive: () => void,
   *   onStatus: (text: string) => void,
   * }} opts
   */
  constructor(opts) {
    this.opts = opts;
    this.video = opts.video;
    this.box = byId('dvr', HTMLElement);
    this.bar = byId('dvr-seek', HTMLInputElement);
    this.readout = byId('dvr-behind', HTMLElement);
    this.liveButton = byId('dvr-live', HTMLButtonElement);
    /** @type {'live' | 'dvr'} */
    this.mode = 'live';
    /** @type {string | null} the live broadcast the bar is over (while rewound: the one playing) */
    this.broadcastId = null;
    /** @type {string | null} the live broadcast the directory names now */
    this.latestId = null;
    /** @type {DvrWindow | null} */
    this.window = null;
    /** The edge's clock minus this page's, ms. */
    this.offset = 0;
    /** @type {import('hls.js').default | null} */
    this.hls = null;
    /** Bumped each time the page enters or leaves the recording: callbacks of an earlier one are ignored. */
    this.generation = 0;
    this.dragging = false;
    /** @type {number | null} seconds behind live the viewer asked for, until the picture gets there */
    this.pending = null;
    /** @type {number | null} the wall-clock ms asked for, until the recording's player can seek */
    this.targetAt = null;
    /** Whether the recording's player has started loading (from then on a seek moves its playhead). */
    this.started = false;
  }

  start() {
    this.bar.addEventListener('input', () => {
      this.dragging = true;
      this.showBehind(-Number(this.bar.value));
    });
    this.bar.addEventListener('change', () => {
      this.dragging = false;
      void this.seek(-Number(this.bar.value));
    });
    this.bar.addEventListener('keydown', (e) => this.barKey(e));
    this.liveButton.addEventListener('click', () => {
      this.goLive();
      // The button is disabled at the live end: keyboard focus goes on to the bar, not to the page.
      this.bar.focus();
    });
    setInterval(() => void this.readWindow(), WINDOW_EVERY_MS);
    setInterval(() => this.tick(), TICK_MS);
  }

  /** The edge's wall clock now, ms. */
  now() {
    return Date.now() + this.offset;
  }

  /** Seconds the picture is behind live while rewound (null at the live end). */
  behind() {
    if (this.mode === 'live') return null;
    const at = this.playingAt();
    return at === null ? this.pending : Math.max(0, (this.now() - at) / 1000);
  }

  /** The wall-clock time of the frame on screen while rewound, ms, or null before it is known. */
  playingAt() {
    if (this.hls) return this.hls.playingDate?.getTime() ?? null;
    const start = /** @type {{ getStartDate?: () => Date }} */ (/** @type {unknown} */ (this.video))
      .getStartDate;
    const date = start?.call(this.video).getTime();
    return date && Number.isFinite(date) ? date + this.video.currentTime * 1000 : null;
  }

  /** Whether there is something to rewind to (the bar is shown). */
  available() {
    return !this.box.hidden;
  }

  /**
   * The bar's own keys move as the page's do: 10 s per arrow (a range input's own step of 1 s would snap
   * back to live), Home to the oldest moment, End to live.
   * @param {KeyboardEvent} e
   */
  barKey(e) {
    const step = { ArrowLeft: -NUDGE_S, ArrowDown: -NUDGE_S, ArrowRight: NUDGE_S, ArrowUp: NUDGE_S }[e.key];
    if (step !== undefined) this.nudge(step);
    else if (e.key === 'Home') void this.seek(this.span());
    else if (e.key === 'End') this.goLive();
    else return;
    e.preventDefault();
  }

  /** For tests and the bench: where the viewer is. */
  state() {
    return {
      mode: this.mode,
      broadcast: this.broadcastId,
      behind: this.behind(),
      seeking: this.pending !== null,
      windowS: this.window ? (this.window.to - this.window.from) / 1000 : 0,
    };
  }

  /**
   * The channel's live broadcast being recorded, as the directory says (null: none). While rewound, the
   * recording being played stays what the bar is over, even once it has ended or a new broadcast has begun:
   * the new one is taken on the way back to live.
   * @param {string | null} id
   */
  setBroadcast(id) {
    this.latestId = id;
    if (this.mode === 'dvr' || id === this.broadcastId) return;
    this.broadcastId = id;
    this.window = null;
    if (id) void this.readWindow();
    else this.render();
  }

  async readWindow() {
    const id = this.broadcastId;
    if (!id || (document.hidden && this.mode === 'live')) return;
    try {
      const sent = Date.now();
      const res = await fetch(`/videos/${encodeURIComponent(id)}/window.json`, {
        credentials: 'same-origin',
        cache: 'no-store',
      });
      if (!res.ok || id !== this.broadcastId) return;
      const w = parseWindow(/** @type {unknown} */ (await res.json()));
      if (!w) return;
      this.offset = w.now - (sent + Date.now()) / 2;
      if (!w.live && this.mode === 'live') {
        // The broadcast ended: nothing to rewind at the live end until the next one is found.
        this.broadcastId = null;
        this.window = null;
      } else this.window = w;
    } catch {
      // The bar keeps the last window it had; the next read may work.
    }
    this.render();
  }

  /** Seconds that can be rewound, up to the live end (the window's start, measured from now). */
  span() {
    return this.window ? Math.max(0, (this.now() - this.window.from) / 1000) : 0;
  }

  render() {
    const span = this.span();
    this.box.hidden = this.mode === 'live' && (!this.window || span < MIN_WINDOW_S);
    this.bar.min = String(-Math.floor(span));
    this.bar.max = '0';
    this.liveButton.disabled = this.mode === 'live';
    this.liveButton.setAttribute('aria-pressed', String(this.mode === 'live'));
    if (!this.dragging) {
      const behind = this.behind();
      this.bar.value = String(behind === null ? 0 : -Math.min(span, Math.round(behind)));
      this.showBehind(behind);
    }
  }

  /** @param {number | null} behind seconds, null at the live end */
  showBehind(behind) {
    const text =
      behind === null || behind < 1
        ? t('player.dvr.live')
        : t('player.dvr.behind', { time: clockText(behind) });
    this.readout.textContent = text;
    this.bar.setAttribute('aria-valuetext', text);
  }

  tick() {
    if (this.box.hidden && this.mode === 'live') return;
    this.render();
  }

  /**
   * Moves the picture `behindS` seconds behind live: to the recording, within it, or back to the live
   * player when that is (almost) the live end.
   * @param {number} behindS
   */
  async seek(behindS) {
    const w = this.window;
    if (!this.broadcastId || !w) return;
    if (behindS <= LIVE_SNAP_S) return this.goLive();
    // Inside what is recorded: not at the very oldest segment (it may slide out), not past an ended
    // broadcast's last one.
    let at = Math.max(w.from + OLDEST_MARGIN_MS, this.now() - behindS * 1000);
    if (!w.live) at = Math.min(at, w.to - 1000);
    this.pending = (this.now() - at) / 1000;
    if (this.mode === 'live') return this.enterRecording(at);
    this.moveTo(at);
  }

  /** The arrow keys: `deltaS` seconds later (positive) or earlier (negative). @param {number} deltaS */
  nudge(deltaS) {
    if (!this.window) return;
    void this.seek((this.behind() ?? 0) - deltaS);
  }

  /** @param {number} at wall-clock ms */
  async enterRecording(at) {
    const gen = ++this.generation;
    this.mode = 'dvr';
    this.targetAt = at;
    this.started = false;
    // The recording ends (the broadcast did, and the viewer caught up with it): back to the live page.
    this.video.addEventListener('ended', () => gen === this.generation && this.goLive(), { once: true });
    this.opts.leaveLive();
    this.opts.onStatus(t('player.dvr.rewound'));
    this.render();
    const src = `/videos/${encodeURIComponent(/** @type {string} */ (this.broadcastId))}/master.m3u8`;
    if (!globalThis.MediaSource) {
      // The browser's own HLS (an iPhone): it maps the playhead onto the playlist's program date time.
      this.video.src = src;
      this.video.addEventListener(
        'loadedmetadata',
        () => {
          if (gen !== this.generation) return;
          this.started = true;
          this.moveTo(this.targetAt ?? at);
        },
        { once: true },
      );
      void this.video.play().catch(() => undefined);
      return;
    }
    const Hls = await loadHlsJs();
    if (gen !== this.generation) return;
    // Started where asked, not at the live end of the growing playlist: where that is comes from one
    // variant's playlist (hls.js's first level; every rendition is cut into the same segments), read
    // before hls.js loads any media. A seek made meanwhile moves the target (targetAt).
    const hls = new Hls({ enableWorker: false, autoStartLoad: false, maxBufferLength: 12 });
    this.hls = hls;
    hls.on(Hls.Events.MANIFEST_PARSED, (_e, data) => {
      const url = data.levels[0]?.uri;
      if (!url || gen !== this.generation) return;
      void fetch(url, { credentials: 'same-origin', cache: 'no-store' })
        .then((r) => (r.ok ? r.text() : ''))
        .then((text) => {
          if (gen !== this.generation) return;
          const pos = positionOf(playlistFragments(text), this.targetAt ?? at) ?? -1;
          this.started = true;
          this.targetAt = null;
          hls.startLoad(pos);
          void this.video.play().catch(() => undefined);
        });
    });
    hls.on(Hls.Events.ERROR, (_e, d) => {
      if (d.fatal && gen === this.generation) {
        this.opts.onStatus(t('player.dvr.recordingFailed'));
        this.goLive();
      }
    });
    this.video.addEventListener('playing', () => gen === this.generation && this.settle(), { once: true });
    hls.loadSource(src);
    hls.attachMedia(this.video);
  }

  /** The picture has reached where the viewer asked: the readout follows it from now on. */
  settle() {
    this.pending = null;
    this.opts.onStatus(t('player.dvr.rewound'));
  }

  /** Within the recording already playing. @param {number} at wall-clock ms */
  moveTo(at) {
    if (!this.started) {
      this.targetAt = at;
      return;
    }
    let pos = null;
    if (this.hls) {
      const level = this.hls.levels[Math.max(0, this.hls.currentLevel)];
      pos = level?.details ? positionOf(level.details.fragments, at) : null;
    } else {
      const start = /** @type {{ getStartDate?: () => Date }} */ (/** @type {unknown} */ (this.video))
        .getStartDate;
      const date = start?.call(this.video).getTime();
      if (date && Number.isFinite(date)) pos = (at - date) / 1000;
    }
    if (pos === null) return;
    this.video.currentTime = Math.max(0, pos);
    const gen = this.generation;
    this.video.addEventListener('seeked', () => gen === this.generation && this.settle(), { once: true });
    void this.video.play().catch(() => undefined);
  }

  /** Back to the live end: the recording's player is closed and the live one starts again. */
  goLive() {
    if (this.mode === 'live') return;
    this.generation++;
    this.mode = 'live';
    this.pending = null;
    this.targetAt = null;
    this.started = false;
    this.hls?.destroy();
    this.hls = null;
    this.video.removeAttribute('src');
    this.video.load();
    this.opts.returnLive();
    this.render();
    // The broadcast may have ended or another begun while rewound.
    this.setBroadcast(this.latestId);
  }
}
