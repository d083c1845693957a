// The WebSocket player with WebCodecs instead of MSE: the same socket, protocol, resume, failover, quality
// choice and status logic (ws-player.js), but the page decodes the frames itself. Video goes through a
// VideoDecoder (optimizeForLatency) onto a canvas, which a probe reads with drawImage like a <video>; audio
// through an AudioDecoder into an AudioWorklet ring (playout-audio-worklet.js) that is the master clock; a
// jitter buffer (playout-timing.js) sets the delay one to two frame times above the arrival jitter it
// measures. See docs/adr/0011-webcodecs-player.md.
//
// The hidden <video> element stays as the controls' model: its muted/volume drive the audio gain, so the
// page's mute button, slider and keys work unchanged.

import { WsPlayer } from './ws-player.js';
import { localNow } from './clock-sync.js';
import { ChunkTimeline } from './chunk-timeline.js';
import { ChunkFlags, hasFlag } from './frames.js';
import { parseChunk, parseInit } from './cmaf-demux.js';
import { ArrivalJitter, PlayoutClock, dueFrames } from './playout-timing.js';

/** @import { ChunkFrame, InitFrame } from './frames.js' */
/** @import { Rendition } from './viewer-messages.js' */
/** @import { InitInfo, Track } from './cmaf-demux.js' */

/** Decoded frames kept waiting for their time (more means the page is hidden or far behind: drop the oldest). */
const MAX_QUEUED_FRAMES = 90;
/** Audio behind the wall clock by more than this (s): trim it; ahead by more than this: hold it. */
const AUDIO_TRIM_S = 0.12;
const AUDIO_HOLD_S = 0.15;
/** Arrivals in the first this many ms are forgotten once past them (ms). */
const WARMUP_MS = 2000;
/** No new frame shown for this long (ms) while playing counts as a stall. */
const STALL_MS = 500;

/** Whether this browser can run the WebCodecs player. */
export function webCodecsAvailable() {
  return 'VideoDecoder' in globalThis && 'AudioDecoder' in globalThis && 'AudioWorkletNode' in globalThis;
}

/** @param {Uint8Array} a @param {Uint8Array} b */
function sameBytes(a, b) {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class WebCodecsSink {
  /**
   * @param {{ canvas: HTMLCanvasElement, video: HTMLVideoElement, renditions: Map<string, Rendition>,
   *   onFirstFrame: () => void, onError: (message: string) => void }} p
   */
  constructor({ canvas, video, renditions, onFirstFrame, onError }) {
    this.canvas = canvas;
    this.video = video;
    this.renditions = renditions;
    this.onFirstFrame = onFirstFrame;
    this.onError = onError;
    this.ctx2d = /** @type {CanvasRenderingContext2D} */ (canvas.getContext('2d', { alpha: false }));
    this.timeline = new ChunkTimeline();
    /** @type {Map<string, { bytes: Uint8Array, info: InitInfo }>} */
    this.inits = new Map();
    /** @type {{ video: string | null, audio: string | null }} the rendition each decoder is configured for */
    this.appended = { video: null, audio: null };
    this.needKeyframe = true;
    this.audioNeedsConfig = true;
    this.decodedUntil = { video: -Infinity, audio: -Infinity };
    this.repeats = 0;
    this.lastDataAt = 0;
    this.closed = false;
    this.busy = false;
    /** The viewer paused: nothing is drawn, the sound is suspended; frames keep arriving (and being dropped). */
    this.paused = false;
    this.jitter = new ArrivalJitter();
    /** @type {number | null} local ms the last measured chunk arrived */
    this.lastArrival = null;
    /** The shortest time seen between ingress receiving a chunk and the edge sending it (ms). */
    this.quickestSend = Infinity;
    /** @type {number | null} */
    this.firstArrivalAt = null;
    this.warmedUp = false;
    this.clock = new PlayoutClock();
    this.frameSec = 1 / 30;
    /** @type {VideoFrame[]} decoded, waiting for their time */
    this.frames = [];
    /** @type {number | null} media time (s) of the frame on screen */
    this.shownTime = null;
    this.lastShownAt = 0;
    this.stats = {
      framesDecoded: 0,
      framesDrawn: 0,
      framesDropped: 0,
      audioReceived: 0,
      audioPlayed: 0,
      underruns: 0,
    };
    this.videoDecoder = new VideoDecoder({
      output: (frame) => this.onVideoFrame(frame),
      error: (e) => this.fail(`video decoder: ${e.message}`),
    });
    /** @type {AudioDecoder | null} */
    this.audioDecoder = null;
    /** @type {AudioContext | null} */
    this.audioCtx = null;
    /** @type {AudioWorkletNode | null} */
    this.worklet = null;
    /** @type {GainNode | null} */
    this.gain = null;
    /** @type {Promise<void> | null} */
    this.audioReady = null;
    /** @type {Array<() => void>} audio work waiting for the worklet module */
    this.audioWaiting = [];
    this.onVolume = () => this.applyVolume();
    this.onGesture = () => void (this.paused ? undefined : this.audioCtx?.resume());
    video.addEventListener('volumechange', this.onVolume);
    document.addEventListener('click', this.onGesture, true);
    document.addEventListener('keydown', this.onGesture, true);
    this.raf = requestAnimationFrame(() => this.render());
  }

  /** @param {Map<string, Rendition>} renditions */
  setRenditions(renditions) {
    this.renditions = renditions;
  }

  /** A transcoder restart: the next chunks need the new epoch's inits and a keyframe. */
  clearInits() {
    this.inits.clear();
    this.needKeyframe = true;
    this.audioNeedsConfig = true;
  }

  /** @param {string} message */
  fail(message) {
    if (this.closed) return;
    console.warn(`tiercast: WebCodecs ${message}`);
    this.onError(message);
  }

  /** @param {InitFrame | ChunkFrame} f */
  push(f) {
    if (this.closed) return;
    if (f.type === 'init') {
      const had = this.inits.get(f.rendition);
      if (had && sameBytes(had.bytes, f.data)) return;
      try {
        this.inits.set(f.rendition, { bytes: f.data.slice(), info: parseInit(f.data) });
      } catch (err) {
        console.warn('tiercast: init segment not understood', err);
        return;
      }
      const r = this.renditions.get(f.rendition);
      if (r?.kind === 'audio' && r.id === this.appended.audio) this.audioNeedsConfig = true;
      if (r?.kind === 'video' && r.id === this.appended.video) this.needKeyframe = true;
      return;
    }
    const r = this.renditions.get(f.rendition);
    const init = this.inits.get(f.rendition);
    if (!r || !init) return;
    const start = f.decodeTime / r.timescale;
    const end = (f.decodeTime + f.duration) / r.timescale;
    if (end <= this.decodedUntil[r.kind] + 1e-4) {
      this.repeats++;
      return;
    }
    this.lastDataAt = localNow();
    const track = init.info.tracks[0];
    if (!track) return;
    const samples = parseChunk(f.payload, init.info);
    if (r.kind === 'video') this.videoChunk(f, r, track, samples, start, end);
    else this.audioChunk(r, track, samples, end);
    // The jitter buffer measures the kind that drives the picture: video (audio when there is no video).
    if (r.kind === 'video' || !this.hasVideo()) this.measureArrival(f, start, end);
  }

  /**
   * A chunk the edge sent late against when ingress received it (more than a chunk later than the quickest)
   * is part of a backlog: the edge's opening burst of the current segment, or a resume after a reconnect. Its
   * lateness says how old the burst is, not how the path jitters, so it is not measured. Of the others, one
   * arriving right behind the previous one (queued behind it) is not measured either: the first of a run is
   * the late one.
   * @param {ChunkFrame} f @param {number} start @param {number} end seconds
   */
  measureArrival(f, start, end) {
    const now = localNow();
    const chunkMs = (end - start) * 1000;
    const held = f.sentTime - f.ingressTime;
    if (Number.isFinite(held)) this.quickestSend = Math.min(this.quickestSend, held);
    if (held > this.quickestSend + chunkMs) return;
    // The first seconds measure the page starting (decoders, the worklet module) more than the path: once
    // past them, the window starts over (the offset reached so far stays until new figures move it).
    this.firstArrivalAt ??= now;
    if (!this.warmedUp && now - this.firstArrivalAt > WARMUP_MS) {
      this.warmedUp = true;
      this.jitter.reset();
    }
    const prev = this.lastArrival;
    this.lastArrival = now;
    if (prev === null || now - prev >= chunkMs / 4) this.jitter.add(start, now);
  }

  hasVideo() {
    return [...this.renditions.values()].some((r) => r.kind === 'video');
  }

  /**
   * @param {ChunkFrame} f @param {Rendition} r @param {Track} track
   * @param {import('./cmaf-demux.js').Sample[]} samples @param {number} start @param {number} end
   */
  videoChunk(f, r, track, samples, start, end) {
    const switching = this.appended.video !== r.id;
    if (switching || this.needKeyframe) {
      // A new rendition (a quality switch) or a new init: the decoder is reconfigured at a keyframe.
      const keyed = hasFlag(f.flags, ChunkFlags.KEYFRAME) || hasFlag(f.flags, ChunkFlags.SEGMENT_START);
      if (!keyed || !samples[0]?.key) return;
      try {
        this.videoDecoder.configure({
          codec: track.codec,
          description: track.description,
          optimizeForLatency: true,
          hardwareAcceleration: 'no-preference',
        });
      } catch (err) {
        this.fail(`cannot decode ${track.codec}: ${String(err)}`);
        return;
      }
      this.appended.video = r.id;
      this.needKeyframe = false;
    }
    if (r.frameRate) this.frameSec = 1 / r.frameRate;
    this.decodedUntil.video = end;
    for (const s of samples) {
      this.videoDecoder.decode(
        new EncodedVideoChunk({
          type: s.key ? 'key' : 'delta',
          timestamp: Math.round((s.pts / track.timescale) * 1e6),
          duration: Math.round((s.duration / track.timescale) * 1e6),
          data: s.data,
        }),
      );
    }
    this.timeline.add({ start, end, ingressTime: f.ingressTime, rendition: r.id });
  }

  /**
   * @param {Rendition} r @param {Track} track
   * @param {import('./cmaf-demux.js').Sample[]} samples @param {number} end
   */
  audioChunk(r, track, samples, end) {
    if (!this.audioReady) this.startAudio(track);
    if (this.audioWaiting.length > 20) this.audioWaiting.shift();
    const run = () => {
      const dec = this.audioDecoder;
      if (!dec || this.closed) return;
      if (this.audioNeedsConfig || this.appended.audio !== r.id) {
        try {
          dec.configure({
            codec: track.codec,
            sampleRate: track.sampleRate ?? 48000,
            numberOfChannels: track.channels ?? 2,
            description: track.description,
          });
        } catch (err) {
          console.warn(`tiercast: cannot decode ${track.codec}`, err);
          return;
        }
        this.appended.audio = r.id;
        this.audioNeedsConfig = false;
      }
      for (const s of samples)
        dec.decode(
          new EncodedAudioChunk({
            type: 'key',
            timestamp: Math.round((s.pts / track.timescale) * 1e6),
            duration: Math.round((s.duration / track.timescale) * 1e6),
            data: s.data,
          }),
        );
    };
    this.decodedUntil.audio = end;
    if (this.worklet) run();
    else this.audioWaiting.push(run);
  }

  /** @param {Track} track */
  startAudio(track) {
    const ctx = new AudioContext({ sampleRate: track.sampleRate ?? 48000, latencyHint: 'interactive' });
    this.audioCtx = ctx;
    this.audioReady = ctx.audioWorklet.addModule('/static/playout-audio-worklet.js').then(
      () => {
        if (this.closed) return;
        const node = new AudioWorkletNode(ctx, 'tiercast-playout', {
          numberOfInputs: 0,
          outputChannelCount: [track.channels ?? 2],
        });
        const gain = ctx.createGain();
        node.connect(gain).connect(ctx.destination);
        node.port.onmessage = (/** @type {MessageEvent<Record<string, unknown>>} */ e) =>
          this.onWorklet(e.data);
        this.worklet = node;
        this.gain = gain;
        this.applyVolume();
        this.audioDecoder = new AudioDecoder({
          output: (data) => this.onAudioData(data),
          error: (e) => console.warn('tiercast: audio decoder', e),
        });
        for (const run of this.audioWaiting.splice(0)) run();
      },
      (err) => console.warn('tiercast: no audio worklet', err),
    );
  }

  /** @param {Record<string, unknown>} m */
  onWorklet(m) {
    if (m.type !== 'position') return;
    this.stats.audioReceived = Number(m.received) || 0;
    this.stats.audioPlayed = Number(m.played) || 0;
    this.stats.underruns = Number(m.underruns) || 0;
    if (typeof m.pts !== 'number' || this.audioCtx?.state !== 'running') return;
    // The sample reported is heard after the output's own latency.
    const out = this.audioCtx.outputLatency || this.audioCtx.baseLatency || 0;
    this.clock.setAudio(m.pts - out, localNow());
  }

  /** @param {AudioData} data */
  onAudioData(data) {
    const node = this.worklet;
    if (!node || this.closed) {
      data.close();
      return;
    }
    const channels = [];
    for (let c = 0; c < data.numberOfChannels; c++) {
      const ch = new Float32Array(data.numberOfFrames);
      data.copyTo(ch, { planeIndex: c, format: 'f32-planar' });
      channels.push(ch);
    }
    const pts = data.timestamp / 1e6;
    data.close();
    // Audio older than where playback is now is not worth playing.
    const now = this.clock.time(localNow());
    if (now !== null && pts + (channels[0]?.length ?? 0) / (this.audioCtx?.sampleRate ?? 48000) < now - 0.05)
      return;
    node.port.postMessage(
      { type: 'samples', pts, channels },
      channels.map((c) => c.buffer),
    );
  }

  applyVolume() {
    if (this.gain) this.gain.gain.value = this.video.muted ? 0 : this.video.volume;
  }

  /** @param {VideoFrame} frame */
  onVideoFrame(frame) {
    if (this.closed) {
      frame.close();
      return;
    }
    this.stats.framesDecoded++;
    this.frames.push(frame);
    while (this.frames.length > MAX_QUEUED_FRAMES) {
      this.frames.shift()?.close();
      this.stats.framesDropped++;
    }
  }

  /** Where the clock is now (seconds of media time), after following the jitter buffer's target. */
  clockTime() {
    const now = localNow();
    const target = this.jitter.targetOffsetMs(this.frameSec * 1000);
    if (target !== null) this.clock.retarget(target, now);
    return this.clock.time(now);
  }

  /**
   * Pause holds the picture on screen and suspends the sound; resume comes back at the live point: the clock
   * follows the wall clock again (frames and audio older than it are dropped), not where the pause began.
   * @param {boolean} paused
   */
  setPaused(paused) {
    if (paused === this.paused) return;
    this.paused = paused;
    if (paused) {
      void this.audioCtx?.suspend();
      return;
    }
    this.clock.clearAudio();
    const wall = this.clock.wallTime(localNow());
    if (this.worklet && wall !== null) this.worklet.port.postMessage({ type: 'skipTo', pts: wall });
    void this.audioCtx?.resume();
    this.lastShownAt = localNow();
  }

  render() {
    if (this.closed) return;
    this.raf = requestAnimationFrame(() => this.render());
    const t = this.clockTime();
    if (this.paused || t === null || this.frames.length === 0) return;
    const { show, drop } = dueFrames(
      this.frames.map((f) => f.timestamp / 1e6),
      t,
      this.frameSec,
    );
    if (show < 0) return;
    const gone = this.frames.splice(0, drop);
    for (const f of gone) f.close();
    if (this.shownTime !== null) this.stats.framesDropped += gone.length;
    const frame = /** @type {VideoFrame} */ (this.frames.shift());
    if (this.canvas.width !== frame.displayWidth || this.canvas.height !== frame.displayHeight) {
      this.canvas.width = frame.displayWidth;
      this.canvas.height = frame.displayHeight;
    }
    this.ctx2d.drawImage(frame, 0, 0, frame.displayWidth, frame.displayHeight);
    const first = this.shownTime === null;
    this.shownTime = frame.timestamp / 1e6;
    this.lastShownAt = localNow();
    this.stats.framesDrawn++;
    frame.close();
    if (first) this.onFirstFrame();
  }

  /** Keeps the audio near the wall clock's position: trims it when behind, holds it when ahead. */
  steerAudio() {
    const node = this.worklet;
    const now = localNow();
    if (!node || !this.clock.audioDriven(now)) return;
    const lag = this.clock.audioLag(now);
    const wall = this.clock.wallTime(now);
    if (lag > AUDIO_TRIM_S && wall !== null) {
      node.port.postMessage({ type: 'skipTo', pts: wall });
      this.clock.clearAudio();
    } else if (lag < -AUDIO_HOLD_S) {
      node.port.postMessage({ type: 'hold', seconds: -lag });
      this.clock.clearAudio();
    }
  }

  /** @param {number} keep seconds: nothing is kept behind the playhead, only the timeline. */
  trim(keep) {
    if (this.shownTime !== null) this.timeline.dropBefore(this.shownTime - keep);
    return false;
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    cancelAnimationFrame(this.raf);
    for (const f of this.frames) f.close();
    this.frames = [];
    if (this.videoDecoder.state !== 'closed') this.videoDecoder.close();
    if (this.audioDecoder && this.audioDecoder.state !== 'closed') this.audioDecoder.close();
    this.worklet?.disconnect();
    void this.audioCtx?.close();
    this.video.removeEventListener('volumechange', this.onVolume);
    document.removeEventListener('click', this.onGesture, true);
    document.removeEventListener('keydown', this.onGesture, true);
  }
}

export class WebCodecsPlayer extends WsPlayer {
  /**
   * @param {ConstructorParameters<typeof WsPlayer>[0] & { canvas: HTMLCanvasElement }} params
   */
  constructor(params) {
    super(params);
    this.canvas = params.canvas;
    /** @type {WebCodecsSink | null} */
    this.wc = null;
    this.inStall = false;
    /** Paused by the viewer (player.js): kept across a new sink (a new stream epoch). */
    this.paused = false;
  }

  /** @param {boolean} paused */
  setPaused(paused) {
    this.paused = paused;
    this.wc?.setPaused(paused);
  }

  /** @override */
  resetMedia() {
    this.teardownMedia();
    const sink = new WebCodecsSink({
      canvas: this.canvas,
      video: this.video,
      renditions: this.renditionsById,
      onFirstFrame: () => this.maybeStart(),
      onError: (message) => this.cb.onFailure?.(message),
    });
    this.wc = sink;
    sink.setPaused(this.paused);
    // The WsPlayer's socket, resume and failover logic work on `sink` (push, appended, repeats, timeline).
    this.sink = /** @type {import('./media-sink.js').MediaSink} */ (/** @type {unknown} */ (sink));
  }

  /** @override */
  teardownMedia() {
    super.teardownMedia();
    this.wc = null;
  }

  /** @override */
  maybeStart() {
    const s = this.wc;
    if (this.started || !s || s.shownTime === null) return;
    this.started = true;
    this.playedOnce = true;
    this.startedAt = localNow();
    this.setStatus('live');
  }

  /** @override */
  latency() {
    const serverNow = this.clock.serverNow();
    const t = this.wc?.shownTime ?? null;
    if (!this.started || this.offline || serverNow === null || t === null) return null;
    const shown = this.wc?.timeline.ingressTimeAt(t) ?? null;
    return shown === null ? null : (serverNow - shown) / 1000;
  }

  /** @override @param {'video' | 'audio'} kind */
  mediaAheadMs(kind) {
    const s = this.wc;
    const now = s?.clock.time(localNow());
    const until = s?.decodedUntil[kind];
    if (!this.started || now === null || now === undefined || until === undefined || !Number.isFinite(until))
      return null;
    return (until - now) * 1000;
  }

  /** @override */
  quality() {
    const s = this.wc;
    const e = s && s.shownTime !== null ? s.timeline.at(s.shownTime) : null;
    return e ? e.rendition : (s?.appended.video ?? this.selected);
  }

  /** @override */
  tick() {
    if (this.closed) return;
    this.tickCount++;
    const s = this.wc;
    if (!this.started) {
      this.maybeStart();
      return;
    }
    this.checkSilence();
    // Paused: no picture is expected, so none is missed (no stall, no restart).
    if (!s || this.paused) return;
    s.steerAudio();
    if (this.tickCount % 8 === 0) s.trim(this.opts.keepBehindSeconds);
    const now = localNow();
    const showing = now - s.lastShownAt < STALL_MS;
    if (!showing && !this.offline && this.playedOnce && !this.inStall) {
      this.inStall = true;
      this.stalls++;
      if (this.choice === 'auto' && now - this.startedAt > this.opts.warmupMs)
        this.select(this.auto.onStall());
    } else if (showing) this.inStall = false;
    // Wedged: media arrives but nothing is shown for stuckMs.
    if (now - s.lastShownAt > this.opts.stuckMs && now - s.lastDataAt < 2000) {
      console.warn('tiercast: WebCodecs playback stuck while media arrives, restarting the player');
      this.restart();
      return;
    }
    if (this.choice === 'auto' && showing) this.select(this.auto.tick());
    const q = this.quality();
    if (q !== this.shownQuality) {
      this.shownQuality = q;
      this.cb.onQuality?.(q);
    }
    if (!this.offline && showing && this.ws) this.setStatus('live');
  }

  /** Numbers for tests and the bench. */
  webcodecsStats() {
    const s = this.wc;
    if (!s) return null;
    return {
      ...s.stats,
      jitterMs: s.jitter.jitterMs(),
      latenessMedianMs: s.jitter.quantile(0.5),
      latenessMinMs: s.jitter.quantile(0),
      // The buffer: how far behind the earliest-arriving chunk's time the clock plays.
      bufferMs: s.clock.offset === null ? null : s.clock.offset - (s.jitter.quantile(0) ?? 0),
      audioClock: s.clock.audioDriven(localNow()),
      audioLagMs: Math.round(s.clock.audioLag(localNow()) * 1000),
      audioState: s.audioCtx?.state ?? 'none',
      queuedFrames: s.frames.length,
    };
  }
}
