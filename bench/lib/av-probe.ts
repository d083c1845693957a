/**
 * The clock in the sound, for the audio/video sync row of the glass-to-glass bench (issue 12).
 *
 * The publisher (publisher-worker.ts) plays silence and a 1 kHz tone burst whose first sample stands for
 * each whole second of wall-clock time (`ClockTone`). The page hears the bursts (`avProbeSource`, an init
 * script) and says when each one left the speaker; `matchBursts` pairs each with the whole second it
 * stands for and with the picture of that second read off the pixels by the picture probe (clock-code.ts).
 */
import { percentile } from './stats.js';

export const BURST_HZ = 1000;
export const BURST_MS = 40;
/** Peak of the burst (full scale 1): loud and clear of the threshold after two AAC encodes. */
const BURST_LEVEL = 0.5;
/** What the page counts as sound: well under the burst, far over AAC's noise around silence. */
const ONSET_LEVEL = 0.1;
/** Quiet before an onset counts as one: longer than a burst, shorter than the gap between two. */
const QUIET_MS = 300;

/**
 * Makes the publisher's audio, one frame interval at a time: `next(atMs, n)` gives the `n` samples (s16le
 * mono) whose first stands for wall-clock time `atMs`; a burst starts at the first sample at or after a
 * whole second, with no ramp, so that its onset is sharp.
 */
export class ClockTone {
  private readonly burstSamples: number;
  /** Samples of the current burst played so far (undefined: no burst under way). */
  private inBurst: number | undefined;
  /** The last whole second (ms) given a burst. */
  lastSecondMs: number;

  constructor(
    private readonly rate: number,
    startMs: number,
  ) {
    this.burstSamples = Math.round((rate * BURST_MS) / 1000);
    this.lastSecondMs = Math.floor(startMs / 1000) * 1000;
  }

  /** The samples, and the whole second (ms) whose burst starts in them, if one does. */
  next(atMs: number, n: number): { pcm: Buffer; onsetSecondMs?: number } {
    const pcm = Buffer.alloc(n * 2);
    let onsetSecondMs: number | undefined;
    for (let i = 0; i < n; i++) {
      const w = atMs + (i * 1000) / this.rate;
      const second = Math.floor(w / 1000) * 1000;
      if (second > this.lastSecondMs && w - second < BURST_MS) {
        this.lastSecondMs = second;
        this.inBurst = 0;
        onsetSecondMs = second;
      }
      if (this.inBurst === undefined) continue;
      const v = BURST_LEVEL * Math.sin((2 * Math.PI * BURST_HZ * this.inBurst) / this.rate);
      pcm.writeInt16LE(Math.round(v * 32767), i * 2);
      if (++this.inBurst >= this.burstSamples) this.inBurst = undefined;
    }
    return { pcm, onsetSecondMs };
  }
}

/** One burst heard by the page: when it left the speaker (epoch ms) and how that was worked out. */
export interface Onset {
  /** Epoch ms: the onset sample's context time mapped through getOutputTimestamp(). */
  heard: number;
  /** 'context': tapped from an AudioContext's destination (the WebCodecs player); 'element': a <video>'s captureStream(). */
  via: 'context' | 'element';
  /** AudioContext.outputLatency and baseLatency (ms) at the time. */
  outputLatencyMs: number;
  baseLatencyMs: number;
  /** currentTime − getOutputTimestamp().contextTime (ms): how far ahead of the speaker rendering runs. */
  renderAheadMs: number;
  /** Epoch ms, roughly: when the onset sample was rendered (the main thread's clock, quantum-coarse). */
  renderedAt: number;
}

export interface AvProbeData {
  onsets: Onset[];
  errors: string[];
}

/** The detector AudioWorklet: posts the context frame of each onset. */
const workletSource = `const QUIET = Math.round(sampleRate * ${QUIET_MS} / 1000);
class Onsets extends AudioWorkletProcessor {
  constructor() { super(); this.quiet = 0; }
  process(inputs) {
    const input = inputs[0];
    if (!input || input.length === 0) return true;
    const n = input[0].length;
    for (let i = 0; i < n; i++) {
      let x = 0;
      for (const c of input) x += c[i];
      if (Math.abs(x / input.length) > ${ONSET_LEVEL}) {
        if (this.quiet >= QUIET) this.port.postMessage(currentFrame + i);
        this.quiet = 0;
      } else this.quiet++;
    }
    return true;
  }
}
registerProcessor('tiercast-bench-onsets', Onsets);`;

/**
 * Installed into a page before its scripts run, in a browser context that bypasses the page's content
 * security policy (the detector is a blob: module; a worklet's fetch cannot be routed). Taps the page's sound from outside the player:
 *  - every connection to an AudioContext's destination (AudioNode.prototype.connect wrapped) also feeds a
 *    detector AudioWorklet in that same context: the WebCodecs player's own output;
 *  - a <video> with an audio track: its captureStream() into a detector in a context of the probe's own.
 * The <video> is unmuted (the page starts muted; the WebCodecs player takes its gain from it).
 *
 * The detector reports the context frame of each onset (first sample over ONSET_LEVEL after QUIET_MS of
 * quiet); getOutputTimestamp() maps context time to the performance time at which that sample is played
 * out, so `heard` is the moment the burst leaves the speaker, whatever the output's buffering.
 */
export const avProbeSource = `(() => {
  const probe = { onsets: [], errors: [] };
  window.__avProbe = probe;
  const connect = AudioNode.prototype.connect;
  const detectors = new WeakMap();
  function detector(ctx, via) {
    let d = detectors.get(ctx);
    if (d) return d;
    const url = URL.createObjectURL(new Blob([${JSON.stringify(workletSource)}], { type: 'text/javascript' }));
    d = ctx.audioWorklet.addModule(url).then(() => {
      const node = new AudioWorkletNode(ctx, 'tiercast-bench-onsets', { numberOfInputs: 1, numberOfOutputs: 0 });
      node.port.onmessage = (e) => {
        const ts = ctx.getOutputTimestamp();
        const at = e.data / ctx.sampleRate;
        probe.onsets.push({
          heard: performance.timeOrigin + ts.performanceTime + (at - ts.contextTime) * 1000,
          via,
          outputLatencyMs: (ctx.outputLatency || 0) * 1000,
          baseLatencyMs: (ctx.baseLatency || 0) * 1000,
          renderAheadMs: (ctx.currentTime - ts.contextTime) * 1000,
          renderedAt: performance.timeOrigin + performance.now() + (at - ctx.currentTime) * 1000,
        });
      };
      return node;
    });
    d.catch((e) => probe.errors.push(String(e)));
    detectors.set(ctx, d);
    return d;
  }
  const tapped = new WeakSet();
  AudioNode.prototype.connect = function (dest, ...rest) {
    const r = connect.call(this, dest, ...rest);
    if (dest instanceof AudioDestinationNode && !tapped.has(this)) {
      tapped.add(this);
      detector(this.context, 'context').then((node) => connect.call(this, node), () => undefined);
    }
    return r;
  };
  function attach(video) {
    const unmute = () => { if (video.muted) video.muted = false; video.volume = 1; };
    unmute();
    video.addEventListener('playing', unmute);
    let ctx = null;
    const listen = (track) => {
      if (track.kind !== 'audio' || ctx) return;
      ctx = new AudioContext({ latencyHint: 'interactive' });
      const src = ctx.createMediaStreamSource(new MediaStream([track]));
      detector(ctx, 'element').then((node) => connect.call(src, node), () => undefined);
    };
    const open = () => {
      if (!video.src && !video.srcObject) return setTimeout(open, 100);
      try {
        const stream = video.captureStream();
        stream.getAudioTracks().forEach(listen);
        stream.addEventListener('addtrack', (e) => listen(e.track));
      } catch (e) { probe.errors.push(String(e)); }
    };
    open();
  }
  const find = () => { const v = document.querySelector('video'); if (v) attach(v); else setTimeout(find, 20); };
  find();
})();`;

export interface AvResult {
  /** Sound glass-to-glass − picture glass-to-glass per matched burst (ms; positive: the sound is late). */
  offsets: number[];
  /** Bursts heard in the window, those matched with a picture of their second, and those left out. */
  heard: number;
  matched: number;
  skipped: number;
  via: string;
  /** Medians over the window (ms) of the context's latencies, for the notes. */
  outputLatencyMs: number;
  renderAheadMs: number;
}

/**
 * Pairs each burst heard in [from, to] with its whole second S (the second nearest heard − the picture's
 * latency then: sound and picture are assumed within half a second of each other) and with the first
 * picture shown that was painted at or after S (within `maxAfterMs`):
 * offset = (heard − S) − (shown − painted). Seconds in `skip` (the publisher's sound and picture were
 * out of step then) are left out.
 */
export function matchBursts(
  onsets: readonly Onset[],
  samples: ReadonlyArray<[number, number]>,
  from: number,
  to: number,
  skip: ReadonlySet<number> = new Set(),
  maxAfterMs = 100,
): AvResult {
  const inWindow = onsets.filter((o) => o.heard >= from && o.heard <= to);
  const byPainted = [...samples].sort((a, b) => a[1] - b[1]);
  const offsets: number[] = [];
  const seen = new Set<number>();
  let skipped = 0;
  for (const o of inWindow) {
    const near = samples.filter(([shown]) => Math.abs(shown - o.heard) <= 1000).map(([sh, p]) => sh - p);
    if (near.length === 0) continue;
    const second = Math.round((o.heard - percentile(near, 50)) / 1000) * 1000;
    if (seen.has(second)) continue;
    if (skip.has(second)) {
      seen.add(second);
      skipped++;
      continue;
    }
    const frame = byPainted.find(([, painted]) => painted >= second);
    if (!frame || frame[1] - second > maxAfterMs) continue;
    seen.add(second);
    offsets.push(o.heard - second - (frame[0] - frame[1]));
  }
  const med = (v: number[]) => (v.length ? percentile(v, 50) : NaN);
  return {
    offsets,
    heard: inWindow.length,
    matched: offsets.length,
    skipped,
    via: [...new Set(inWindow.map((o) => o.via))].join('+') || 'none',
    outputLatencyMs: med(inWindow.map((o) => o.outputLatencyMs)),
    renderAheadMs: med(inWindow.map((o) => o.renderAheadMs)),
  };
}
