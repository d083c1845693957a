/**
 * Headless clients that record what they receive with arrival times, for glass-to-glass measured on the
 * pictures: afterwards the media is decoded (ffmpeg) and every frame's burned-in clock is compared with
 * the arrival of the chunk or fragment that made it decodable.
 */
import WebSocket from 'ws';
import { decodeFrame, FrameType } from '../../src/common/protocol/index.js';
import { boxes, decodeClocks, sampleCount } from './media-files.js';
import { nowMs, sleep } from './stats.js';
import { start, stop } from './procs.js';
import { readClockGray } from './clock-code.js';

export interface Unit {
  at: number;
  bytes: Buffer;
}

/** Frame latencies (ms) of a recorded fMP4 rendition: init + chunks with arrival times. */
export async function fmp4FrameLatencies(
  init: Buffer | undefined,
  units: Unit[],
  from: number,
  to: number,
): Promise<{ latencies: number[]; unreadable: number; mismatch: number }> {
  if (!init || units.length === 0) return { latencies: [], unreadable: 0, mismatch: 0 };
  const counts = units.map((u) => sampleCount(u.bytes));
  const clocks = await decodeClocks(Buffer.concat([init, ...units.map((u) => u.bytes)]), Date.now());
  const total = counts.reduce((a, b) => a + b, 0);
  const latencies: number[] = [];
  let unreadable = 0;
  let f = 0;
  for (let i = 0; i < units.length; i++) {
    const u = units[i]!;
    for (let k = 0; k < counts[i]! && f < clocks.length; k++, f++) {
      if (u.at < from || u.at > to) continue;
      const c = clocks[f];
      if (c === undefined) unreadable++;
      else latencies.push(u.at - c);
    }
  }
  return { latencies, unreadable, mismatch: total - clocks.length };
}

/** tiercast's WebSocket path as a headless viewer: keeps the video rendition's init and chunks. */
export class WsRecorder {
  private ws: WebSocket;
  init: Buffer | undefined;
  rendition: string | undefined;
  readonly units: Unit[] = [];
  constructor(url: string) {
    this.ws = new WebSocket(url, { perMessageDeflate: false });
    this.ws.on('message', (data: Buffer, isBinary: boolean) => {
      const at = nowMs();
      if (!isBinary) return;
      const f = decodeFrame(data);
      if (f.type === FrameType.INIT_SEGMENT && f.init.rendition !== 'a0') {
        if (this.rendition && this.rendition !== f.init.rendition) return;
        this.rendition = f.init.rendition;
        this.init = Buffer.from(f.init.data);
      } else if (f.type === FrameType.MEDIA_CHUNK && f.chunk.rendition === this.rendition) {
        this.units.push({ at, bytes: Buffer.from(f.chunk.payload) });
      }
    });
    this.ws.on('error', () => undefined);
  }
  close(): void {
    this.ws.terminate();
  }
}

/** tiercast's LL-DASH path as a headless client: segment after segment, each read chunk by chunk. */
export class DashRecorder {
  init: Buffer | undefined;
  readonly units: Unit[] = [];
  private alive = true;
  readonly done: Promise<void>;
  constructor(edgeUrl: string, stream: string, rendition: string) {
    this.done = this.loop(edgeUrl, stream, rendition).catch(() => undefined);
  }
  private async loop(edgeUrl: string, stream: string, rendition: string): Promise<void> {
    // The edge may not have the stream's MPD or init yet (it subscribes on the first request): retry.
    let mpd = '';
    let ast = NaN;
    while (this.alive && (!Number.isFinite(ast) || !this.init)) {
      mpd = await fetch(`${edgeUrl}/live/${stream}/manifest.mpd`)
        .then((r) => (r.ok ? r.text() : ''))
        .catch(() => '');
      ast = Date.parse(/availabilityStartTime="([^"]+)"/.exec(mpd)?.[1] ?? '');
      const init = await fetch(`${edgeUrl}/live/${stream}/${rendition}/init.mp4`).catch(() => undefined);
      if (init?.ok) this.init = Buffer.from(await init.arrayBuffer());
      else await init?.body?.cancel();
      if (!Number.isFinite(ast) || !this.init) await sleep(100);
    }
    const d = /<SegmentTemplate[^>]*timescale="(\d+)"[^>]*duration="(\d+)"/.exec(mpd);
    const segMs = d ? (Number(d[2]) / Number(d[1])) * 1000 : 1000;
    let n = Math.floor((Date.now() - ast) / segMs);
    while (this.alive) {
      const res = await fetch(`${edgeUrl}/live/${stream}/${rendition}/${n}.m4s`).catch(() => undefined);
      if (!res || !res.ok || !res.body) {
        await res?.body?.cancel();
        const cur = Math.floor((Date.now() - ast) / segMs);
        if (cur > n) n = cur;
        else await sleep(50);
        continue;
      }
      let pending: Buffer = Buffer.alloc(0);
      const reader = res.body.getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done || !this.alive) break;
        const at = nowMs();
        pending = Buffer.concat([pending, Buffer.from(value)]);
        // A chunk is complete when its mdat is: cut after the last complete mdat.
        let cut = 0;
        for (const [type, s, size] of boxes(pending)) if (type === 'mdat') cut = s + size;
        if (cut > 0) {
          this.units.push({ at, bytes: pending.subarray(0, cut) });
          pending = pending.subarray(cut);
        }
      }
      n++;
    }
  }
  close(): void {
    this.alive = false;
  }
}

/** The peer's HLS as a headless client: the playlist every 100 ms, each new fragment fetched at once. */
export class HlsRecorder {
  readonly units: Unit[] = [];
  private alive = true;
  readonly done: Promise<void>;
  constructor(baseUrl: string, stream: string) {
    this.done = this.loop(baseUrl, stream).catch(() => undefined);
  }
  private async loop(baseUrl: string, stream: string): Promise<void> {
    let next = -1;
    while (this.alive) {
      const r = await fetch(`${baseUrl}/hls/${stream}.m3u8`).catch(() => undefined);
      const text = r && r.ok ? await r.text() : '';
      const seq = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(text)?.[1] ?? NaN);
      const names = text.split('\n').filter((l) => l.endsWith('.ts'));
      if (Number.isFinite(seq) && names.length) {
        const last = seq + names.length - 1;
        if (next < 0) next = last;
        next = Math.max(next, seq);
        while (next <= last) {
          const s = await fetch(`${baseUrl}/hls/${names[next - seq]}`).catch(() => undefined);
          if (s?.ok) {
            const bytes = Buffer.from(await s.arrayBuffer());
            this.units.push({ at: nowMs(), bytes });
          }
          next++;
        }
      }
      await sleep(100);
    }
  }
  close(): void {
    this.alive = false;
  }
}

/** Frame latencies of HLS fragments: each fragment decoded on its own (nginx-rtmp cuts at keyframes). */
export async function tsFrameLatencies(
  units: Unit[],
  from: number,
  to: number,
): Promise<{ latencies: number[]; unreadable: number }> {
  const latencies: number[] = [];
  let unreadable = 0;
  const todo = units.filter((u) => u.at >= from && u.at <= to);
  // Four ffmpeg decodes at a time: one per fragment.
  let next = 0;
  const worker = async () => {
    while (next < todo.length) {
      const u = todo[next++]!;
      const clocks = await decodeClocks(u.bytes, Date.now());
      for (const c of clocks) {
        if (c === undefined) unreadable++;
        else latencies.push(u.at - c);
      }
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  return { latencies, unreadable };
}

/**
 * RTMP from nginx-rtmp decoded by ffmpeg in real time (one decoder thread, no input buffering): the
 * latency of each frame when ffmpeg hands it over decoded.
 */
export class RtmpReader {
  readonly samples: Array<[number, number]> = [];
  unreadable = 0;
  private readonly proc;
  constructor(url: string) {
    const W = 192;
    const H = 108;
    this.proc = start('ffmpeg', [
      '-hide_banner',
      '-loglevel',
      'error',
      '-nostdin',
      '-fflags',
      'nobuffer',
      '-flags',
      'low_delay',
      '-threads',
      '1',
      '-probesize',
      '32768',
      '-analyzeduration',
      '0',
      '-i',
      url,
      '-map',
      '0:v:0',
      '-fps_mode',
      'passthrough',
      '-vf',
      `scale=${W}:${H},format=gray`,
      '-f',
      'rawvideo',
      'pipe:1',
    ]);
    const size = W * H;
    let buf: Buffer = Buffer.alloc(0);
    this.proc.stdout!.on('data', (d: Buffer) => {
      const at = nowMs();
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      while (buf.length >= size) {
        const c = readClockGray(buf.subarray(0, size), W, H, Date.now());
        if (c === undefined) this.unreadable++;
        else this.samples.push([at, at - c]);
        buf = buf.subarray(size);
      }
    });
  }
  close(): Promise<void> {
    return stop(this.proc, 1000);
  }
}
