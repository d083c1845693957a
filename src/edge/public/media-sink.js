// One MediaSource on a <video>, fed with CMAF init segments and chunks of any rendition: a video and
// an audio SourceBuffer (each behind an append queue), the init segment each one currently holds,
// and the timeline of what was appended (for latency and "which quality is on screen").
//
// A rendition switch is just "append that rendition's init, then its chunks": the SourceBuffer
// follows whatever init came last. Frames that arrive before the MediaSource has opened are held.
//
// Where there is no MediaSource but a ManagedMediaSource (iPhones from iOS 17.1, Safari 17+ elsewhere), that
// one is used, with what it asks of a page: remote playback (AirPlay) disabled, since a MediaSource cannot be
// sent to another device, and media appended only while the browser says it is streaming (between
// 'startstreaming' and 'endstreaming'). Frames pushed meanwhile are held as before the MediaSource opened.

import { ChunkFlags, hasFlag } from './frames.js';
import { SourceBufferQueue } from './source-buffer-queue.js';
import { ChunkTimeline } from './chunk-timeline.js';
import { localNow } from './clock-sync.js';

/** @import { ChunkFrame, InitFrame } from './frames.js' */
/** @import { Rendition } from './viewer-messages.js' */
/** @typedef {'video' | 'audio'} TrackKind */

/** Frames kept while the MediaSource opens or is not streaming (a few seconds of chunks). */
const MAX_PENDING_FRAMES = 200;

/**
 * The MediaSource constructor this browser has: the plain one where it exists (no streaming gate needed for
 * media that is pushed anyway), else the managed one.
 * @returns {{ MS: typeof MediaSource, managed: boolean }}
 */
export function mediaSourceClass() {
  if ('MediaSource' in globalThis) return { MS: MediaSource, managed: false };
  if (globalThis.ManagedMediaSource) return { MS: globalThis.ManagedMediaSource, managed: true };
  throw new Error('this browser has no MediaSource');
}

/** @param {Rendition} r */
const mimeOf = (r) => `${r.kind}/mp4; codecs="${r.codecs}"`;

export class MediaSink {
  /**
   * @param {HTMLVideoElement} video
   * @param {Map<string, Rendition>} renditions by id
   * @param {(kind: TrackKind) => Rendition | null} codecRendition
   *   the rendition whose codec each SourceBuffer is created with
   * @param {{ onUpdated?: () => void, onUnsupported?: (codecs: string) => void }} hooks
   */
  constructor(video, renditions, codecRendition, hooks = {}) {
    this.video = video;
    this.renditions = renditions;
    this.hooks = hooks;
    this.timeline = new ChunkTimeline();
    /** @type {{ video?: SourceBufferQueue, audio?: SourceBufferQueue }} */
    this.queues = {};
    /** @type {Map<string, Uint8Array<ArrayBuffer>>} init segments of the current epoch, by rendition */
    this.inits = new Map();
    /** @type {Record<TrackKind, string | null>} which rendition's init each SourceBuffer holds */
    this.appended = { video: null, audio: null };
    /** @type {Record<TrackKind, boolean>} a fresh SourceBuffer can only start decoding at a keyframe */
    this.needKeyframe = { video: true, audio: false };
    /** @type {Array<InitFrame | ChunkFrame>} */
    this.pending = [];
    this.ready = false;
    this.closed = false;
    this.lastDataAt = 0;
    /** Media time up to which chunks were appended, per kind; repeats end at or before it. */
    this.appendedUntil = { video: -Infinity, audio: -Infinity };
    /** Chunks dropped as repeats. */
    this.repeats = 0;
    const { MS, managed } = mediaSourceClass();
    this.MS = MS;
    this.mediaSource = new MS();
    /** Whether appends are allowed now: always with a plain MediaSource. */
    this.streaming = !managed || /** @type {{ streaming?: boolean }} */ (this.mediaSource).streaming === true;
    this.onStartStreaming = () => {
      this.streaming = true;
      for (const q of Object.values(this.queues)) q.pump();
      this.flushPending();
    };
    this.onEndStreaming = () => (this.streaming = false);
    if (managed) {
      // ManagedMediaSource does not open on an element that could be sent to AirPlay.
      video.disableRemotePlayback = true;
      this.mediaSource.addEventListener('startstreaming', this.onStartStreaming);
      this.mediaSource.addEventListener('endstreaming', this.onEndStreaming);
    }
    this.objectUrl = URL.createObjectURL(this.mediaSource);
    this.mediaSource.addEventListener('sourceopen', () => this.onOpen(codecRendition), { once: true });
    video.src = this.objectUrl;
  }

  /**
   * After an "info" on the same timeline: new rendition details (the buffers stay).
   * @param {Map<string, Rendition>} renditions
   */
  setRenditions(renditions) {
    this.renditions = renditions;
  }

  /** A transcoder restart: the old epoch's init segments no longer match the chunks to come. */
  clearInits() {
    this.inits.clear();
  }

  /** @param {InitFrame | ChunkFrame} f */
  push(f) {
    if (this.closed) return;
    // Not mediaSource.readyState: it turns 'open' before the queued sourceopen handler has run.
    if (!this.ready || !this.streaming) {
      this.hold(f);
      return;
    }
    if (f.type === 'init') this.addInit(f);
    else this.addChunk(f);
  }

  /** @param {InitFrame | ChunkFrame} f */
  hold(f) {
    if (this.pending.length >= MAX_PENDING_FRAMES) {
      // Held too long for live: drop the held media (keep the inits) and resume at the next keyframe.
      this.pending = this.pending.filter((p) => p.type === 'init');
      this.needKeyframe.video = true;
    }
    this.pending.push(f);
  }

  flushPending() {
    const pending = this.pending;
    this.pending = [];
    for (const f of pending) this.push(f);
  }

  /** Whether appends are still queued or running (e.g. the opening burst). */
  get busy() {
    return !this.ready || Object.values(this.queues).some((q) => q.pending > 0 || q.sourceBuffer.updating);
  }

  /**
   * Removes media more than `keep` seconds behind the playhead.
   * @param {number} keep
   * @returns whether a removal was queued
   */
  trim(keep) {
    const ct = this.video.currentTime;
    let queued = false;
    for (const q of Object.values(this.queues)) {
      const b = q.buffered;
      if (!b || b.length === 0) continue;
      const from = b.start(0);
      if (ct - keep > from + 0.5) {
        q.remove(from, ct - keep);
        queued = true;
      }
    }
    this.timeline.dropBefore(ct - keep - 2);
    return queued;
  }

  /** For the console when playback is stuck: what each SourceBuffer holds and has waiting. */
  debugState() {
    /** @type {Record<string, unknown>} */
    const out = { held: this.pending.length, needKeyframe: this.needKeyframe };
    for (const [kind, q] of Object.entries(this.queues)) {
      const b = q.buffered;
      const ranges = [];
      for (let i = 0; b && i < b.length; i++) ranges.push(`${b.start(i).toFixed(2)}-${b.end(i).toFixed(2)}`);
      out[kind] = {
        buffered: ranges,
        appendedUntil: Number(this.appendedUntil[/** @type {TrackKind} */ (kind)].toFixed(2)),
        queued: q.pending,
        updating: q.sourceBuffer.updating,
      };
    }
    return out;
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    for (const q of Object.values(this.queues)) q.close();
    this.pending = [];
    this.mediaSource.removeEventListener('startstreaming', this.onStartStreaming);
    this.mediaSource.removeEventListener('endstreaming', this.onEndStreaming);
    URL.revokeObjectURL(this.objectUrl);
  }

  /** @param {(kind: TrackKind) => Rendition | null} codecRendition */
  onOpen(codecRendition) {
    if (this.closed) return;
    /** @param {TrackKind} kind */
    const hooks = (kind) => ({
      onUpdated: () => this.hooks.onUpdated?.(),
      /** @param {unknown} err */
      onError: (err) => console.warn(`tiercast: ${kind} SourceBuffer`, err),
      onQuotaExceeded: () => this.trim(1),
      mayAppend: () => this.streaming,
    });
    for (const kind of /** @type {const} */ (['video', 'audio'])) {
      const r = codecRendition(kind);
      if (!r) continue;
      if (!this.MS.isTypeSupported(mimeOf(r))) {
        this.hooks.onUnsupported?.(r.codecs);
        if (this.closed) return; // the owner gave up on this sink
        continue;
      }
      try {
        this.queues[kind] = new SourceBufferQueue(this.mediaSource, mimeOf(r), hooks(kind));
      } catch (err) {
        // isTypeSupported said yes, addSourceBuffer said no (e.g. no decoder left for another buffer).
        console.warn(`tiercast: no ${kind} SourceBuffer`, err);
        this.hooks.onUnsupported?.(r.codecs);
        if (this.closed) return;
      }
    }
    this.ready = true;
    this.flushPending();
  }

  /** @param {InitFrame} f */
  addInit(f) {
    const r = this.renditions.get(f.rendition);
    if (!r) return;
    // The same init again (a reconnect, or another edge after a move) is not appended: an init segment
    // makes MSE wait for the next keyframe, which would drop the frames the player resumes with.
    const had = this.inits.get(f.rendition);
    if (had && this.appended[r.kind] === r.id && sameBytes(had, f.data)) return;
    // Copy: a view would keep the whole WebSocket message alive.
    this.inits.set(f.rendition, f.data.slice());
    this.appendInit(r);
  }

  /** @param {Rendition} r */
  appendInit(r) {
    const q = this.queues[r.kind];
    const init = this.inits.get(r.id);
    if (!q || !init) return false;
    q.changeType(mimeOf(r));
    q.append(init);
    this.appended[r.kind] = r.id;
    return true;
  }

  /** @param {ChunkFrame} f */
  addChunk(f) {
    const r = this.renditions.get(f.rendition);
    const q = r && this.queues[r.kind];
    if (!q) return;
    // A chunk of another rendition than the SourceBuffer holds (a switch) needs that rendition's init first.
    if (this.appended[r.kind] !== r.id && !this.appendInit(r)) return;
    // A chunk that ends where appended media already ends is a repeat: the opening burst of an edge the
    // player moved to, or of a reconnect, resends the current segment. Appending it again would be harmless
    // to MSE but it is not new media.
    const end = (f.decodeTime + f.duration) / r.timescale;
    if (end <= this.appendedUntil[r.kind] + 1e-4) {
      this.repeats++;
      return;
    }
    if (this.needKeyframe[r.kind]) {
      if (!hasFlag(f.flags, ChunkFlags.KEYFRAME) && !hasFlag(f.flags, ChunkFlags.SEGMENT_START)) return;
      this.needKeyframe[r.kind] = false;
    }
    this.appendedUntil[r.kind] = end;
    q.append(f.payload);
    this.lastDataAt = localNow();
    if (r.kind !== (this.queues.video ? 'video' : 'audio')) return;
    this.timeline.add({
      start: f.decodeTime / r.timescale,
      end: (f.decodeTime + f.duration) / r.timescale,
      ingressTime: f.ingressTime,
      rendition: r.id,
    });
  }
}

/** @param {Uint8Array} a @param {Uint8Array} b */
function sameBytes(a, b) {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}
