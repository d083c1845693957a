/**
 * Going live from a browser, the two ways in, side by side in one run: glass-to-glass from the publishing
 * page to a headless WebSocket viewer at an edge.
 *  - the /broadcast page's own path: WebCodecs H.264 + Opus over a WebSocket to the ingress (`/publish/ws`),
 *    the page driven as a streamer would (key, Start) with its camera and microphone replaced;
 *  - WHIP: Chromium's RTCPeerConnection, its offer POSTed to the ingress's `/whip` (werift on the server).
 * The "camera" is a 640x360 canvas (captureStream(30)) into which the page paints its wall-clock time as
 * the clock cells of clock-code.ts on every animation frame; the "microphone" an oscillator. One path after
 * the other on the same ingress + edge (ladder v360), each with a warm-up and then a measured window; the
 * recordings are decoded afterwards (fmp4FrameLatencies), so the decoding does not load the live runs.
 */
import type { Browser, Page } from 'playwright-core';
import type { BenchContext } from './lib/context.js';
import { launchChromium } from './lib/browser.js';
import { BAND_FRACTION, COLS, encodeCells, ROWS } from './lib/clock-code.js';
import { freePort } from './lib/peer.js';
import { onCleanup } from './lib/procs.js';
import { fmp4FrameLatencies, WsRecorder } from './lib/recorders.js';
import type { Row, SectionResult } from './lib/report.js';
import { fmt, nowMs, sleep, summarize, type Summary } from './lib/stats.js';
import { startEdgeProc, startIngressProc, STREAM, STREAM_KEY } from './lib/tiercast.js';

const PICTURE = { width: 640, height: 360, fps: 30 };
/** WHIP's sender is capped at the /broadcast page's own rate for 640x360 (broadcast-rules.js videoBitrateFor). */
const VIDEO_BPS = Math.max(500_000, Math.round(PICTURE.width * PICTURE.height * PICTURE.fps * 0.1));
/** One rung at the source's height: the transcode is the same for both paths and cheap next to Chromium. */
const LADDER = [{ id: 'v360', height: 360, videoBitrateKbps: 700 }];

/**
 * Page script (addInitScript): the clock canvas and the oscillator, and getUserMedia / getDisplayMedia
 * answering with them. `window.__clockCells` is the cell pattern, checked against encodeCells from Node.
 */
const clockPageSource = (textured: boolean) => `(() => {
  const TEXTURED = ${textured};
  const COLS = ${COLS}, ROWS = ${ROWS}, BAND = ${BAND_FRACTION}, W = ${PICTURE.width}, H = ${PICTURE.height}, FPS = ${PICTURE.fps};
  const MOD = 2 ** 40;
  function checksum(value) {
    let sum = 0, v = value;
    for (let i = 0; i < 5; i++) { sum += (v % 256) * (i + 1); v = Math.floor(v / 256); }
    return sum % 64;
  }
  function cells(timeMs) {
    const v = Math.floor(timeMs) % MOD;
    const out = [true, false];
    for (let b = 39; b >= 0; b--) out.push(Math.floor(v / 2 ** b) % 2 === 1);
    const c = checksum(v);
    for (let b = 5; b >= 0; b--) out.push(((c >> b) & 1) === 1);
    return out;
  }
  window.__clockCells = cells;
  const state = { painted: 0 };
  window.__clock = state;
  let canvas = null, audioTrack = null;
  const noiseCanvas = document.createElement('canvas');
  noiseCanvas.width = 32; noiseCanvas.height = 9;
  const noiseCtx = noiseCanvas.getContext('2d');
  const noise = noiseCtx.createImageData(noiseCanvas.width, noiseCanvas.height);
  function paint() {
    const g = canvas.getContext('2d');
    // The time the picture is made, as the publisher-worker's "handed to the encoder".
    const t = performance.timeOrigin + performance.now();
    const cs = cells(t);
    const bandH = Math.floor(H * BAND), cw = W / COLS, ch = bandH / ROWS;
    // Below the band a moving square and a patch of random 8x8 blocks, new in every picture: about what a
    // camera gives the encoders (all noise would be far harder; a flat picture costs them nothing).
    g.fillStyle = '#234';
    g.fillRect(0, bandH, W, H - bandH);
    g.fillStyle = '#d84';
    g.fillRect(Math.round((t / 8) % (W - 80)), bandH + 120, 80, 80);
    if (TEXTURED) {
      const d = noise.data;
      for (let i = 0; i < d.length; i += 4) { d[i] = Math.random() * 256; d[i + 1] = Math.random() * 256; d[i + 2] = Math.random() * 256; d[i + 3] = 255; }
      noiseCtx.putImageData(noise, 0, 0);
      g.imageSmoothingEnabled = false;
      g.drawImage(noiseCanvas, 16, bandH + 16, noiseCanvas.width * 8, noiseCanvas.height * 8);
    }
    for (let row = 0; row < ROWS; row++) for (let col = 0; col < COLS; col++) {
      const x0 = Math.round(col * cw), x1 = Math.round((col + 1) * cw);
      const y0 = Math.round(row * ch), y1 = Math.round((row + 1) * ch);
      g.fillStyle = cs[row * COLS + col] ? '#fff' : '#000';
      g.fillRect(x0, y0, x1 - x0, y1 - y0);
    }
    state.painted++;
  }
  function videoTrack() {
    if (!canvas) {
      canvas = document.createElement('canvas');
      canvas.width = W; canvas.height = H;
      // In the document (a corner of it) so that it is painted and captured like any visible canvas.
      canvas.style.cssText = 'position:fixed;right:0;bottom:0;width:160px;height:90px;z-index:9999';
      document.documentElement.appendChild(canvas);
      const loop = () => { paint(); requestAnimationFrame(loop); };
      loop();
    }
    return canvas.captureStream(FPS).getVideoTracks()[0];
  }
  function micTrack() {
    if (!audioTrack) {
      const ctx = new AudioContext({ sampleRate: 48000 });
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      gain.gain.value = 0.1;
      const dest = ctx.createMediaStreamDestination();
      osc.connect(gain).connect(dest);
      osc.start();
      void ctx.resume();
      audioTrack = dest.stream.getAudioTracks()[0];
    }
    return audioTrack.clone();
  }
  window.__clockStream = () => new MediaStream([videoTrack(), micTrack()]);
  const md = navigator.mediaDevices;
  if (md) {
    md.getUserMedia = async (c) => {
      const tracks = [];
      if (c && c.video) tracks.push(videoTrack());
      if (c && c.audio) tracks.push(micTrack());
      return new MediaStream(tracks);
    };
    md.getDisplayMedia = async () => new MediaStream([videoTrack()]);
  }
})();`;

/** The WHIP client (as in test/browser/whip-ingest.test.ts), on the clock stream, video capped at VIDEO_BPS. */
const whipScript = (whipUrl: string, key: string) => `(async () => {
  const media = window.__clockStream();
  const pc = new RTCPeerConnection();
  for (const track of media.getTracks()) {
    const init = { direction: 'sendonly', streams: [media] };
    if (track.kind === 'video') init.sendEncodings = [{ maxBitrate: ${VIDEO_BPS}, maxFramerate: ${PICTURE.fps} }];
    pc.addTransceiver(track, init);
  }
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((resolve) => {
    if (pc.iceGatheringState === 'complete') return resolve();
    pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && resolve());
  });
  const r = await fetch(${JSON.stringify(whipUrl)}, {
    method: 'POST',
    headers: { 'Content-Type': 'application/sdp', Authorization: 'Bearer ' + ${JSON.stringify(key)} },
    body: pc.localDescription.sdp,
  });
  const answer = await r.text();
  if (r.status !== 201) { pc.close(); return { status: r.status, location: null, answer }; }
  await pc.setRemoteDescription({ type: 'answer', sdp: answer });
  window.whipPc = pc;
  return { status: r.status, location: r.headers.get('Location'), answer: '' };
})()`;

/** What Chromium's WebRTC sender says it did (outbound-rtp, video). */
const whipStatsScript = `(async () => {
  const stats = await window.whipPc.getStats();
  let out = null, bwe = null;
  for (const s of stats.values()) {
    if (s.type === 'outbound-rtp' && s.kind === 'video')
      out = { frames: s.framesEncoded, width: s.frameWidth, height: s.frameHeight, limit: s.qualityLimitationReason, kbps: Math.round((s.bytesSent * 8) / 1000), target: s.targetBitrate };
    if (s.type === 'candidate-pair' && s.nominated && s.availableOutgoingBitrate !== undefined) bwe = s.availableOutgoingBitrate;
  }
  return out && { ...out, bwe };
})()`;

interface PathResult {
  label: string;
  latencies: number[];
  unreadable: number;
  mismatch: number;
  chunks: number;
  rendition: string | undefined;
  publisher: string;
}

async function waitFor<T>(what: string, fn: () => Promise<T | false>, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== false) return v;
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
    await sleep(200);
  }
}

/** Is the stream in the edge's list (live through the tree)? */
async function listed(edgeUrl: string): Promise<boolean | undefined> {
  try {
    const list = (await (await fetch(`${edgeUrl}/api/streams`)).json()) as Array<{ name: string }>;
    return list.some((s) => s.name === STREAM);
  } catch {
    return undefined;
  }
}

/** The page's cells for a few times are exactly encodeCells's: otherwise every frame would be unreadable. */
async function checkClockPage(page: Page): Promise<void> {
  for (const t of [Date.now(), 1_234_567_890_123, Date.now() + 987_654]) {
    const got = await page.evaluate<boolean[]>(`window.__clockCells(${t})`);
    if (JSON.stringify(got) !== JSON.stringify(encodeCells(t)))
      throw new Error(`the page's clock cells for ${t} are not encodeCells's`);
  }
}

/** Records the live stream at the edge for warm-up + window; keeps the units that arrived in the window. */
async function record(
  edgeUrl: string,
  label: string,
  timing: { warmup: number; window: number },
): Promise<{ rec: WsRecorder; from: number; to: number }> {
  const rec = new WsRecorder(`${edgeUrl.replace('http', 'ws')}/live/${STREAM}/ws`);
  const from = nowMs() + timing.warmup;
  await sleep(timing.warmup + timing.window);
  const to = nowMs();
  rec.close();
  if (!rec.init || rec.units.length === 0) throw new Error(`${label}: the headless viewer received nothing`);
  return { rec, from, to };
}

async function viaBroadcastPage(
  ctx: BenchContext,
  textured: boolean,
  browser: Browser,
  edgeUrl: string,
  timing: { warmup: number; window: number },
) {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.addInitScript(clockPageSource(textured));
    await page.goto(`${edgeUrl}/broadcast`);
    await checkClockPage(page);
    await page.fill('#stream-key', STREAM_KEY);
    await page.selectOption('#video-source', 'camera');
    await page.click('#start');
    await waitFor(
      'the /broadcast page to say Live',
      async () => {
        const error = (await page.textContent('#error'))?.trim();
        if (error) throw new Error(`the /broadcast page says: ${error} (${errors.join('; ')})`);
        return (await page.textContent('#status')) === 'Live';
      },
      30_000,
    );
    await waitFor('the stream on the edge', async () => (await listed(edgeUrl)) === true, 30_000);
    ctx.log('ingest: /broadcast page live');
    const r = await record(edgeUrl, 'WebSocket ingest', timing);
    const dropped = await page.textContent('#health-dropped');
    const sent = await page.textContent('#health-bitrate');
    const painted = await page.evaluate<number>('window.__clock.painted');
    const audioNote = await page.isVisible('#audio-note');
    await page.click('#start'); // Stop broadcast
    await waitFor('the stream to end on the edge', async () => (await listed(edgeUrl)) === false, 30_000);
    return {
      ...r,
      publisher: `page painted ${painted} pictures; its health panel at the end: outgoing ${sent}, ${dropped} frames dropped${audioNote ? ', audio refused by the ingress' : ', with Opus audio'}`,
    };
  } finally {
    await context.close();
  }
}

async function viaWhip(
  ctx: BenchContext,
  textured: boolean,
  browser: Browser,
  ingressHttp: string,
  edgeUrl: string,
  timing: { warmup: number; window: number },
) {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.addInitScript(clockPageSource(textured));
    // A page of another origin without a CSP (as a WHIP client on another site would be).
    await page.goto(`${edgeUrl}/healthz`);
    await checkClockPage(page);
    // The first publish may still be winding down at the ingress: 409 until it has.
    const res = await waitFor(
      'the WHIP POST to be accepted',
      async () => {
        const r = await page.evaluate<{ status: number; location: string | null; answer: string }>(
          whipScript(`${ingressHttp}/whip`, STREAM_KEY),
        );
        if (r.status === 409) return false;
        if (r.status !== 201) throw new Error(`WHIP POST answered ${r.status}: ${r.answer}`);
        return r;
      },
      15_000,
    );
    await waitFor(
      'the WHIP peer connection to connect',
      async () => (await page.evaluate<boolean>('window.whipPc.connectionState === "connected"')) || false,
      15_000,
    );
    await waitFor('the stream on the edge', async () => (await listed(edgeUrl)) === true, 30_000);
    ctx.log('ingest: WHIP live');
    const r = await record(edgeUrl, 'WHIP', timing);
    const st = await page.evaluate<{
      frames: number;
      width: number;
      height: number;
      limit: string;
      kbps: number;
      target: number | undefined;
      bwe: number | null;
    } | null>(whipStatsScript);
    const painted = await page.evaluate<number>('window.__clock.painted');
    await page.evaluate(`fetch(${JSON.stringify(ingressHttp + res.location!)}, { method: 'DELETE' })`);
    await waitFor('the stream to end on the edge', async () => (await listed(edgeUrl)) === false, 30_000);
    return {
      ...r,
      publisher: st
        ? `page painted ${painted} pictures; Chromium's WebRTC encoded ${st.frames} frames, ${st.width}x${st.height} at the end, quality limitation "${st.limit}", target ${fmt((st.target ?? NaN) / 1000)} kbit/s, estimated available ${fmt((st.bwe ?? NaN) / 1000)} kbit/s, ${fmt(st.kbps / 1000, 1)} Mbit sent in all`
        : `page painted ${painted} pictures; no outbound-rtp stats`,
    };
  } finally {
    await context.close();
  }
}

const s = (v: Summary) => `${fmt(v.p50 / 1000, 3)} s · ${fmt(v.p95 / 1000, 3)} s`;

export async function browserIngest(ctx: BenchContext): Promise<Omit<SectionResult, 'seconds'>> {
  const timing = { warmup: ctx.pick(8, 3) * 1000, window: ctx.pick(30, 3) * 1000 };
  const port = await freePort();
  const [ingress, edge] = await Promise.all([
    startIngressProc({ ladder: LADDER, port }),
    startEdgeProc(`ws://127.0.0.1:${port}`, {
      broadcast: { ingestUrl: `ws://127.0.0.1:${port}/publish/ws` },
    }),
  ]);
  onCleanup(() => edge.close());
  onCleanup(() => ingress.close());
  // Chromium leaves loopback out of ICE unless told (everything here is on 127.0.0.1).
  const browser = await launchChromium(['--allow-loopback-in-peer-connection']);
  onCleanup(() => browser.close());

  // Camera-like first (the row that counts), then a flat picture: the paths' own latency, encoders idle.
  const recorded: Array<[string, boolean, Awaited<ReturnType<typeof viaWhip>>]> = [];
  const whipUrl = `http://127.0.0.1:${ingress.port}`;
  for (const textured of [true, false]) {
    const pic = textured ? 'camera-like picture' : 'flat picture';
    recorded.push([
      `WebSocket ingest (WebCodecs), ${pic}`,
      textured,
      await viaBroadcastPage(ctx, textured, browser, edge.url, timing),
    ]);
    recorded.push([
      `WHIP, ${pic}`,
      textured,
      await viaWhip(ctx, textured, browser, whipUrl, edge.url, timing),
    ]);
  }
  await browser.close();

  const paths: Array<PathResult & { textured: boolean }> = [];
  for (const [label, textured, r] of recorded) {
    const d = await fmp4FrameLatencies(r.rec.init, r.rec.units, r.from, r.to);
    paths.push({
      label,
      textured,
      ...d,
      chunks: r.rec.units.filter((u) => u.at >= r.from && u.at <= r.to).length,
      rendition: r.rec.rendition,
      publisher: r.publisher,
    });
  }
  const [ws, whip, wsFlat, whipFlat] = paths.map((p) => summarize(p.latencies)) as [
    Summary,
    Summary,
    Summary,
    Summary,
  ];
  const rows: Row[] = [
    {
      section: 'glass-to-glass',
      what: '(a) browser publish → decodable by a headless WebSocket viewer, WebSocket ingest (WebCodecs) / WHIP p50 · p95',
      tiercast: `${s(ws)} / ${s(whip)}`,
      peer: 'n/a',
      target: '',
    },
    {
      section: 'glass-to-glass',
      what: '(a) the same with a flat picture (encoders nearly idle): WebSocket ingest / WHIP p50 · p95',
      tiercast: `${s(wsFlat)} / ${s(whipFlat)}`,
      peer: 'n/a',
      target: '',
    },
  ];
  const notes = paths.map(
    (p) =>
      `${p.label}: ${p.latencies.length} frames read in the ${timing.window / 1000} s window (${fmt(p.latencies.length / (timing.window / 1000), 1)} fps; ${p.chunks} chunks of ${p.rendition ?? '?'}), ` +
      `${p.unreadable} unreadable, ${p.mismatch} samples not decoded; p50 ${fmt(summarize(p.latencies).p50)} ms, p95 ${fmt(summarize(p.latencies).p95)} ms, max ${fmt(summarize(p.latencies).max)} ms; ${p.publisher}.`,
  );
  notes.push(
    `The /broadcast page uses the WebSocket ingest (WebCodecs H.264, a keyframe every 2 s, + Opus over /publish/ws); WHIP is for OBS and other WHIP clients. ` +
      `Publisher: a ${PICTURE.width}x${PICTURE.height} canvas, captureStream(${PICTURE.fps}), painted with the wall clock on every animation frame, plus an oscillator; ` +
      `camera-like: below the band a moving square and 256x72 px of random 8x8 blocks, new in every picture (the page's encoder then sends about 0.8 Mbit/s); flat: the square alone. ` +
      `The page's encoder runs at its own rate for that size (${fmt(VIDEO_BPS / 1e6, 2)} Mbit/s), WHIP is capped at the same; ingress ladder ${LADDER.map((r) => r.id).join(' + ')} at the default preset; ` +
      `${timing.warmup / 1000} s warm-up then ${timing.window / 1000} s measured per run, one after the other on the same ingress and edge, in the same Chromium.`,
  );
  return { name: 'ingest', rows, notes, plots: [] };
}
