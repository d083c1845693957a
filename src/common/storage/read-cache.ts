/**
 * A small read-through cache over an ObjectStore (issue 15): an edge playing past broadcasts reads each
 * segment from storage once while it is asked for, then from memory. Bounded in bytes, least recently used
 * out first; reads of one key in flight are shared. Absent objects are not cached (a recording still being
 * written gains them).
 */
import type { ObjectStore } from './object-store.js';

export class ReadThroughCache {
  private readonly entries = new Map<string, Buffer>();
  private readonly inFlight = new Map<string, Promise<Buffer | undefined>>();
  private bytes = 0;
  hits = 0;
  misses = 0;

  constructor(
    private readonly store: ObjectStore,
    private readonly maxBytes: number,
  ) {}

  get size(): number {
    return this.bytes;
  }

  async get(key: string): Promise<Buffer | undefined> {
    const hit = this.entries.get(key);
    if (hit) {
      this.hits++;
      // Most recently used goes to the end of the Map's order.
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit;
    }
    const pending = this.inFlight.get(key);
    if (pending) return pending;
    this.misses++;
    const read = this.store.get(key).then(
      (data) => {
        this.inFlight.delete(key);
        if (data) this.put(key, data);
        return data;
      },
      (err: unknown) => {
        this.inFlight.delete(key);
        throw err;
      },
    );
    this.inFlight.set(key, read);
    return read;
  }

  /** Forgets every key under `prefix` (a deleted broadcast). */
  forget(prefix: string): void {
    for (const [k, v] of this.entries)
      if (k.startsWith(prefix)) {
        this.entries.delete(k);
        this.bytes -= v.length;
      }
  }

  private put(key: string, data: Buffer): void {
    if (data.length > this.maxBytes) return;
    this.entries.set(key, data);
    this.bytes += data.length;
    for (const [k, v] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(k);
      this.bytes -= v.length;
    }
  }
}
