/** A WebSocket viewer for tests: records what the edge pushes and checks continuity per rendition. */
import WebSocket from 'ws';
import { ChunkFlags } from '../../src/common/media.js';
import { decodeFrame, FrameType } from '../../src/common/protocol/index.js';

export interface Received {
  rendition: string;
  segment: number;
  chunk: number;
  flags: number;
  ingressTime: number;
  at: number;
}

export class TestViewer {
  readonly ws: WebSocket;
  readonly chunks: Received[] = [];
  readonly inits: string[] = [];
  readonly texts: Array<Record<string, unknown>> = [];
  closed: { code: number; reason: string } | undefined;
  readonly opened: Promise<void>;

  /** `options`: e.g. `{ localAddress: '127.0.0.2' }` to connect from another loopback address (another region). */
  constructor(url: string, options?: WebSocket.ClientOptions) {
    this.ws = new WebSocket(url, options);
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
    this.ws.on('message', (data: Buffer, isBinary) => {
      if (!isBinary) {
        this.texts.push(JSON.parse(data.toString()) as Record<string, unknown>);
        return;
      }
      const f = decodeFrame(data);
      if (f.type === FrameType.INIT_SEGMENT) this.inits.push(f.init.rendition);
      if (f.type === FrameType.MEDIA_CHUNK) {
        const c = f.chunk;
        this.chunks.push({
          rendition: c.rendition,
          segment: c.segment,
          chunk: c.chunk,
          flags: c.flags,
          ingressTime: c.ingressTime,
          at: Date.now(),
        });
      }
    });
    this.ws.on('close', (code, reason) => (this.closed = { code, reason: reason.toString() }));
  }

  of(rendition: string): Received[] {
    return this.chunks.filter((c) => c.rendition === rendition);
  }

  /** Problems in a rendition's sequence: duplicates, going backwards, gaps not marked as a discontinuity. */
  continuityProblems(rendition: string): string[] {
    const list = this.of(rendition);
    const problems: string[] = [];
    for (let i = 1; i < list.length; i++) {
      const a = list[i - 1]!;
      const b = list[i]!;
      const next =
        (b.segment === a.segment && b.chunk === a.chunk + 1) ||
        (b.segment === a.segment + 1 && b.chunk === 0);
      const restart = b.segment > a.segment && b.chunk === 0 && (b.flags & ChunkFlags.DISCONTINUITY) !== 0;
      if (!next && !restart) problems.push(`${a.segment}/${a.chunk} -> ${b.segment}/${b.chunk}`);
    }
    return problems;
  }

  send(obj: unknown): void {
    this.ws.send(JSON.stringify(obj));
  }

  close(): void {
    this.ws.terminate();
  }
}
