/**
 * What the recorder writes for a stream's chunks (src/common/recording/stream-recorder.ts), with the write
 * queue over an in-memory store: a segment once its last chunk is in, the timeline beside it, a segment cut
 * by a restart kept as partial in its own epoch, a segment joined mid-way skipped, the renditions chosen,
 * and the manifest saying how it ended.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { ChunkFlags, type MediaChunk, type RenditionInfo, type StreamInfo } from '../../src/common/media.js';
import {
  StreamRecorder,
  keptRenditions,
  type BroadcastManifest,
  type IndexEntry,
} from '../../src/common/recording/stream-recorder.js';
import type { ObjectStore } from '../../src/common/storage/object-store.js';
import { WriteQueue } from '../../src/common/storage/write-queue.js';

const rendition = (id: string, kind: 'video' | 'audio', bandwidth: number): RenditionInfo => ({
  id,
  kind,
  codecs: kind === 'video' ? 'avc1.64001f' : 'mp4a.40.2',
  bandwidth,
  timescale: kind === 'video' ? 90_000 : 48_000,
});
const LADDER = [
  rendition('v720', 'video', 3e6),
  rendition('v360', 'video', 8e5),
  rendition('v180', 'video', 2e5),
  rendition('a0', 'audio', 128e3),
];
const info = (epoch: number): StreamInfo => ({
  name: 'cam',
  availabilityStartTime: 1_700_000_000_000,
  segmentDurationMs: 2000,
  chunkDurationMs: 500,
  epoch,
  renditions: LADDER,
});

function harness(renditions: 'all' | 'source' | 'top-and-lowest' = 'all') {
  const objects = new Map<string, Buffer>();
  const store = {
    kind: 'local',
    put: (key: string, data: Buffer) => {
      objects.set(key, data);
      return Promise.resolve();
    },
  } as unknown as ObjectStore;
  const queue = new WriteQueue({
    store,
    maxQueuedBytes: 1e7,
    concurrency: 4,
    retryInitialMs: 5,
    retryMaxMs: 10,
  });
  const rec = new StreamRecorder({
    stream: 'cam',
    queue,
    renditions,
    logger: pino({ level: 'silent' }),
    now: () => Date.UTC(2026, 11, 1, 17, 30),
  });
  const chunk = (r: string, segment: number, n: number, flags = 0): void =>
    rec.onChunk({
      frame: Buffer.alloc(0),
      meta: {
        stream: 'cam',
        rendition: r,
        segment,
        chunk: n,
        flags,
        decodeTime: segment * 180_000 + n * 45_000,
        duration: 45_000,
        ingressTime: 1_700_000_000_000 + segment * 2000,
        sentTime: 0,
        payload: Buffer.from(`${r}:${segment}.${n};`),
      } satisfies MediaChunk,
    });
  const json = <T>(key: string) => JSON.parse(objects.get(`cam/${rec.id}/${key}`)!.toString()) as T;
  const text = (key: string) => objects.get(`cam/${rec.id}/${key}`)?.toString();
  return { rec, queue, chunk, json, text, objects };
}

describe('stream recorder', () => {
  it('a segment is written whole at its last chunk, with its timeline entry', async () => {
    const h = harness();
    h.rec.onInfo(info(0));
    h.rec.onInit('v360', { data: Buffer.from('INIT'), frame: Buffer.alloc(0) });
    for (let n = 0; n < 4; n++)
      h.chunk('v360', 0, n, n === 0 ? ChunkFlags.SEGMENT_START : n === 3 ? ChunkFlags.SEGMENT_END : 0);
    h.chunk('v360', 1, 0, ChunkFlags.SEGMENT_START);
    await h.queue.flush();
    assert.match(h.rec.id, /^20261201T173000Z-[0-9a-f]{8}$/);
    assert.equal(h.text('v360/init-0.mp4'), 'INIT');
    assert.equal(h.text('v360/00000000.m4s'), 'v360:0.0;v360:0.1;v360:0.2;v360:0.3;');
    assert.equal(h.text('v360/00000001.m4s'), undefined, 'an open segment is not written yet');
    assert.deepEqual(h.json<IndexEntry[]>('v360/index-000000.json'), [
      { segment: 0, epoch: 0, decodeTime: 0, duration: 180_000, ingressTime: 1_700_000_000_000 },
    ]);
  });

  it('a restart keeps the cut segment as partial in its epoch; a segment joined mid-way is skipped', async () => {
    const h = harness();
    h.rec.onInfo(info(0));
    h.chunk('v360', 4, 2); // joined mid-segment: skipped
    h.chunk('v360', 5, 0);
    h.chunk('v360', 5, 1);
    h.rec.onInfo(info(1)); // the transcoder restarted
    h.chunk('v360', 7, 0);
    h.chunk('v360', 7, 1, ChunkFlags.SEGMENT_END);
    h.rec.onEnd('publisher left');
    await h.queue.flush();
    assert.equal(h.text('v360/00000004.m4s'), undefined);
    assert.deepEqual(
      h.json<IndexEntry[]>('v360/index-000000.json').map((e) => [e.segment, e.epoch, e.partial ?? false]),
      [
        [5, 0, true],
        [7, 1, false],
      ],
    );
    const m = h.json<BroadcastManifest>('broadcast.json');
    assert.deepEqual(
      m.epochs.map((e) => e.epoch),
      [0, 1],
    );
    assert.equal(m.endReason, 'publisher left');
    assert.ok(m.endedAt);
  });

  it('index blocks hold 64 segments each', async () => {
    const h = harness();
    h.rec.onInfo(info(0));
    for (let s = 60; s < 70; s++) h.chunk('a0', s, 0, ChunkFlags.SEGMENT_END);
    await h.queue.flush();
    assert.equal(h.json<IndexEntry[]>('a0/index-000000.json').length, 4);
    assert.deepEqual(
      h.json<IndexEntry[]>('a0/index-000001.json').map((e) => e.segment),
      [64, 65, 66, 67, 68, 69],
    );
  });

  it('renditions: all, Source or the top rung, the top and the lowest; audio always', () => {
    const ids = (w: 'all' | 'source' | 'top-and-lowest', r = LADDER) => [...keptRenditions(r, w)].sort();
    assert.deepEqual(ids('all'), ['a0', 'v180', 'v360', 'v720']);
    assert.deepEqual(ids('source'), ['a0', 'v720']);
    assert.deepEqual(ids('source', [...LADDER, rendition('src', 'video', 1e6)]), ['a0', 'src']);
    assert.deepEqual(ids('top-and-lowest'), ['a0', 'v180', 'v720']);
    const h = harness('source');
    h.rec.onInfo(info(0));
    h.chunk('v180', 0, 0, ChunkFlags.SEGMENT_END);
    h.chunk('v720', 0, 0, ChunkFlags.SEGMENT_END);
    assert.deepEqual(
      h.json<BroadcastManifest>('broadcast.json').epochs[0]!.renditions.map((r) => r.id),
      ['v720', 'a0'],
    );
  });
});
