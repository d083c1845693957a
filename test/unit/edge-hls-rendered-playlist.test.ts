/**
 * The media playlist a rendition serves, rendered once per cache state (every viewer's blocking reload is
 * released by the same chunk): never stale after a chunk, an eviction or a restart.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RenditionCache, type CachedChunk } from '../../src/common/relay/rendition-cache.js';
import type { StreamSubscriber } from '../../src/common/relay/stream-relay.js';
import { renderedMediaPlaylist, servePart } from '../../src/edge/hls-requests.js';
import { ChunkFlags } from '../../src/common/media.js';
import { makeChunk, makeInfo, makeSegment } from '../helpers/fakes.js';
import { parseMediaPlaylist, violations } from '../helpers/hls-conformance.js';

const info = makeInfo('demo');
const v720 = info.renditions.find((r) => r.id === 'v720')!;

function playlist(cache: RenditionCache, i = info) {
  const r = renderedMediaPlaylist(
    cache,
    i,
    i.renditions.find((x) => x.id === 'v720')!,
  );
  assert.ok(r, 'a playlist');
  const p = parseMediaPlaylist(r.body.toString());
  assert.deepEqual(violations(p), []);
  return { body: r.body, targetS: r.targetS, p };
}

test('no playlist before a segment start is cached', () => {
  const cache = new RenditionCache('v720', 4);
  assert.equal(renderedMediaPlaylist(cache, info, v720), undefined);
  cache.add(makeChunk('v720', 3, 2));
  assert.equal(renderedMediaPlaylist(cache, info, v720), undefined);
});

test('viewers asking at the same cache state get the same rendering; each new chunk shows at once', () => {
  const cache = new RenditionCache('v720', 4);
  for (const c of makeSegment('v720', 10)) cache.add(c);
  cache.add(makeChunk('v720', 11, 0));
  const a = playlist(cache);
  assert.equal(a.p.preloadHint, '11.1.m4s');
  assert.equal(a.targetS, 1);
  // Rendered once: the same bytes object for the next viewer.
  assert.equal(playlist(cache).body, a.body);

  cache.add(makeChunk('v720', 11, 1));
  const b = playlist(cache);
  assert.notEqual(b.body, a.body);
  assert.deepEqual(
    b.p.trailingParts.map((x) => x.uri),
    ['11.0.m4s', '11.1.m4s'],
  );
  assert.equal(b.p.preloadHint, '11.2.m4s');

  // The segment's last chunk completes it: listed whole, the hint moves to the next segment.
  for (let k = 2; k < 5; k++) cache.add(makeChunk('v720', 11, k, { end: k === 4 }));
  const c = playlist(cache);
  assert.deepEqual(
    c.p.segments.map((s) => s.uri),
    ['10.m4s', '11.m4s'],
  );
  assert.equal(c.p.preloadHint, '12.0.m4s');
});

test('an evicted segment leaves the playlist, and a restart (new stream info) renders anew', () => {
  const cache = new RenditionCache('v720', 3);
  for (let n = 10; n < 13; n++) for (const c of makeSegment('v720', n)) cache.add(c);
  // Full cache: its oldest segment is left out (next to be evicted).
  assert.equal(playlist(cache).p.mediaSequence, 11);
  cache.add(makeChunk('v720', 13, 0));
  assert.equal(playlist(cache).p.mediaSequence, 12);

  const before = playlist(cache);
  const restarted = makeInfo('demo', 1);
  const after = playlist(cache, restarted);
  assert.notEqual(after.body, before.body);
  assert.equal(before.p.discontinuitySequence, 0);
  assert.equal(after.p.discontinuitySequence, 1);
  // The restarted stream's segments replace the old ones.
  for (let n = 20; n < 22; n++)
    for (const c of makeSegment('v720', n))
      cache.add(
        n === 20 && c.meta.chunk === 0 ? makeChunk('v720', 20, 0, { flags: ChunkFlags.DISCONTINUITY }) : c,
      );
  const d = playlist(cache, restarted);
  assert.deepEqual(
    d.p.segments.map((s) => s.uri),
    ['20.m4s', '21.m4s'],
  );
  assert.equal(d.p.mediaSequence, 20);
  assert.equal(d.p.discontinuitySequence, 1);
});

/** A segment of 30 one-frame chunks (33 ms at 30 fps), as `chunkDurationMs: 33` makes. */
function frameChunks(segment: number, upTo = 30): CachedChunk[] {
  return Array.from({ length: upTo }, (_, i) => {
    const c = makeChunk('v720', segment, i, { end: i === 29 });
    c.meta.decodeTime = segment * 90000 + i * 3000;
    c.meta.duration = 3000;
    return c;
  });
}

test('frame-sized chunks are grouped into 200 ms parts, listed once closed and served as one response', async () => {
  const frames = { ...info, chunkDurationMs: 33 };
  const cache = new RenditionCache('v720', 4);
  for (const c of frameChunks(10)) cache.add(c);
  for (const c of frameChunks(11, 14)) cache.add(c); // 14 frames: two closed parts, one open
  const { p, body } = playlist(cache, frames);
  // Five parts of six frames per segment; the open third part of segment 11 is not listed yet.
  const parts = [...body.toString().matchAll(/#EXT-X-PART:DURATION=([\d.]+),URI="(\d+\.\d+)\.m4s"/g)];
  assert.deepEqual(
    parts.map((m) => [m[2], m[1]]),
    [...[0, 1, 2, 3, 4].map((k) => [`10.${k}`, '0.200']), ['11.0', '0.200'], ['11.1', '0.200']],
  );
  assert.deepEqual(
    p.trailingParts.map((x) => x.uri),
    ['11.0.m4s', '11.1.m4s'],
  );
  assert.equal(p.preloadHint, '11.2.m4s');
  assert.ok(p.partTarget >= 0.2 && p.partTarget <= 0.25, `PART-TARGET ${p.partTarget}`);

  // A part is its six chunks' payloads in order, one body.
  const relay = {
    info: frames,
    state: 'live' as const,
    renditions: new Map([['v720', cache]]),
    listeners: new Set<StreamSubscriber>(),
    listen(l: StreamSubscriber) {
      this.listeners.add(l);
    },
    detach(l: StreamSubscriber) {
      this.listeners.delete(l);
    },
    mediaLagMs: () => undefined,
  };
  const part = (s: number, k: number) =>
    new Promise<Buffer | undefined>((resolve) => servePart(relay, 'v720', s, k, 2000, resolve));
  const expected = Buffer.concat(
    frameChunks(10)
      .slice(6, 12)
      .map((c) => c.meta.payload),
  );
  assert.deepEqual(await part(10, 1), expected);
  assert.equal(await part(10, 5), undefined, 'a complete segment has five parts');
  // The open part is answered when its sixth frame arrives (a preload hint's request).
  const waiting = part(11, 2);
  const more = frameChunks(11).slice(14, 18);
  for (const c of more) {
    cache.add(c);
    for (const l of relay.listeners) l.onChunk(c);
  }
  assert.deepEqual(
    await waiting,
    Buffer.concat(
      frameChunks(11)
        .slice(12, 18)
        .map((c) => c.meta.payload),
    ),
  );
});
