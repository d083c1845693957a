import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RenditionCache } from '../../src/common/relay/rendition-cache.js';
import { StreamRelay, type StreamSubscriber } from '../../src/common/relay/stream-relay.js';
import { ChunkFlags } from '../../src/common/media.js';
import { makeChunk, makeInfo, makeSegment, silentLogger } from '../helpers/fakes.js';

test('cache accepts contiguous chunks, refuses duplicates, reports gaps', () => {
  const c = new RenditionCache('v360', 4);
  for (const ch of makeSegment('v360', 0)) assert.equal(c.add(ch), 'ok');
  assert.equal(c.add(makeChunk('v360', 0, 4)), 'duplicate');
  assert.equal(c.add(makeChunk('v360', 0, 2)), 'duplicate');
  assert.equal(c.add(makeChunk('v360', 1, 0)), 'ok');
  assert.equal(c.add(makeChunk('v360', 1, 2)), 'gap');
  assert.equal(c.add(makeChunk('v360', 3, 0)), 'gap');
  assert.equal(c.add(makeChunk('v360', 5, 0, { flags: ChunkFlags.DISCONTINUITY })), 'ok');
});

test('cache is bounded to maxSegments and finds the latest segment start', () => {
  const c = new RenditionCache('v360', 3);
  for (let s = 0; s < 6; s++) for (const ch of makeSegment('v360', s)) c.add(ch);
  assert.equal(c.segment(2), undefined);
  assert.ok(c.segment(3));
  assert.equal(c.latestStartSegment(), 5);
  assert.equal(c.segment(4)?.complete, true);
});

test('chunksAfter resumes exactly after a held position, or says it cannot', () => {
  const c = new RenditionCache('v360', 3);
  for (let s = 0; s < 4; s++) for (const ch of makeSegment('v360', s)) c.add(ch);
  const after = c.chunksAfter({ segment: 2, chunk: 3 })!;
  assert.deepEqual(
    after.map((x) => `${x.meta.segment}/${x.meta.chunk}`),
    ['2/4', '3/0', '3/1', '3/2', '3/3', '3/4'],
  );
  assert.deepEqual(c.chunksAfter({ segment: 3, chunk: 4 }), []);
  assert.deepEqual(c.chunksAfter({ segment: 9, chunk: 0 }), []);
  assert.equal(c.chunksAfter({ segment: 0, chunk: 1 }), undefined, 'fell out of the window');
});

function recorder(): StreamSubscriber & { log: string[] } {
  const log: string[] = [];
  return {
    log,
    onInfo: (info) => log.push(`info:${info.epoch}`),
    onInit: (r) => log.push(`init:${r}`),
    onChunk: (c) => log.push(`${c.meta.rendition}:${c.meta.segment}/${c.meta.chunk}`),
    onEnd: (reason) => log.push(`end:${reason}`),
  };
}

test('a new subscriber gets info, inits and the backlog from the latest common segment start', () => {
  const relay = new StreamRelay('demo', 8, silentLogger);
  relay.start(makeInfo());
  for (const r of ['v720', 'v360', 'a0']) relay.setInit(r, Buffer.from('init'));
  for (const r of ['v720', 'v360', 'a0']) for (const ch of makeSegment(r, 0)) relay.push(ch.meta, ch.frame);
  for (const r of ['v720', 'v360']) relay.push(makeChunk(r, 1, 0).meta, makeChunk(r, 1, 0).frame);
  const sub = recorder();
  relay.attach(sub);
  // audio has not started segment 1 yet, so everyone starts at segment 0
  assert.deepEqual(sub.log.slice(0, 4), ['info:0', 'init:v720', 'init:v360', 'init:a0']);
  assert.ok(sub.log.includes('v720:0/0') && sub.log.includes('v720:1/0') && sub.log.includes('a0:0/4'));
  relay.push(makeChunk('a0', 1, 0).meta, makeChunk('a0', 1, 0).frame);
  assert.equal(sub.log.at(-1), 'a0:1/0');
});

test('a resuming subscriber gets exactly the chunks after its position: no gap, no duplicate', () => {
  const relay = new StreamRelay('demo', 8, silentLogger);
  relay.start(makeInfo());
  for (let s = 0; s < 3; s++) for (const ch of makeSegment('v360', s)) relay.push(ch.meta, ch.frame);
  const sub = recorder();
  relay.attach(sub, [{ rendition: 'v360', segment: 1, chunk: 3 }]);
  const chunks = sub.log.filter((l) => l.startsWith('v360:'));
  assert.deepEqual(chunks, ['v360:1/4', 'v360:2/0', 'v360:2/1', 'v360:2/2', 'v360:2/3', 'v360:2/4']);
});

test('a throwing subscriber does not stop delivery to the others', () => {
  const relay = new StreamRelay('demo', 8, silentLogger);
  relay.start(makeInfo());
  const bad: StreamSubscriber = {
    onInfo() {},
    onInit() {},
    onChunk() {
      throw new Error('boom');
    },
    onEnd() {},
  };
  const good = recorder();
  relay.attach(bad);
  relay.attach(good);
  const ch = makeChunk('v360', 0, 0);
  relay.push(ch.meta, ch.frame);
  assert.equal(good.log.at(-1), 'v360:0/0');
});

test('whenKnown resolves on start, on end, or on timeout', async () => {
  const relay = new StreamRelay('demo', 8, silentLogger);
  const p = relay.whenKnown(1000);
  relay.start(makeInfo());
  assert.equal((await p)?.name, 'demo');
  const r2 = new StreamRelay('x', 8, silentLogger);
  const p2 = r2.whenKnown(1000);
  r2.end('not live', 'STREAM_NOT_FOUND');
  assert.equal(await p2, undefined);
  assert.equal(await new StreamRelay('y', 8, silentLogger).whenKnown(10), undefined);
});

test('a cold relay asked to resume passes the child position upstream (no lost segment on failover)', async () => {
  const { RelayNode } = await import('../../src/common/relay/relay-node.js');
  const { testMetrics } = await import('../helpers/fakes.js');
  const asked: Array<{ stream: string; resume: unknown; path?: string[] }> = [];
  const node = new RelayNode({
    nodeId: 'inter-1a',
    cacheSegments: 8,
    idleUnsubscribeMs: 1000,
    logger: silentLogger,
    metrics: testMetrics(),
    upstream: () => ({
      subscribe: (stream, resume, path) => asked.push({ stream, resume: resume(), path }),
      unsubscribe: () => undefined,
      close: () => Promise.resolve(),
    }),
  });
  const child = { onInfo() {}, onInit() {}, onChunk() {}, onEnd() {} };
  node.attach('demo', child, [{ rendition: 'v360', segment: 5, chunk: 4 }], ['edge-1', 'inter-2b']);
  assert.deepEqual(asked, [
    {
      stream: 'demo',
      resume: [{ rendition: 'v360', segment: 5, chunk: 4 }],
      path: ['edge-1', 'inter-2b', 'inter-1a'],
    },
  ]);
  await node.close();
});
