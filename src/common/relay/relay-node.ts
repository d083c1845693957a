/**
 * The streams a node holds, and where it gets the ones it does not: from its own publishers (ingress) or,
 * on demand, from a parent through an UpstreamClient (intermediate, edge). One upstream subscription per
 * stream is shared by all local subscribers; it is dropped `idleUnsubscribeMs` after the last one leaves.
 */
import { SafeEmitter } from '../events/safe-emitter.js';
import type { Logger } from '../logging/index.js';
import type { Metrics } from '../metrics/index.js';
import type { InitSegment, MediaChunk, ResumePosition, StreamInfo } from '../media.js';
import type { DirectoryEntry } from '../protocol/index.js';
import { StreamRelay, type StreamSubscriber } from './stream-relay.js';

/** Events an upstream delivers (implemented by RelayNode). */
export interface UpstreamHandler {
  onStreamStart(info: StreamInfo): void;
  onInit(init: InitSegment, frame: Buffer): void;
  onChunk(chunk: MediaChunk, frame: Buffer): void;
  onStreamEnd(stream: string, reason: string, code: string | undefined): void;
  onDirectory(entries: DirectoryEntry[]): void;
}

/** Transport-free view of the connection to a parent (implemented by UpstreamPool in upstream-pool.ts). */
export interface UpstreamClient {
  /** Keeps `stream` subscribed across reconnects; `resume` is asked at every (re)subscribe; `path` = the
   * node ids the request came through, this node last (loop detection). */
  subscribe(stream: string, resume: () => ResumePosition[], path?: string[]): void;
  unsubscribe(stream: string): void;
  close(): Promise<void>;
}

export interface RelayNodeOptions {
  /** This node's id: appended to the path of upstream subscriptions (loop detection). */
  nodeId?: string;
  cacheSegments: number;
  idleUnsubscribeMs: number;
  logger: Logger;
  metrics: Metrics;
  /**
   * For relays that pull from a parent: makes the upstream client, given this node as the handler of what
   * it delivers (the two point at each other, so the node creates its client rather than being handed one).
   */
  upstream?: (handler: UpstreamHandler) => UpstreamClient;
}

export class RelayNode implements UpstreamHandler {
  private readonly streams = new Map<string, StreamRelay>();
  private readonly upstream: UpstreamClient | undefined;
  private readonly sweeper: NodeJS.Timeout;
  private closed = false;
  private directoryEntries: DirectoryEntry[] = [];
  private readonly events: SafeEmitter<{ directory: [entries: DirectoryEntry[]] }>;

  constructor(private readonly opts: RelayNodeOptions) {
    this.events = new SafeEmitter(opts.logger);
    this.upstream = opts.upstream?.(this);
    this.sweeper = setInterval(() => this.sweep(), Math.max(250, Math.min(1000, opts.idleUnsubscribeMs / 2)));
    this.sweeper.unref();
  }

  get(stream: string): StreamRelay | undefined {
    return this.streams.get(stream);
  }

  list(): StreamRelay[] {
    return [...this.streams.values()];
  }

  /** The relay for `stream`, created (and subscribed upstream) on first use. */
  ensure(stream: string, path: string[] = [], resume: ResumePosition[] = []): StreamRelay {
    let relay = this.streams.get(stream);
    if (!relay) {
      relay = new StreamRelay(stream, this.opts.cacheSegments, this.opts.logger);
      this.streams.set(stream, relay);
      if (this.upstream) {
        const r = relay;
        // Created for a child that resumes (it failed over to this cold node): ask our parent for the chunks
        // after the child's position, or the child would lose everything up to the newest segment start.
        // Once this relay holds chunks, its own positions take over.
        const positions = () => {
          const own = r.resumePositions();
          return own.length > 0 ? own : resume;
        };
        this.upstream.subscribe(stream, positions, this.opts.nodeId ? [...path, this.opts.nodeId] : path);
        this.opts.metrics.upstreamSubscriptions.set(this.upstreamCount());
        // Debug: any viewer can ask for any name (an unknown one too), so this is per request, not per stream.
        this.opts.logger.debug({ stream }, 'subscribed upstream');
      } else {
        relay.end('stream is not live', 'STREAM_NOT_FOUND');
      }
    }
    relay.lastUsed = Date.now();
    return relay;
  }

  attach(stream: string, sub: StreamSubscriber, resume?: ResumePosition[], path?: string[]): StreamRelay {
    const relay = this.ensure(stream, path, resume);
    relay.attach(sub, resume);
    return relay;
  }

  detach(stream: string, sub: StreamSubscriber): void {
    this.streams.get(stream)?.detach(sub);
  }

  // --- UpstreamHandler: what the parent sends -------------------------------------------------------
  onStreamStart(info: StreamInfo): void {
    this.streams.get(info.name)?.start(info);
  }

  onInit(init: InitSegment, frame: Buffer): void {
    this.streams.get(init.stream)?.setInit(init.rendition, init.data, frame);
  }

  onChunk(chunk: MediaChunk, frame: Buffer): void {
    const relay = this.streams.get(chunk.stream);
    if (!relay) return;
    const r = relay.push(chunk, frame);
    const m = this.opts.metrics;
    if (r === 'duplicate' || r === 'unknown-rendition') {
      m.chunksDropped.inc({ stream: chunk.stream, reason: r });
      return;
    }
    if (r === 'gap') {
      m.chunksDropped.inc({ stream: chunk.stream, reason: 'gap' });
      this.opts.logger.warn(
        { stream: chunk.stream, rendition: chunk.rendition, segment: chunk.segment, chunk: chunk.chunk },
        'gap in chunk sequence',
      );
    }
    m.chunksRelayed.inc({ stream: chunk.stream });
    m.bytesIn.inc({ stream: chunk.stream }, frame.length);
  }

  onStreamEnd(stream: string, reason: string, code: string | undefined): void {
    this.streams.get(stream)?.end(reason, code);
  }

  onDirectory(entries: DirectoryEntry[]): void {
    this.setDirectory(entries);
  }

  // --- directory: which streams the tree carries (flows from ingress down to the edges) -------------
  get directory(): DirectoryEntry[] {
    return this.directoryEntries;
  }

  setDirectory(entries: DirectoryEntry[]): void {
    this.directoryEntries = entries;
    this.events.safeEmit('directory', entries);
  }

  onDirectoryChange(listener: (entries: DirectoryEntry[]) => void): () => void {
    return this.events.on('directory', listener);
  }

  // --- housekeeping -------------------------------------------------------------------------------
  private upstreamCount(): number {
    return this.upstream ? this.streams.size : 0;
  }

  /** Drops streams nobody has used for idleUnsubscribeMs (upstream ones) or that are offline and unused. */
  private sweep(): void {
    const now = Date.now();
    for (const [name, relay] of this.streams) {
      if (relay.subscribers.size > 0 || now - relay.lastUsed < this.opts.idleUnsubscribeMs) continue;
      if (relay.pinned) continue; // a local publisher owns it
      this.streams.delete(name);
      relay.close();
      if (this.upstream) {
        this.upstream.unsubscribe(name);
        this.opts.logger.debug({ stream: name }, 'unsubscribed upstream after idle timeout');
      }
    }
    this.opts.metrics.upstreamSubscriptions.set(this.upstreamCount());
  }

  /** Ingress: a local publisher's relay (created if needed, never subscribed upstream). */
  local(stream: string): StreamRelay {
    let relay = this.streams.get(stream);
    if (!relay) {
      relay = new StreamRelay(stream, this.opts.cacheSegments, this.opts.logger);
      this.streams.set(stream, relay);
    }
    relay.pinned = true;
    return relay;
  }

  /** The local publisher is gone; the relay may be swept once unused. */
  unpin(stream: string): void {
    const relay = this.streams.get(stream);
    if (relay) {
      relay.pinned = false;
      relay.lastUsed = Date.now();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweeper);
    this.events.removeAllListeners();
    await this.upstream?.close();
    for (const r of this.streams.values()) r.close();
    this.streams.clear();
  }
}
