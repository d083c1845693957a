// AudioWorklet for the /broadcast page where MediaStreamTrackProcessor is missing (Firefox, Safari): passes the
// microphone's samples to the page in blocks of 960 frames (20 ms at 48 kHz), one Float32Array per channel,
// for an AudioEncoder. Runs in the AudioWorkletGlobalScope (its globals are declared in globals.d.ts).

const BLOCK = 960;

class CaptureProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    /** @type {Float32Array[]} */
    this.buffers = [];
    this.filled = 0;
  }

  /** @param {Float32Array[][]} inputs */
  process(inputs) {
    const input = inputs[0];
    if (!input || input.length === 0) return true;
    if (this.buffers.length !== input.length) {
      this.buffers = input.map(() => new Float32Array(BLOCK));
      this.filled = 0;
    }
    let at = 0;
    const frames = input[0]?.length ?? 0;
    while (at < frames) {
      const n = Math.min(BLOCK - this.filled, frames - at);
      input.forEach((ch, i) => this.buffers[i]?.set(ch.subarray(at, at + n), this.filled));
      this.filled += n;
      at += n;
      if (this.filled === BLOCK) {
        const out = this.buffers;
        this.port.postMessage(
          out,
          out.map((b) => b.buffer),
        );
        this.buffers = input.map(() => new Float32Array(BLOCK));
        this.filled = 0;
      }
    }
    return true;
  }
}

registerProcessor('tiercast-capture', CaptureProcessor);
