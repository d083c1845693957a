/**
 * The clock burned into every published frame: the wall-clock time (ms since the epoch, low 40 bits)
 * at which the publisher handed the frame to its encoder, as a band of black and white cells that
 * survive H.264 at 240p and every scaling of the ladder.
 *
 * Layout: the top BAND_FRACTION of the frame is a grid of COLS x ROWS cells. Cell 0 is always white and
 * cell 1 always black (a sanity check of the threshold), cells 2..41 carry the 40 time bits (MSB first),
 * cells 42..47 a 6-bit checksum. A reader samples the middle of each cell and thresholds at mid-grey;
 * a frame whose checksum or sync cells do not match is counted as unreadable, never guessed.
 *
 * The same decoder runs in Node (offline decoding of received media) and in the page (a canvas fed by
 * requestVideoFrameCallback): `decodeClockSource` is its source text for the page.
 */
export const COLS = 12;
export const ROWS = 4;
export const BAND_FRACTION = 0.4;
const TIME_BITS = 40;
const CHECK_BITS = 6;
const TIME_MOD = 2 ** TIME_BITS;

export function checksum(value: number): number {
  let sum = 0;
  let v = value;
  for (let i = 0; i < 5; i++) {
    sum += (v % 256) * (i + 1);
    v = Math.floor(v / 256);
  }
  return sum % 64;
}

/** The 48 cell values (true = white) for a time in ms. */
export function encodeCells(timeMs: number): boolean[] {
  const v = Math.floor(timeMs) % TIME_MOD;
  const cells: boolean[] = [true, false];
  for (let b = TIME_BITS - 1; b >= 0; b--) cells.push(Math.floor(v / 2 ** b) % 2 === 1);
  const c = checksum(v);
  for (let b = CHECK_BITS - 1; b >= 0; b--) cells.push(((c >> b) & 1) === 1);
  return cells;
}

/** Back to a full epoch time: the 40-bit value nearest `nearMs` (the reader's clock). */
export function decodeCells(cells: boolean[], nearMs: number): number | undefined {
  if (cells.length !== COLS * ROWS || !cells[0] || cells[1]) return undefined;
  let v = 0;
  for (let i = 0; i < TIME_BITS; i++) v = v * 2 + (cells[2 + i] ? 1 : 0);
  let c = 0;
  for (let i = 0; i < CHECK_BITS; i++) c = c * 2 + (cells[2 + TIME_BITS + i] ? 1 : 0);
  if (checksum(v) !== c) return undefined;
  const base = nearMs - (nearMs % TIME_MOD);
  let t = base + v;
  if (t - nearMs > TIME_MOD / 2) t -= TIME_MOD;
  if (nearMs - t > TIME_MOD / 2) t += TIME_MOD;
  return t;
}

/** Paints the band into the luma plane (and neutral chroma) of a yuv420p frame. */
export function paintClock(frame: Buffer, width: number, height: number, timeMs: number): void {
  const cells = encodeCells(timeMs);
  const bandH = Math.floor(height * BAND_FRACTION);
  const cellW = width / COLS;
  const cellH = bandH / ROWS;
  for (let y = 0; y < bandH; y++) {
    const row = Math.min(ROWS - 1, Math.floor(y / cellH));
    const off = y * width;
    for (let col = 0; col < COLS; col++) {
      const x0 = Math.round(col * cellW);
      const x1 = Math.round((col + 1) * cellW);
      frame.fill(cells[row * COLS + col] ? 235 : 16, off + x0, off + x1);
    }
  }
  const cw = width / 2;
  const uOff = width * height;
  const vOff = uOff + (width * height) / 4;
  frame.fill(128, uOff, uOff + (bandH / 2) * cw);
  frame.fill(128, vOff, vOff + (bandH / 2) * cw);
}

/** Reads a grey (one byte per pixel) frame of any size; undefined when unreadable. */
export function readClockGray(
  gray: Uint8Array,
  width: number,
  height: number,
  nearMs: number,
  stride = 1,
): number | undefined {
  const bandH = height * BAND_FRACTION;
  const cells: boolean[] = [];
  for (let row = 0; row < ROWS; row++) {
    for (let col = 0; col < COLS; col++) {
      const cx = Math.floor(((col + 0.5) * width) / COLS);
      const cy = Math.floor(((row + 0.5) * bandH) / ROWS);
      let sum = 0;
      let n = 0;
      for (let dy = -1; dy <= 1; dy++)
        for (let dx = -1; dx <= 1; dx++) {
          sum += gray[((cy + dy) * width + (cx + dx)) * stride] ?? 0;
          n++;
        }
      cells.push(sum / n > 128);
    }
  }
  return decodeCells(cells, nearMs);
}

/**
 * Installed into a page (playwright `evaluate`): every frame the <video> presents is drawn to a small
 * canvas, its clock read and compared with the page's clock at the frame's expected display time.
 * Also counts `waiting` events after playback first started (stalls) and gaps between presented frames.
 *
 * A page that draws its pictures on a canvas (the WebCodecs player's `canvas#picture`) has no frame
 * callback: the probe reads that canvas's pixels once per display frame, after the frame's animation
 * callbacks have run (a task queued from requestAnimationFrame), and takes a changed picture as shown at
 * that display frame's end (rAF time + one frame interval), when the compositor puts it on screen.
 */
export const pageProbeSource = `(() => {
  const COLS = ${COLS}, ROWS = ${ROWS}, BAND = ${BAND_FRACTION}, TIME_BITS = ${TIME_BITS}, CHECK_BITS = ${CHECK_BITS}, MOD = 2 ** ${TIME_BITS};
  function checksum(value) {
    let sum = 0, v = value;
    for (let i = 0; i < 5; i++) { sum += (v % 256) * (i + 1); v = Math.floor(v / 256); }
    return sum % 64;
  }
  function decodeCells(cells, nearMs) {
    if (!cells[0] || cells[1]) return undefined;
    let v = 0;
    for (let i = 0; i < TIME_BITS; i++) v = v * 2 + (cells[2 + i] ? 1 : 0);
    let c = 0;
    for (let i = 0; i < CHECK_BITS; i++) c = c * 2 + (cells[2 + TIME_BITS + i] ? 1 : 0);
    if (checksum(v) !== c) return undefined;
    let t = nearMs - (nearMs % MOD) + v;
    if (t - nearMs > MOD / 2) t -= MOD;
    if (nearMs - t > MOD / 2) t += MOD;
    return t;
  }
  const probe = { samples: [], unreadable: 0, stalls: [], firstFrameAt: null, playingAt: null, start: performance.timeOrigin + performance.now(), maxGapMs: 0, gaps: [] };
  window.__probe = probe;
  const canvas = document.createElement('canvas');
  canvas.width = 192; canvas.height = 108;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  let lastShown = null;
  function sample(source, shown) {
    ctx.drawImage(source, 0, 0, canvas.width, canvas.height);
    const d = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    const bandH = canvas.height * BAND;
    const cells = [];
    for (let row = 0; row < ROWS; row++) for (let col = 0; col < COLS; col++) {
      const cx = Math.floor(((col + 0.5) * canvas.width) / COLS), cy = Math.floor(((row + 0.5) * bandH) / ROWS);
      let s = 0;
      for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) s += d[((cy + dy) * canvas.width + cx + dx) * 4 + 1];
      cells.push(s / 9 > 128);
    }
    return decodeCells(cells, shown);
  }
  function record(painted, shown) {
    if (painted === undefined) probe.unreadable++;
    else probe.samples.push([shown, painted]);
    if (probe.firstFrameAt === null) probe.firstFrameAt = shown;
    if (lastShown !== null) {
      const gap = shown - lastShown;
      if (gap > probe.maxGapMs) probe.maxGapMs = gap;
      if (gap > 250) probe.gaps.push([lastShown, gap]);
    }
    lastShown = shown;
  }
  function attachCanvas(picture) {
    probe.surface = 'canvas';
    // previous: the clock last read (NaN while unreadable, undefined before the first readable picture).
    let previous;
    const onAnimationFrame = (t) => {
      requestAnimationFrame(onAnimationFrame);
      setTimeout(() => {
        if (picture.width === 0 || picture.hidden) return;
        try {
          const shown = performance.timeOrigin + t + 1000 / 60;
          const painted = sample(picture, shown);
          if (painted === undefined) {
            if (previous !== undefined && !Number.isNaN(previous)) record(undefined, shown);
            if (previous !== undefined) previous = NaN;
            return;
          }
          if (painted === previous) return;
          previous = painted;
          if (probe.playingAt === null) probe.playingAt = shown;
          record(painted, shown);
        } catch (e) { probe.error = String(e); }
      }, 0);
    };
    requestAnimationFrame(onAnimationFrame);
  }
  function attach(video) {
    video.addEventListener('playing', () => { if (probe.playingAt === null) probe.playingAt = performance.timeOrigin + performance.now(); });
    video.addEventListener('waiting', () => { if (probe.playingAt !== null) probe.stalls.push(performance.timeOrigin + performance.now()); });
    const onFrame = (now, meta) => {
      const shown = performance.timeOrigin + meta.expectedDisplayTime;
      try {
        record(sample(video, shown), shown);
      } catch (e) { probe.error = String(e); }
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  }
  const find = () => { const v = document.querySelector('video'); if (v) attach(v); else setTimeout(find, 20); };
  find();
  const findCanvas = () => { const c = document.getElementById('picture'); if (c instanceof HTMLCanvasElement) attachCanvas(c); else setTimeout(findCanvas, 20); };
  findCanvas();
})();`;
