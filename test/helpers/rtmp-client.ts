/**
 * A minimal RTMP publisher over a real TCP socket, built on the project's own chunk encoder/parser, for
 * tests that need what ffmpeg cannot send: half-sent messages, hand-made tags (Enhanced RTMP HEVC), a
 * chosen source address (any 127.x.y.z reaches a server on 127.0.0.1).
 */
import net from 'node:net';
import {
  ChunkStreamEncoder,
  ChunkStreamParser,
  type RtmpMessage,
} from '../../src/ingress/rtmp/chunk-stream.js';
import { decodeAmf0All, encodeAmf0, type AmfValue } from '../../src/ingress/rtmp/amf0.js';
import { HANDSHAKE_SIZE } from '../../src/ingress/rtmp/handshake.js';

export class RtmpTestClient {
  readonly socket: net.Socket;
  /** Resolves when the socket is closed (by either side). */
  readonly closed: Promise<void>;
  readonly messages: RtmpMessage[] = [];
  private readonly enc = new ChunkStreamEncoder();
  private readonly parser = new ChunkStreamParser({ maxMessageBytes: 1 << 20 });
  private handshakeBytes = Buffer.alloc(0);
  private handshaken: (() => void) | undefined;
  isClosed = false;

  private constructor(port: number, localAddress?: string) {
    this.socket = net.connect({ port, host: '127.0.0.1', localAddress });
    this.socket.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      this.socket.once('close', () => {
        this.isClosed = true;
        resolve();
      }),
    );
    this.socket.on('data', (d: Buffer) => this.onData(d));
  }

  static async connect(port: number, localAddress?: string): Promise<RtmpTestClient> {
    const c = new RtmpTestClient(port, localAddress);
    await new Promise<void>((resolve, reject) => {
      c.socket.once('connect', resolve);
      c.socket.once('error', reject);
    });
    return c;
  }

  /** C0+C1, wait for S0+S1+S2, send C2. */
  async handshake(): Promise<void> {
    const done = new Promise<void>((resolve) => (this.handshaken = resolve));
    this.socket.write(Buffer.concat([Buffer.from([3]), Buffer.alloc(HANDSHAKE_SIZE, 7)]));
    await Promise.race([done, this.closed]);
    this.socket.write(Buffer.alloc(HANDSHAKE_SIZE, 8));
  }

  /** Announces and uses a larger outgoing chunk size (fewer chunks per video frame). */
  setChunkSize(size: number): void {
    const body = Buffer.alloc(4);
    body.writeUInt32BE(size);
    this.send(1, 0, body, 0, 2);
    this.enc.setChunkSize(size);
  }

  send(typeId: number, streamId: number, payload: Buffer, timestamp = 0, csid = 3): void {
    if (!this.socket.destroyed)
      this.socket.write(this.enc.encode({ csid, typeId, streamId, timestamp, payload }));
  }

  command(streamId: number, ...values: AmfValue[]): void {
    this.send(20, streamId, encodeAmf0(...values));
  }

  /**
   * connect + createStream + publish, as ffmpeg sends them; resolves with the first onStatus info.
   * `connectExtras` adds properties to the connect command object (Enhanced RTMP's fourCcList).
   */
  async publish(
    name: string,
    connectExtras: Record<string, AmfValue> = {},
  ): Promise<Record<string, AmfValue>> {
    this.command(0, 'connect', 1, {
      app: 'live',
      type: 'nonprivate',
      tcUrl: 'rtmp://127.0.0.1/live',
      ...connectExtras,
    });
    this.command(0, 'createStream', 2, null);
    this.command(1, 'publish', 3, null, name, 'live');
    return this.nextStatus();
  }

  /** The next onStatus info object the server sends (or throws if the socket closes first). */
  async nextStatus(timeoutMs = 10_000): Promise<Record<string, AmfValue>> {
    const seen = this.statuses().length;
    const deadline = Date.now() + timeoutMs;
    while (this.statuses().length <= seen) {
      if (this.isClosed || Date.now() > deadline) throw new Error('no onStatus before close/timeout');
      await new Promise((r) => setTimeout(r, 10));
    }
    return this.statuses()[seen]!;
  }

  statuses(): Array<Record<string, AmfValue>> {
    return this.messages
      .filter((m) => m.typeId === 20)
      .map((m) => decodeAmf0All(m.payload))
      .filter((v) => v[0] === 'onStatus')
      .map((v) => v[3] as Record<string, AmfValue>);
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(d: Buffer): void {
    if (this.handshaken) {
      this.handshakeBytes = Buffer.concat([this.handshakeBytes, d]);
      const need = 1 + 2 * HANDSHAKE_SIZE;
      if (this.handshakeBytes.length < need) return;
      const rest = this.handshakeBytes.subarray(need);
      const done = this.handshaken;
      this.handshaken = undefined;
      done();
      if (rest.length > 0) this.messages.push(...this.parser.push(rest));
      return;
    }
    this.messages.push(...this.parser.push(d));
  }
}
