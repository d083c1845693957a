/**
 * Light clients for the load generator: a WebSocket viewer and an HTTP/1.1 keep-alive client on raw TCP
 * sockets. They do what a player's network side does (handshake, read every byte, answer pings, follow
 * the live edge) and only look at the first bytes of each media message, so one process can stand in
 * for thousands of viewers without being the bottleneck.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { nowMs } from './stats.js';

/** Latency histogram at 0.1 ms resolution up to 30 s. */
export class Histogram {
  private readonly buckets = new Uint32Array(300_000);
  n = 0;
  add(ms: number): void {
    const i = Math.max(0, Math.min(this.buckets.length - 1, Math.round(ms * 10)));
    this.buckets[i]!++;
    this.n++;
  }
  percentile(p: number): number {
    if (this.n === 0) return NaN;
    const target = Math.ceil((p / 100) * this.n);
    let acc = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      acc += this.buckets[i]!;
      if (acc >= target) return i / 10;
    }
    return NaN;
  }
  reset(): void {
    this.buckets.fill(0);
    this.n = 0;
  }
}

export interface ViewerCounters {
  bytes: number;
  messages: number;
  chunks: number;
  /** Chunks missing in a rendition's sequence not announced by a "skipped" message. */
  gaps: number;
  /** "skipped" notices: the edge dropped the rest of a segment for this viewer. */
  skipped: number;
  closed: number;
  errors: number;
  latency: Histogram;
  /** Edge receipt (sentTime, rewritten by the edge's upstream client) to this viewer. */
  edgeLatency: Histogram;
}

export function newCounters(): ViewerCounters {
  return {
    bytes: 0,
    messages: 0,
    chunks: 0,
    gaps: 0,
    skipped: 0,
    closed: 0,
    errors: 0,
    latency: new Histogram(),
    edgeLatency: new Histogram(),
  };
}

export interface WsViewerOptions {
  host: string;
  port: number;
  path: string;
  counters: ViewerCounters;
  /** Bytes per second this viewer reads at most (a slow consumer); 0 = as fast as it comes. */
  readBytesPerSec: number;
  /** Measure latency of media chunks (off for the slow viewers themselves). */
  measure: boolean;
  onChunk?: (rendition: string, segment: number, chunk: number, at: number) => void;
}

/**
 * One read buffer for every viewer of the process (net's `onread`): a read is parsed where it arrives and
 * nothing keeps a reference to it, so there is no allocation and no stream 'data' event per read. At
 * thousands of viewers per process this is most of the generator's JavaScript cost.
 */
const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);

/** A WebSocket viewer on a raw socket (RFC 6455 client: masked pong/close, unmasked server frames). */
export class WsViewer {
  readonly socket: Socket;
  readonly opened: Promise<void>;
  private handshake: Buffer | undefined = Buffer.alloc(0);
  private hdr = Buffer.alloc(14);
  private hdrLen = 0;
  private remaining = -1;
  private op = 0;
  private capture = Buffer.alloc(0);
  private want = 0;
  private fill = 0;
  private readonly last = new Map<string, [number, number]>();
  private total = 0;
  private readonly t0 = performance.now();
  private resumeTimer: NodeJS.Timeout | undefined;
  private onData: (d: Buffer) => void = () => undefined;
  closed = false;
  /** Media chunks received since the owner last set this to 0. */
  chunksInWindow = 0;

  constructor(private readonly o: WsViewerOptions) {
    this.socket = connect({
      host: o.host,
      port: o.port,
      onread: {
        buffer: READ_BUFFER,
        callback: (n) => {
          this.onData(READ_BUFFER.subarray(0, n));
          return true;
        },
      },
    });
    this.socket.setNoDelay(true);
    this.opened = new Promise((resolve, reject) => {
      const key = randomBytes(16).toString('base64');
      this.socket.once('connect', () =>
        this.socket.write(
          `GET ${o.path} HTTP/1.1\r\nHost: ${o.host}:${o.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
        ),
      );
      this.onData = (d: Buffer) => {
        const at = nowMs();
        if (this.handshake) {
          const all = Buffer.concat([this.handshake, d]);
          const end = all.indexOf('\r\n\r\n');
          if (end < 0) {
            this.handshake = all;
            return;
          }
          this.handshake = undefined;
          if (!all.subarray(0, 12).toString().includes(' 101')) {
            reject(new Error(`upgrade refused: ${all.subarray(0, 80).toString()}`));
            this.socket.destroy();
            return;
          }
          resolve();
          d = all.subarray(end + 4);
          if (d.length === 0) return;
        }
        this.feed(d, at);
        this.throttle(d.length);
      };
      this.socket.on('error', (err) => {
        o.counters.errors++;
        reject(err);
      });
      this.socket.on('close', () => {
        if (!this.closed) o.counters.closed++;
        this.closed = true;
        clearTimeout(this.resumeTimer);
      });
    });
  }

  private throttle(n: number): void {
    const rate = this.o.readBytesPerSec;
    if (rate <= 0) return;
    this.total += n;
    const allowed = (rate * (performance.now() - this.t0)) / 1000 + 16 * 1024;
    if (this.total > allowed) {
      this.socket.pause();
      this.resumeTimer = setTimeout(() => this.socket.resume(), ((this.total - allowed) / rate) * 1000);
    }
  }

  private feed(d: Buffer, at: number): void {
    const c = this.o.counters;
    c.bytes += d.length;
    let o = 0;
    while (o < d.length) {
      if (this.remaining < 0) {
        while (o < d.length && this.hdrLen < 2) this.hdr[this.hdrLen++] = d[o++]!;
        if (this.hdrLen < 2) return;
        const len7 = this.hdr[1]! & 0x7f;
        const need = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0);
        while (o < d.length && this.hdrLen < need) this.hdr[this.hdrLen++] = d[o++]!;
        if (this.hdrLen < need) return;
        this.op = this.hdr[0]! & 0x0f;
        const len =
          len7 === 126 ? this.hdr.readUInt16BE(2) : len7 === 127 ? Number(this.hdr.readBigUInt64BE(2)) : len7;
        this.hdrLen = 0;
        this.remaining = len;
        this.want = this.op === 2 ? Math.min(len, 64) : Math.min(len, 1 << 20);
        this.capture = Buffer.allocUnsafe(this.want);
        this.fill = 0;
        if (len === 0) {
          this.message(at);
          continue;
        }
      }
      const take = Math.min(this.remaining, d.length - o);
      if (this.fill < this.want) {
        const n = Math.min(this.want - this.fill, take);
        d.copy(this.capture, this.fill, o, o + n);
        this.fill += n;
      }
      o += take;
      this.remaining -= take;
      if (this.remaining === 0) this.message(at);
    }
  }

  private message(at: number): void {
    this.remaining = -1;
    const c = this.o.counters;
    c.messages++;
    const b = this.capture;
    if (this.op === 2) {
      if (b.length < 4 || b[0] !== 0x54 || b[1] !== 0x43 || b[3] !== 6) return;
      let o = 4;
      const sl = b[o]!;
      o += 1 + sl;
      const rl = b[o]!;
      const rendition = b.toString('latin1', o + 1, o + 1 + rl);
      o += 1 + rl;
      if (o + 35 > b.length) return;
      const segment = b.readUInt32BE(o);
      const chunk = b.readUInt16BE(o + 4);
      const ingressTime = b.readDoubleBE(o + 19);
      const sentTime = b.readDoubleBE(o + 27);
      c.chunks++;
      this.chunksInWindow++;
      const prev = this.last.get(rendition);
      if (prev) {
        const next =
          (segment === prev[0] && chunk === prev[1] + 1) || (segment === prev[0] + 1 && chunk === 0);
        if (!next) c.gaps++;
      }
      this.last.set(rendition, [segment, chunk]);
      if (this.o.measure) {
        c.latency.add(at - ingressTime);
        c.edgeLatency.add(at - sentTime);
      }
      this.o.onChunk?.(rendition, segment, chunk, at);
    } else if (this.op === 1) {
      const text = b.toString('utf8');
      if (text.includes('"skipped"')) {
        c.skipped++;
        // The edge resumes every rendition at the next segment start.
        this.last.clear();
      } else if (text.includes('"info"')) this.last.clear();
    } else if (this.op === 9) {
      this.send(0xa, b);
    } else if (this.op === 8) {
      this.closed = true;
      c.closed++;
      this.socket.end();
    }
  }

  private send(op: number, payload: Buffer): void {
    if (payload.length > 125) return;
    const mask = randomBytes(4);
    const f = Buffer.allocUnsafe(6 + payload.length);
    f[0] = 0x80 | op;
    f[1] = 0x80 | payload.length;
    mask.copy(f, 2);
    for (let i = 0; i < payload.length; i++) f[6 + i] = payload[i]! ^ mask[i % 4]!;
    this.socket.write(f);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.resumeTimer);
    this.socket.destroy();
  }
}

export interface HttpResult {
  status: number;
  bytes: number;
  body?: Buffer;
  firstByteAt: number;
  doneAt: number;
}

/** One keep-alive HTTP/1.1 connection; requests run one after another. */
export class HttpConn {
  private socket: Socket | undefined;
  private pending:
    | {
        path: string;
        keepBody: boolean;
        progress?: (body: Buffer[]) => boolean;
        resolve: (r: HttpResult) => void;
        reject: (e: Error) => void;
      }
    | undefined;
  private head: Buffer = Buffer.alloc(0);
  private inBody = false;
  private status = 0;
  private length = -1;
  private chunked = false;
  private chunkState: 'size' | 'data' | 'crlf' | 'trailer' = 'size';
  private chunkLeft = 0;
  private line = '';
  private got = 0;
  private body: Buffer[] = [];
  private firstByteAt = 0;
  closed = false;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly counters: { bytes: number; errors: number },
  ) {}

  private ensure(): Socket {
    if (this.socket && !this.socket.destroyed) return this.socket;
    const s = connect({ host: this.host, port: this.port });
    s.setNoDelay(true);
    s.on('data', (d: Buffer) => this.onData(d));
    s.on('error', () => undefined);
    s.on('close', () => {
      if (this.socket === s) this.socket = undefined;
      const p = this.pending;
      this.pending = undefined;
      if (p) {
        this.counters.errors++;
        p.reject(new Error('connection closed'));
      }
    });
    this.socket = s;
    return s;
  }

  /** `progress` (with keepBody) sees the body so far; returning true ends the request there (and the connection). */
  get(path: string, keepBody = false, progress?: (body: Buffer[]) => boolean): Promise<HttpResult> {
    if (this.pending) return Promise.reject(new Error('request already pending'));
    if (this.closed) return Promise.reject(new Error('closed'));
    return new Promise((resolve, reject) => {
      this.pending = { path, keepBody, progress, resolve, reject };
      this.head = Buffer.alloc(0);
      this.inBody = false;
      this.body = [];
      this.got = 0;
      this.firstByteAt = 0;
      this.ensure().write(
        `GET ${path} HTTP/1.1\r\nHost: ${this.host}:${this.port}\r\nConnection: keep-alive\r\n\r\n`,
      );
    });
  }

  private onData(d: Buffer): void {
    this.counters.bytes += d.length;
    if (!this.pending) return;
    if (!this.firstByteAt) this.firstByteAt = nowMs();
    if (!this.inBody) {
      const all = this.head.length ? Buffer.concat([this.head, d]) : d;
      const end = all.indexOf('\r\n\r\n');
      if (end < 0) {
        this.head = all;
        return;
      }
      const headers = all.subarray(0, end).toString('latin1');
      this.status = Number(headers.slice(9, 12));
      const cl = /\r\ncontent-length:\s*(\d+)/i.exec(headers);
      this.length = cl ? Number(cl[1]) : -1;
      this.chunked = /\r\ntransfer-encoding:\s*chunked/i.test(headers);
      this.chunkState = 'size';
      this.line = '';
      this.inBody = true;
      d = all.subarray(end + 4);
      if (!this.chunked && this.length <= 0) return this.finish();
    }
    if (!this.chunked) {
      this.got += d.length;
      if (this.pending.keepBody) this.body.push(d);
      if (this.got >= this.length || this.early()) this.finish();
      return;
    }
    let o = 0;
    while (o < d.length && this.pending) {
      if (this.chunkState === 'size') {
        const nl = d.indexOf('\n', o);
        if (nl < 0) {
          this.line += d.toString('latin1', o);
          return;
        }
        this.line += d.toString('latin1', o, nl);
        o = nl + 1;
        const size = parseInt(this.line.trim(), 16);
        this.line = '';
        if (size === 0) this.chunkState = 'trailer';
        else {
          this.chunkLeft = size;
          this.chunkState = 'data';
        }
      } else if (this.chunkState === 'data') {
        const n = Math.min(this.chunkLeft, d.length - o);
        if (this.pending.keepBody) this.body.push(d.subarray(o, o + n));
        this.got += n;
        this.chunkLeft -= n;
        o += n;
        if (this.early()) {
          this.finish();
          this.socket?.destroy();
          return;
        }
        if (this.chunkLeft === 0) {
          this.chunkState = 'crlf';
          this.chunkLeft = 2;
        }
      } else if (this.chunkState === 'crlf') {
        const n = Math.min(this.chunkLeft, d.length - o);
        this.chunkLeft -= n;
        o += n;
        if (this.chunkLeft === 0) this.chunkState = 'size';
      } else {
        const nl = d.indexOf('\n', o);
        if (nl < 0) return;
        o = nl + 1;
        this.finish();
      }
    }
  }

  private early(): boolean {
    return this.pending?.progress !== undefined && this.pending.progress(this.body);
  }

  private finish(): void {
    const p = this.pending;
    if (!p) return;
    this.pending = undefined;
    this.inBody = false;
    p.resolve({
      status: this.status,
      bytes: this.got,
      body: p.keepBody ? Buffer.concat(this.body) : undefined,
      firstByteAt: this.firstByteAt,
      doneAt: nowMs(),
    });
  }

  close(): void {
    this.closed = true;
    this.socket?.destroy();
  }
}
