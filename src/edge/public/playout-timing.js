// When the WebCodecs player shows a frame or plays a sample: pure timing, unit-tested in Node.
//
// Media time t (seconds) is played at local time t·1000 + offset (ms). The jitter buffer measures, for every
// chunk, how late its first frame arrived against that frame's own time (arrival − start·1000); the smallest
// such figure is the path's delay plus the chunk's own length, the spread above it is the arrival jitter. The
// offset aims at the 95th percentile of those figures plus one and a half frame times: one to two frames of
// headroom above the jitter measured.
//
// The clock: with audio, the sample the AudioWorklet is playing (it is the master; video frames are shown
// when it reaches their timestamp); without audio (or before it plays), local time minus the offset. When the
// target offset drops (the network got steadier), the clock catches up gradually: video by dropping frames,
// audio by trimming samples (the player tells the worklet); when it rises (a late burst), it jumps, holding
// the picture rather than stalling later.

/** Chunks remembered for the jitter estimate (about 30 s of 200 ms chunks, 5 s of one-frame chunks). */
export const JITTER_WINDOW = 150;
/** Headroom above the measured jitter, in frame times (the target is one to two frames above it). */
export const HEADROOM_FRAMES = 1.5;
/** How fast the offset shrinks when the target drops: ms of offset per ms of local time (10 % faster play). */
export const CATCH_UP_RATE = 0.1;
/** Behind the target by more than this (ms), the clock jumps (drops that much) instead of catching up gradually. */
export const JUMP_MS = 250;
/** An audio position older than this (ms) no longer drives the clock (the worklet ran dry or stopped). */
export const AUDIO_STALE_MS = 250;

export class ArrivalJitter {
  /** @param {number} [window] */
  constructor(window = JITTER_WINDOW) {
    this.window = window;
    /** @type {number[]} arrival − start·1000 per chunk, oldest first */
    this.lateness = [];
  }

  /**
   * @param {number} startSec media time of the chunk's first frame
   * @param {number} arrivalMs local time the chunk arrived
   */
  add(startSec, arrivalMs) {
    this.lateness.push(arrivalMs - startSec * 1000);
    if (this.lateness.length > this.window) this.lateness.shift();
  }

  /** @param {number} q quantile 0..1 */
  quantile(q) {
    if (this.lateness.length === 0) return null;
    const s = [...this.lateness].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? null;
  }

  /** The spread of arrival lateness (p95 − min) in ms, or null before the first chunk. */
  jitterMs() {
    const hi = this.quantile(0.95);
    const lo = this.quantile(0);
    return hi === null || lo === null ? null : hi - lo;
  }

  /**
   * The offset (ms) that plays every frame after it arrived in 95 % of cases, with headroom.
   * @param {number} frameMs
   */
  targetOffsetMs(frameMs) {
    const hi = this.quantile(0.95);
    return hi === null ? null : hi + HEADROOM_FRAMES * frameMs;
  }

  reset() {
    this.lateness = [];
  }
}

export class PlayoutClock {
  constructor() {
    /** @type {number | null} local ms − media ms: media time t plays at t·1000 + offset */
    this.offset = null;
    this.lastAt = 0;
    /** @type {{ pts: number, at: number } | null} the worklet's last report: media time pts was playing at `at` */
    this.audio = null;
    /** The clock never runs backwards (a frame once shown is not shown again). */
    this.last = -Infinity;
  }

  /**
   * Moves the offset toward the jitter buffer's target: up at once, down gradually (or at once when far off).
   * @param {number} target ms
   * @param {number} nowMs
   */
  retarget(target, nowMs) {
    const elapsed = Math.max(0, nowMs - this.lastAt);
    this.lastAt = nowMs;
    if (this.offset === null || target > this.offset || this.offset - target > JUMP_MS) this.offset = target;
    else this.offset = Math.max(target, this.offset - elapsed * CATCH_UP_RATE);
  }

  /**
   * The AudioWorklet's position: media time `pts` (seconds) was at the output at local time `atMs`.
   * @param {number} pts @param {number} atMs
   */
  setAudio(pts, atMs) {
    this.audio = { pts, at: atMs };
  }

  clearAudio() {
    this.audio = null;
  }

  /**
   * Where the wall clock says playback should be (seconds of media time), or null before the first target.
   * @param {number} nowMs
   */
  wallTime(nowMs) {
    return this.offset === null ? null : (nowMs - this.offset) / 1000;
  }

  /**
   * Whether the clock follows the audio now.
   * @param {number} nowMs
   */
  audioDriven(nowMs) {
    return this.audio !== null && nowMs - this.audio.at < AUDIO_STALE_MS;
  }

  /**
   * Media time (seconds) to show now: the audio's when it plays, else the wall clock's; never backwards.
   * @param {number} nowMs
   */
  time(nowMs) {
    const a = this.audio;
    const t = a && this.audioDriven(nowMs) ? a.pts + (nowMs - a.at) / 1000 : this.wallTime(nowMs);
    if (t === null) return null;
    this.last = Math.max(this.last, t);
    return this.last;
  }

  /**
   * How far (seconds) the audio lags where the wall clock says playback should be: more than a couple of
   * frames means the worklet should trim its buffer to catch up. 0 without audio.
   * @param {number} nowMs
   */
  audioLag(nowMs) {
    const a = this.audio;
    const wall = this.wallTime(nowMs);
    if (!a || wall === null || !this.audioDriven(nowMs)) return 0;
    return wall - (a.pts + (nowMs - a.at) / 1000);
  }

  reset() {
    this.offset = null;
    this.audio = null;
    this.last = -Infinity;
  }
}

/**
 * Which queued frames to show and which to drop at clock time `t`: the newest frame due (timestamp ≤ t plus
 * half a frame) is shown, the due ones before it are dropped (catch-up), later ones wait.
 * @param {number[]} timestamps queued frames' media times in seconds, ascending
 * @param {number} t clock time in seconds
 * @param {number} frameSec
 * @returns {{ show: number, drop: number }} index of the frame to show (-1 for none) and how many before it to drop
 */
export function dueFrames(timestamps, t, frameSec) {
  let show = -1;
  for (let i = 0; i < timestamps.length; i++) {
    if ((timestamps[i] ?? Infinity) <= t + frameSec / 2) show = i;
    else break;
  }
  return { show, drop: Math.max(0, show) };
}
