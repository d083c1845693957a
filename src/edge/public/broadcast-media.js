// The /broadcast page's media: capture (camera, screen, or screen with the camera in a corner), and the
// WebCodecs encoders that turn it into tag bodies for the ingest socket (ingest-frames.js). H.264 video
// (realtime, baseline, a keyframe every 2 s or on request) and, when the ingress takes it, Opus audio.
// Frames are read with MediaStreamTrackProcessor so a hidden tab keeps encoding (timers there slow down);
// browsers without it (Firefox, Safari) read a hidden <video>'s frames and an AudioWorklet's samples instead.
// Where WebCodecs is missing, MediaRecorder records WebM instead (broadcast-recorder.js).

import { avcCodecFor, videoBitrateFor } from './broadcast-rules.js';
import { encodingPath } from './broadcast-recorder.js';
import { t } from './i18n.js';
import {
  TAG_AUDIO,
  TAG_VIDEO,
  avcFrame,
  avcSequenceHeader,
  opusFrame,
  opusHead,
  opusSequenceStart,
} from './ingest-frames.js';

const KEYFRAME_EVERY_US = 2_000_000;
/** Frames waiting in the encoder above which new frames are dropped (the machine cannot keep up). */
const MAX_ENCODE_QUEUE = 3;

/** Why this browser cannot broadcast, or null. */
export function missingSupport() {
  if (!encodingPath()) return t('broadcast.noEncoder');
  if (!navigator.mediaDevices?.getUserMedia) return t('broadcast.noCamera');
  return null;
}

/**
 * A track's frames: MediaStreamTrackProcessor where there is one (Chromium: keeps going in a hidden tab);
 * elsewhere a hidden <video>'s frames (requestVideoFrameCallback) or an AudioWorklet's samples.
 * @param {MediaStreamTrack} track
 * @returns {Promise<ReadableStreamDefaultReader<VideoFrame | AudioData>>}
 */
export async function frameReader(track) {
  // `typeof`: a bare name the browser lacks would throw.
  if (typeof MediaStreamTrackProcessor !== 'undefined' && MediaStreamTrackProcessor)
    return new MediaStreamTrackProcessor({ track }).readable.getReader();
  return (track.kind === 'video' ? videoElementFrames(track) : await workletAudio(track)).getReader();
}

/**
 * @param {MediaStreamTrack} track
 * @returns {ReadableStream<VideoFrame | AudioData>}
 */
function videoElementFrames(track) {
  const video = document.createElement('video');
  video.muted = true;
  video.playsInline = true;
  video.srcObject = new MediaStream([track]);
  let stopped = false;
  return new ReadableStream(
    {
      start(controller) {
        void video.play();
        const onFrame = () => {
          if (stopped) return;
          // Asked for first: a frame that cannot be read must never end the stream of frames.
          video.requestVideoFrameCallback(onFrame);
          // A consumer that is behind gets no new frame (the encoder's queue counts drops on its side).
          if ((controller.desiredSize ?? 0) <= 0 || video.videoWidth === 0) return;
          if (video.readyState < HTMLMediaElement.HAVE_CURRENT_DATA) return;
          try {
            controller.enqueue(new VideoFrame(video, { timestamp: Math.round(performance.now() * 1000) }));
          } catch {
            // "Invalid source state": the element has no picture to give right now (a busy machine, a
            // track restarting). This frame is skipped; the next callback tries again.
          }
        };
        video.requestVideoFrameCallback(onFrame);
      },
      cancel() {
        stopped = true;
        video.srcObject = null;
      },
    },
    { highWaterMark: 2 },
  );
}

/**
 * @param {MediaStreamTrack} track
 * @returns {Promise<ReadableStream<VideoFrame | AudioData>>}
 */
async function workletAudio(track) {
  const ctx = new AudioContext();
  await ctx.audioWorklet.addModule('/static/broadcast-audio-worklet.js');
  const source = ctx.createMediaStreamSource(new MediaStream([track]));
  const node = new AudioWorkletNode(ctx, 'tiercast-capture', { numberOfOutputs: 0 });
  source.connect(node);
  return new ReadableStream({
    start(controller) {
      node.port.onmessage = (/** @type {MessageEvent<Float32Array[]>} */ ev) => {
        const channels = ev.data;
        const frames = channels[0]?.length ?? 0;
        if (!frames) return;
        const data = new Float32Array(frames * channels.length);
        channels.forEach((c, i) => data.set(c, i * frames));
        controller.enqueue(
          new AudioData({
            format: 'f32-planar',
            sampleRate: ctx.sampleRate,
            numberOfFrames: frames,
            numberOfChannels: channels.length,
            timestamp: Math.round(performance.now() * 1000),
            data,
          }),
        );
      };
    },
    cancel() {
      node.port.onmessage = null;
      source.disconnect();
      void ctx.close();
    },
  });
}

/**
 * @typedef {{preview: MediaStream, video: MediaStreamTrack, audio: MediaStreamTrack | null, stop(): void}} Sources
 */

/**
 * Asks for the devices. `both` draws the screen with the camera in the lower right corner on a canvas.
 * @param {'camera' | 'screen' | 'both'} video
 * @param {boolean} mic
 * @returns {Promise<Sources>}
 */
export async function openSources(video, mic) {
  /** @type {MediaStreamTrack[]} */
  const owned = [];
  const stop = () => owned.forEach((t) => t.stop());
  try {
    const audio = mic
      ? ((await navigator.mediaDevices.getUserMedia({ audio: true })).getAudioTracks()[0] ?? null)
      : null;
    if (audio) owned.push(audio);
    const camera = async () => {
      const t = (
        await navigator.mediaDevices.getUserMedia({ video: { width: 1280, height: 720, frameRate: 30 } })
      ).getVideoTracks()[0];
      if (!t) throw new Error('no camera');
      owned.push(t);
      return t;
    };
    const screen = async () => {
      const t = (
        await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: 30 }, audio: false })
      ).getVideoTracks()[0];
      if (!t) throw new Error('no screen');
      owned.push(t);
      return t;
    };
    /** @type {MediaStreamTrack} */
    let track;
    if (video === 'camera') track = await camera();
    else if (video === 'screen') track = await screen();
    else track = pictureInPicture(await screen(), await camera(), owned);
    const preview = new MediaStream([track]);
    return { preview, video: track, audio, stop };
  } catch (err) {
    stop();
    throw err;
  }
}

/**
 * The screen with the camera at a quarter of its width in the lower right corner, drawn on a canvas each
 * time a screen frame arrives (not on a timer); the latest camera frame is kept.
 * @param {MediaStreamTrack} screen
 * @param {MediaStreamTrack} cam
 * @param {MediaStreamTrack[]} owned
 */
function pictureInPicture(screen, cam, owned) {
  const canvas = document.createElement('canvas');
  canvas.width = 1280;
  canvas.height = 720;
  const ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext('2d'));
  const out = canvas.captureStream(30).getVideoTracks()[0];
  if (!out) throw new Error('cannot compose the picture');
  owned.push(out);
  /** @type {{frame: VideoFrame | null}} */
  const cam$ = { frame: null };
  void (async () => {
    const camReader = await frameReader(cam);
    for (;;) {
      const { value, done } = await camReader.read();
      if (done) break;
      if (!(value instanceof VideoFrame)) continue;
      cam$.frame?.close();
      cam$.frame = value;
    }
  })();
  void (async () => {
    const screenReader = await frameReader(screen);
    for (;;) {
      const { value, done } = await screenReader.read();
      if (done) break;
      if (!(value instanceof VideoFrame)) continue;
      const w = canvas.width;
      const h = canvas.height;
      const scale = Math.min(w / value.displayWidth, h / value.displayHeight);
      const sw = value.displayWidth * scale;
      const sh = value.displayHeight * scale;
      ctx.fillStyle = '#000';
      ctx.fillRect(0, 0, w, h);
      ctx.drawImage(value, (w - sw) / 2, (h - sh) / 2, sw, sh);
      value.close();
      const c = cam$.frame;
      if (c) {
        const cw = w / 4;
        const ch = (cw * c.displayHeight) / c.displayWidth;
        ctx.drawImage(c, w - cw - 16, h - ch - 16, cw, ch);
      }
    }
    cam$.frame?.close();
  })();
  return out;
}

/**
 * @typedef {{type: 8 | 9, timestampMs: number, body: Uint8Array, key: boolean}} EncodedTag
 */

/**
 * Encodes the sources while running; `onTag` gets every tag body (sequence headers included). The
 * sequence headers are kept so a new socket can start with them.
 */
/** How long the picture waits at the start for an announced microphone's first sound. */
const AUDIO_START_WAIT_MS = 2000;

export class LiveEncoder {
  /**
   * @param {{video: MediaStreamTrack, audio: MediaStreamTrack | null, onTag: (t: EncodedTag) => void,
   *   onError: (message: string) => void}} opts
   */
  constructor(opts) {
    this.opts = opts;
    /** @type {'tags'} */
    this.format = 'tags';
    /** @type {Uint8Array | null} */
    this.videoConfig = null;
    /** @type {Uint8Array | null} */
    this.audioConfig = null;
    this.droppedFrames = 0;
    this.stopped = false;
    this.wantKey = true;
    this.lastKeyUs = -Infinity;
    this.t0 = performance.now();
    /** @type {Map<string, {base: number, offsetUs: number}>} */
    this.clocks = new Map();
    /** @type {VideoEncoder | null} */
    this.video = null;
    /** @type {AudioEncoder | null} */
    this.audio = null;
    this.size = { width: 0, height: 0 };
    /** @type {ReadableStreamDefaultReader<VideoFrame | AudioData> | undefined} */
    this.videoReader = undefined;
    /** @type {ReadableStreamDefaultReader<VideoFrame | AudioData> | undefined} */
    this.audioReader = undefined;
    /** @type {EncodedTag[] | null} the picture waiting for the microphone's first sound */
    this.held = this.sendsAudio ? [] : null;
  }

  /** Whether audio will follow (a microphone and an Opus encoder): the socket's hello announces it. */
  get sendsAudio() {
    return this.opts.audio !== null && typeof AudioEncoder !== 'undefined';
  }

  start() {
    void this.readVideo();
    if (this.opts.audio) void this.readAudio(this.opts.audio);
  }

  /**
   * Sends a tag. While a microphone is announced but has produced nothing yet, the picture waits (at most
   * AUDIO_START_WAIT_MS from the start) so the ingress sees the sound begin with the stream.
   * @param {EncodedTag} tag
   */
  emit(tag) {
    if (this.held) {
      if (tag.type === TAG_VIDEO && performance.now() - this.t0 < AUDIO_START_WAIT_MS) {
        this.held.push(tag);
        return;
      }
      const held = this.held;
      this.held = null;
      if (tag.type === TAG_AUDIO) this.opts.onTag(tag);
      held.forEach((t) => this.opts.onTag(t));
      if (tag.type === TAG_AUDIO) return;
    }
    this.opts.onTag(tag);
  }

  /** The next video frame is encoded as a keyframe (a new socket must start with one). */
  requestKeyframe() {
    this.wantKey = true;
  }

  /**
   * Media time in ms for a capture timestamp (µs) of one track: each track from its first frame, placed
   * at the moment that frame arrived, so audio and video line up.
   * @param {string} track
   * @param {number} us
   */
  mediaMs(track, us) {
    let c = this.clocks.get(track);
    if (!c) {
      c = { base: us, offsetUs: (performance.now() - this.t0) * 1000 };
      this.clocks.set(track, c);
    }
    return (us - c.base + c.offsetUs) / 1000;
  }

  async readVideo() {
    const reader = await frameReader(this.opts.video);
    this.videoReader = reader;
    while (!this.stopped) {
      const { value, done } = await reader.read();
      if (done) break;
      if (!(value instanceof VideoFrame)) continue;
      try {
        this.encodeVideo(value);
      } finally {
        value.close();
      }
    }
  }

  /** @param {VideoFrame} frame */
  encodeVideo(frame) {
    if (this.stopped) return;
    // Even dimensions, as H.264 4:2:0 needs.
    const width = frame.displayWidth & ~1;
    const height = frame.displayHeight & ~1;
    if (!this.video || width !== this.size.width || height !== this.size.height) {
      this.video?.close();
      this.size = { width, height };
      this.video = new VideoEncoder({
        output: (chunk, meta) => this.onVideoChunk(chunk, meta),
        error: (e) => this.opts.onError(`video encoder: ${e.message}`),
      });
      this.video.configure({
        codec: avcCodecFor(width, height),
        width,
        height,
        bitrate: videoBitrateFor(width, height),
        framerate: 30,
        latencyMode: 'realtime',
        avc: { format: 'avc' },
      });
      this.wantKey = true;
    }
    if (this.video.encodeQueueSize > MAX_ENCODE_QUEUE) {
      this.droppedFrames++;
      return;
    }
    const key = this.wantKey || frame.timestamp - this.lastKeyUs >= KEYFRAME_EVERY_US;
    if (key) {
      this.wantKey = false;
      this.lastKeyUs = frame.timestamp;
    }
    this.video.encode(frame, { keyFrame: key });
  }

  /**
   * @param {EncodedVideoChunk} chunk
   * @param {EncodedVideoChunkMetadata | undefined} meta
   */
  onVideoChunk(chunk, meta) {
    const ts = this.mediaMs('video', chunk.timestamp);
    const desc = meta?.decoderConfig?.description;
    if (desc) {
      const record = ArrayBuffer.isView(desc)
        ? new Uint8Array(desc.buffer, desc.byteOffset, desc.byteLength).slice()
        : new Uint8Array(desc).slice();
      this.videoConfig = avcSequenceHeader(record);
      this.emit({ type: TAG_VIDEO, timestampMs: ts, body: this.videoConfig, key: true });
    }
    const data = new Uint8Array(chunk.byteLength);
    chunk.copyTo(data);
    const key = chunk.type === 'key';
    this.emit({ type: TAG_VIDEO, timestampMs: ts, body: avcFrame(key, data), key });
  }

  /** @param {MediaStreamTrack} track */
  async readAudio(track) {
    if (typeof AudioEncoder === 'undefined') return;
    const reader = await frameReader(track);
    this.audioReader = reader;
    while (!this.stopped) {
      const { value, done } = await reader.read();
      if (done) break;
      if (!(value instanceof AudioData)) continue;
      try {
        if (!this.audio) {
          const channels = Math.min(2, value.numberOfChannels);
          this.audioConfig = opusSequenceStart(opusHead(channels, value.sampleRate));
          this.audio = new AudioEncoder({
            output: (chunk) => {
              const data = new Uint8Array(chunk.byteLength);
              chunk.copyTo(data);
              const ts = this.mediaMs('audio', chunk.timestamp);
              this.opts.onTag({ type: TAG_AUDIO, timestampMs: ts, body: opusFrame(data), key: false });
            },
            error: (e) => this.opts.onError(`audio encoder: ${e.message}`),
          });
          this.audio.configure({
            codec: 'opus',
            sampleRate: value.sampleRate,
            numberOfChannels: channels,
            bitrate: 96_000,
          });
          this.emit({ type: TAG_AUDIO, timestampMs: 0, body: this.audioConfig, key: true });
        }
        if (this.audio.encodeQueueSize < 20) this.audio.encode(value);
      } finally {
        value.close();
      }
    }
  }

  stop() {
    if (this.stopped) return;
    this.stopped = true;
    void this.videoReader?.cancel().catch(() => {});
    void this.audioReader?.cancel().catch(() => {});
    for (const e of [this.video, this.audio]) {
      if (e && e.state !== 'closed') e.close();
    }
  }
}
