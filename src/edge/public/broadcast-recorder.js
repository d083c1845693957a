// The /broadcast page's fallback encoder where WebCodecs is missing: MediaRecorder writes one WebM file per
// ingest socket (the ingress reads it with src/ingress/mkv/mkv-to-flv.ts), its chunks sent as they come.
// H.264 where the browser records it (Chromium: the Source can be passed through), else VP8 or VP9
// (Firefox); Opus audio. A keyframe every 2 s where the browser takes `videoKeyFrameIntervalDuration`
// (Chromium); elsewhere the recorder's own interval, which the transcoder's ladder does not depend on.

import { videoBitrateFor } from './broadcast-rules.js';

/** MediaRecorder's chunk interval, ms: each chunk waits at most this long before it is sent. */
export const TIMESLICE_MS = 50;
/** Preferred first: H.264 keeps the Source passthrough possible. */
const MIME_TYPES = [
  'video/webm;codecs=h264,opus',
  'video/webm;codecs=vp8,opus',
  'video/webm;codecs=vp9,opus',
  'video/webm',
];

/** The WebM type this browser records, or null. */
export function recorderMimeType() {
  if (typeof MediaRecorder === 'undefined') return null;
  return MIME_TYPES.find((t) => MediaRecorder.isTypeSupported(t)) ?? null;
}

/**
 * How this browser encodes: WebCodecs tags, or MediaRecorder's WebM (with its mime type) where WebCodecs'
 * VideoEncoder is missing; null when it can do neither.
 * @returns {{kind: 'webcodecs'} | {kind: 'webm', mimeType: string} | null}
 */
export function encodingPath() {
  if (typeof VideoEncoder !== 'undefined') return { kind: 'webcodecs' };
  const mimeType = recorderMimeType();
  return mimeType ? { kind: 'webm', mimeType } : null;
}

/** The codec names of a mime type, for the page ("H.264 + Opus"). @param {string} mime */
export function recorderCodecsLabel(mime) {
  const codecs = /codecs=([^;]+)/.exec(mime)?.[1]?.split(',') ?? [];
  const names = /** @type {Record<string, string>} */ ({
    h264: 'H.264',
    vp8: 'VP8',
    vp9: 'VP9',
    opus: 'Opus',
  });
  return codecs.map((c) => names[c.trim()] ?? c.trim()).join(' + ') || 'WebM';
}

/**
 * Records the sources while a socket is accepted: `begin()` starts a new WebM file (a new socket needs its
 * header and a keyframe first), `end()` stops it. Chunks of an ended recording are not delivered.
 */
export class RecorderEncoder {
  /**
   * @param {{video: MediaStreamTrack, audio: MediaStreamTrack | null, mimeType: string,
   *   onChunk: (bytes: Uint8Array) => void, onError: (message: string) => void}} opts
   */
  constructor(opts) {
    this.opts = opts;
    /** @type {'webm'} */
    this.format = 'webm';
    this.droppedFrames = 0;
    /** @type {Uint8Array | null} kept for the tag link's interface: a WebM file carries its own headers */
    this.videoConfig = null;
    /** @type {Uint8Array | null} */
    this.audioConfig = null;
    /** @type {MediaRecorder | null} */
    this.recorder = null;
    this.generation = 0;
    /** Chunks are read in order: Blob reads may finish out of order. */
    this.queue = Promise.resolve();
    this.stopped = false;
  }

  /** Nothing runs until a socket is accepted. */
  start() {}

  /** Starts a new WebM file (a new socket). */
  begin() {
    this.end();
    if (this.stopped) return;
    const gen = ++this.generation;
    const tracks = [this.opts.video, ...(this.opts.audio ? [this.opts.audio] : [])];
    const { width = 1280, height = 720 } = this.opts.video.getSettings();
    /** @type {MediaRecorderOptions & {videoKeyFrameIntervalDuration?: number}} */
    const options = {
      mimeType: this.opts.mimeType,
      videoBitsPerSecond: videoBitrateFor(width, height),
      audioBitsPerSecond: 96_000,
      // Chromium (and the MediaRecorder spec's newer drafts): a keyframe every 2 s, as the tag path.
      videoKeyFrameIntervalDuration: 2000,
    };
    const rec = new MediaRecorder(new MediaStream(tracks), options);
    rec.ondataavailable = (ev) => {
      if (ev.data.size === 0) return;
      this.queue = this.queue.then(async () => {
        const bytes = new Uint8Array(await ev.data.arrayBuffer());
        if (gen === this.generation && !this.stopped) this.opts.onChunk(bytes);
      });
    };
    rec.onerror = () => this.opts.onError('the recorder stopped');
    this.recorder = rec;
    rec.start(TIMESLICE_MS);
  }

  /** Stops the current file (its socket closed). */
  end() {
    const rec = this.recorder;
    this.recorder = null;
    this.generation++;
    if (rec && rec.state !== 'inactive') rec.stop();
  }

  /** A new file starts with a keyframe; within one, MediaRecorder cannot be asked for one. */
  requestKeyframe() {}

  stop() {
    if (this.stopped) return;
    this.end();
    this.stopped = true;
  }
}
