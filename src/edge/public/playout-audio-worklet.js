// AudioWorklet of the WebCodecs player (webcodecs-sink.js): a ring of decoded sample blocks played in order,
// the player's master clock. Every fourth render quantum it reports the media time of the sample it is
// playing, so the page shows the video frame of that time. The page can trim it (skip to a media time, when
// playback fell behind) or hold it (silence without consuming, when it got ahead). Runs in the
// AudioWorkletGlobalScope (its globals are declared in globals.d.ts).

/** @typedef {{ pts: number, channels: Float32Array[], pos: number }} Block */

class PlayoutProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    /** @type {Block[]} */
    this.queue = [];
    this.quanta = 0;
    /** Samples received and played (tests read them through the page), and times the ring ran dry. */
    this.received = 0;
    this.played = 0;
    this.underruns = 0;
    this.dry = true;
    /** Samples of silence still to play before consuming again (a hold). */
    this.holdFrames = 0;
    this.port.onmessage = (/** @type {MessageEvent<Record<string, unknown>>} */ e) => this.onMessage(e.data);
  }

  /** @param {Record<string, unknown>} m */
  onMessage(m) {
    if (m.type === 'samples' && typeof m.pts === 'number' && Array.isArray(m.channels)) {
      const channels = /** @type {Float32Array[]} */ (m.channels);
      this.queue.push({ pts: m.pts, channels, pos: 0 });
      this.received += channels[0]?.length ?? 0;
    } else if (m.type === 'skipTo' && typeof m.pts === 'number') {
      this.skipTo(m.pts);
    } else if (m.type === 'hold' && typeof m.seconds === 'number') {
      this.holdFrames = Math.round(m.seconds * sampleRate);
    } else if (m.type === 'clear') {
      this.queue = [];
    }
  }

  /** Drops samples before media time `pts`. @param {number} pts */
  skipTo(pts) {
    while (this.queue.length > 0) {
      const b = /** @type {Block} */ (this.queue[0]);
      const len = b.channels[0]?.length ?? 0;
      if (b.pts + len / sampleRate <= pts) {
        this.queue.shift();
        continue;
      }
      b.pos = Math.max(b.pos, Math.min(len, Math.floor((pts - b.pts) * sampleRate)));
      break;
    }
  }

  /** @param {Float32Array[][]} _inputs @param {Float32Array[][]} outputs */
  process(_inputs, outputs) {
    const out = outputs[0];
    if (!out || out.length === 0) return true;
    const n = out[0]?.length ?? 0;
    let written = 0;
    /** @type {number | null} */
    let pts = null;
    if (this.holdFrames > 0) {
      const k = Math.min(n, this.holdFrames);
      this.holdFrames -= k;
      written = k;
    }
    while (written < n && this.queue.length > 0) {
      const b = /** @type {Block} */ (this.queue[0]);
      const len = b.channels[0]?.length ?? 0;
      if (pts === null) pts = b.pts + (b.pos - written) / sampleRate;
      const k = Math.min(n - written, len - b.pos);
      out.forEach((ch, c) => {
        const src = b.channels[Math.min(c, b.channels.length - 1)];
        if (src) ch.set(src.subarray(b.pos, b.pos + k), written);
      });
      b.pos += k;
      written += k;
      this.played += k;
      if (b.pos >= len) this.queue.shift();
    }
    if (written < n && !this.dry && this.holdFrames === 0) this.underruns++;
    this.dry = written < n;
    if (++this.quanta % 4 === 0) {
      const queued = this.queue.reduce((s, b) => s + (b.channels[0]?.length ?? 0) - b.pos, 0);
      this.port.postMessage({
        type: 'position',
        pts,
        received: this.received,
        played: this.played,
        underruns: this.underruns,
        queued: queued / sampleRate,
      });
    }
    return true;
  }
}

registerProcessor('tiercast-playout', PlayoutProcessor);
