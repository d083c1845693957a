/**
 * An RTMP publisher that sends prepared FLV tags (test/helpers/media-tags.ts) in real time over the
 * project's own RTMP client: what OBS 30+ sends for HEVC/AV1 (Enhanced RTMP), which ffmpeg 5.1 cannot.
 * The tags can be looped (timestamps carried on, sequence headers only once) for a long-running publish.
 */
import type { FlvTag } from '../../src/ingress/flv/flv-tag.js';
import { tryMediaPacket } from '../../src/ingress/flv/media-packet.js';
import type { AmfValue } from '../../src/ingress/rtmp/amf0.js';
import { RtmpTestClient } from './rtmp-client.js';

const CSID: Record<number, number> = { 8: 4, 9: 6, 18: 5 };
/** The gap between the last tag of a loop and the first of the next. */
const LOOP_GAP_MS = 33;

export class TagPublisher {
  /** The first onStatus the server sent (Publish.Start or a refusal). */
  status: Record<string, AmfValue> = {};
  /** Resolves when every tag has been sent, stop() was called or the server closed the connection. */
  done: Promise<void> = Promise.resolve();
  sent = 0;
  private stopped = false;

  private constructor(readonly client: RtmpTestClient) {}

  /** Connects, publishes `key` (announcing Enhanced RTMP codecs in connect) and starts sending `tags`. */
  static async start(
    port: number,
    key: string,
    tags: readonly FlvTag[],
    opts: { loops?: number; fourCcList?: string[] } = {},
  ): Promise<TagPublisher> {
    const client = await RtmpTestClient.connect(port);
    await client.handshake();
    client.setChunkSize(60_000);
    const p = new TagPublisher(client);
    p.status = await client.publish(key, { fourCcList: opts.fourCcList ?? ['hvc1', 'av01', 'vp09'] });
    if (p.status.code === 'NetStream.Publish.Start') p.done = p.send(tags, opts.loops ?? 1);
    return p;
  }

  /** Sends one tag now, outside the paced sequence (a mid-stream codec change, a broken header). */
  sendTag(tag: Pick<FlvTag, 'type' | 'timestamp' | 'data'>): void {
    this.client.send(tag.type, 1, tag.data, tag.timestamp, CSID[tag.type]);
  }

  /** The timestamp the next looped tag would carry. */
  lastTimestamp = 0;

  private async send(tags: readonly FlvTag[], loops: number): Promise<void> {
    const span = (tags.at(-1)?.timestamp ?? 0) + LOOP_GAP_MS;
    const repeated = tags.filter((t) => {
      const p = tryMediaPacket(t);
      return t.type !== 18 && p?.kind !== 'config';
    });
    const start = Date.now();
    for (let loop = 0; loop < loops; loop++) {
      for (const tag of loop === 0 ? tags : repeated) {
        if (this.stopped || this.client.isClosed) return;
        const ts = tag.timestamp + loop * span;
        const wait = start + ts - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        this.sendTag({ ...tag, timestamp: ts });
        this.lastTimestamp = ts;
        this.sent++;
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
    this.client.close();
    await this.client.closed;
  }
}
