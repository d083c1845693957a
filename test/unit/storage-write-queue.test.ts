/**
 * The recording write queue (src/common/storage/write-queue.ts): writes never block the caller; a store that
 * fails is retried with backoff until it succeeds and nothing is lost; a store that is too slow fills the
 * bounded queue and what does not fit is refused and reported; a rewritten object is written with its newest
 * bytes; the same key is never written twice at once.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ObjectStore, StoredObject } from '../../src/common/storage/object-store.js';
import { WriteQueue, type WriteQueueOptions } from '../../src/common/storage/write-queue.js';

/** A store in memory that can fail its next N puts or hold puts until released. */
class FakeStore implements ObjectStore {
  readonly kind = 'local';
  readonly objects = new Map<string, Buffer>();
  failNext = 0;
  hold = false;
  inFlight = new Map<string, number>();
  maxSameKey = 0;
  private held: Array<() => void> = [];

  async put(key: string, data: Buffer): Promise<void> {
    const n = (this.inFlight.get(key) ?? 0) + 1;
    this.inFlight.set(key, n);
    this.maxSameKey = Math.max(this.maxSameKey, n);
    try {
      if (this.hold) await new Promise<void>((r) => this.held.push(r));
      await Promise.resolve();
      if (this.failNext > 0) {
        this.failNext--;
        throw new Error('storage away');
      }
      this.objects.set(key, Buffer.from(data));
    } finally {
      this.inFlight.set(key, this.inFlight.get(key)! - 1);
    }
  }
  release(): void {
    this.hold = false;
    for (const r of this.held.splice(0)) r();
  }
  get = (key: string) => Promise.resolve(this.objects.get(key));
  list = (): Promise<StoredObject[]> => Promise.resolve([]);
  deletePrefix = () => Promise.resolve(0);
  check = () => Promise.resolve();
  close(): void {}
}

function queue(store: FakeStore, over: Partial<WriteQueueOptions> = {}) {
  const events: string[] = [];
  const q = new WriteQueue({
    store,
    maxQueuedBytes: 1000,
    concurrency: 2,
    retryInitialMs: 5,
    retryMaxMs: 20,
    onWritten: (key, bytes, tries) => events.push(`written ${key} ${bytes} ${tries}`),
    onFailed: (key) => events.push(`failed ${key}`),
    onRefused: (key, bytes) => events.push(`refused ${key} ${bytes}`),
    ...over,
  });
  return { q, events };
}

describe('recording write queue', () => {
  it('enqueue returns at once; everything is written', async () => {
    const store = new FakeStore();
    const { q } = queue(store);
    for (let i = 0; i < 10; i++) assert.equal(q.enqueue(`s/${i}`, Buffer.alloc(10, i)), true);
    assert.equal(store.objects.size, 0, 'nothing written synchronously');
    await q.flush();
    assert.equal(store.objects.size, 10);
    assert.equal(q.pendingBytes, 0);
  });

  it('a failing store is retried with backoff until it works: nothing is lost', async () => {
    const store = new FakeStore();
    store.failNext = 5;
    const { q, events } = queue(store);
    for (let i = 0; i < 4; i++) q.enqueue(`s/${i}`, Buffer.alloc(10));
    await q.flush();
    assert.equal(store.objects.size, 4);
    assert.equal(events.filter((e) => e.startsWith('failed')).length, 5);
    assert.ok(
      events.some((e) => / [3-9]$/.test(e)),
      'some were written on a later try',
    );
    assert.equal(q.pendingBytes, 0);
  });

  it('a slow store fills the bounded queue: what does not fit is refused and reported', async () => {
    const store = new FakeStore();
    store.hold = true;
    const { q, events } = queue(store, { maxQueuedBytes: 250 });
    const accepted = [0, 1, 2, 3].map((i) => q.enqueue(`s/${i}`, Buffer.alloc(100)));
    assert.deepEqual(accepted, [true, true, false, false]);
    assert.deepEqual(
      events.filter((e) => e.startsWith('refused')),
      ['refused s/2 100', 'refused s/3 100'],
    );
    assert.equal(q.pendingBytes, 200);
    store.release();
    await q.flush();
    assert.deepEqual([...store.objects.keys()].sort(), ['s/0', 's/1']);
    assert.equal(q.enqueue('s/4', Buffer.alloc(100)), true, 'room again once written');
    await q.flush();
  });

  it('an object rewritten while waiting or being written ends with its newest bytes, one write at a time', async () => {
    const store = new FakeStore();
    store.hold = true;
    const { q } = queue(store, { concurrency: 4 });
    q.enqueue('timeline.json', Buffer.from('v1'));
    q.enqueue('timeline.json', Buffer.from('v2')); // v1 is being written: v2 waits
    q.enqueue('timeline.json', Buffer.from('v3')); // replaces v2
    assert.equal(q.pendingBytes, 4);
    store.release();
    await q.flush();
    assert.equal(store.objects.get('timeline.json')?.toString(), 'v3');
    assert.equal(store.maxSameKey, 1, 'never two writes of one key at once');
    assert.equal(q.pendingBytes, 0);
  });

  it('after close nothing is taken', async () => {
    const store = new FakeStore();
    const { q, events } = queue(store);
    q.close();
    assert.equal(q.enqueue('s/0', Buffer.alloc(1)), false);
    assert.deepEqual(events, ['refused s/0 1']);
    await q.flush();
  });
});
