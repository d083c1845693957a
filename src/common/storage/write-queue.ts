/**
 * Writes to an ObjectStore off the live path (issue 15): `enqueue` returns at once; a few writes run at a
 * time; a failed write is retried with backoff until it succeeds or the queue is closed. Memory is bounded:
 * past `maxQueuedBytes` a new object is refused — and reported (`onRefused`, for a log line and a counter),
 * never dropped silently. An object enqueued again while still waiting replaces the waiting bytes (a
 * timeline rewritten every segment is written once with its newest content).
 */
import type { ObjectStore } from './object-store.js';

export interface WriteQueueOptions {
  store: ObjectStore;
  /** Bytes waiting (not yet written) at most; more is refused. */
  maxQueuedBytes: number;
  /** Writes in flight at once. */
  concurrency: number;
  retryInitialMs: number;
  retryMaxMs: number;
  /** Each object written, with its size and how many tries it took. */
  onWritten?(key: string, bytes: number, tries: number): void;
  /** A try failed (it will be tried again after `retryInMs`). */
  onFailed?(key: string, err: unknown, retryInMs: number): void;
  /** The queue was full: this object will not be written. */
  onRefused?(key: string, bytes: number): void;
}

interface Item {
  key: string;
  data: Buffer;
  contentType: string | undefined;
  tries: number;
}

export class WriteQueue {
  private readonly waiting = new Map<string, Item>();
  private readonly running = new Set<string>();
  private queuedBytes = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private backoffMs = 0;
  private closed = false;
  private idle: Array<() => void> = [];

  constructor(private readonly opts: WriteQueueOptions) {}

  /** Bytes waiting to be written (the gauge of how far storage is behind). */
  get pendingBytes(): number {
    return this.queuedBytes;
  }

  get pendingObjects(): number {
    return this.waiting.size + this.running.size;
  }

  /** False when the object was refused (queue full or closed); `onRefused` has been told. */
  enqueue(key: string, data: Buffer, contentType?: string): boolean {
    const replaced = this.waiting.get(key);
    const grow = data.length - (replaced?.data.length ?? 0);
    if (this.closed || this.queuedBytes + grow > this.opts.maxQueuedBytes) {
      this.opts.onRefused?.(key, data.length);
      return false;
    }
    this.queuedBytes += grow;
    this.waiting.set(key, { key, data, contentType, tries: replaced?.tries ?? 0 });
    this.pump();
    return true;
  }

  /** Resolves once everything enqueued so far is written (or the queue is closed). */
  flush(): Promise<void> {
    if (this.pendingObjects === 0 || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /** Stops: nothing more is tried; what is waiting is given up (a caller wanting it written flushes first). */
  close(): void {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.waiting.clear();
    this.queuedBytes = 0;
    for (const r of this.idle.splice(0)) r();
  }

  private pump(): void {
    if (this.closed || this.retryTimer) return;
    for (const item of this.waiting.values()) {
      if (this.running.size >= this.opts.concurrency) return;
      if (this.running.has(item.key)) continue; // the same key is never written twice at once
      this.waiting.delete(item.key);
      this.running.add(item.key);
      void this.write(item);
    }
    if (this.pendingObjects === 0) for (const r of this.idle.splice(0)) r();
  }

  private async write(item: Item): Promise<void> {
    item.tries++;
    try {
      await this.opts.store.put(item.key, item.data, item.contentType);
      this.running.delete(item.key);
      this.queuedBytes -= item.data.length; // a newer version waiting was counted on its own
      this.backoffMs = 0;
      this.opts.onWritten?.(item.key, item.data.length, item.tries);
    } catch (err) {
      this.running.delete(item.key);
      // Back in line unless newer bytes for the same key arrived meanwhile (they replace these).
      if (this.waiting.has(item.key)) this.queuedBytes -= item.data.length;
      else this.waiting.set(item.key, item);
      this.backoffMs = Math.min(
        this.opts.retryMaxMs,
        this.backoffMs ? this.backoffMs * 2 : this.opts.retryInitialMs,
      );
      this.opts.onFailed?.(item.key, err, this.backoffMs);
      // Storage is in trouble: every write waits for the backoff, not only this one.
      if (!this.closed && !this.retryTimer)
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          this.pump();
        }, this.backoffMs);
    }
    this.pump();
  }
}
