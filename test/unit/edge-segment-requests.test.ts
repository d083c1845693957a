import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serveSegment, type SegmentResponse } from '../../src/edge/segment-requests.js';
import { StreamRelay } from '../../src/common/relay/stream-relay.js';
import { makeInfo, makeSegment, silentLogger } from '../helpers/fakes.js';

function fakeRes() {
  const r = {
    events: [] as string[],
    bytes: [] as number[],
    begin: () => r.events.push('begin'),
    write: (d: Buffer, last: boolean) => {
      r.events.push('write');
      r.bytes.push(d[0]!);
      if (last) r.events.push('end');
    },
    end: () => r.events.push('end'),
    notFound: (code: string) => r.events.push(`404:${code}`),
  };
  return r satisfies SegmentResponse;
}

/** A relay holding `segments` segments of a stream whose timeline started `startedAgoMs` ago. */
function relayWith(segments: number, startedAgoMs = segments * 1000) {
  const relay = new StreamRelay('demo', 8, silentLogger);
  relay.start({ ...makeInfo(), availabilityStartTime: Date.now() - startedAgoMs });
  for (let s = 0; s < segments; s++) for (const c of makeSegment('v360', s)) relay.push(c.meta, c.frame);
  return relay;
}

test('a complete segment is served whole', () => {
  const res = fakeRes();
  serveSegment(relayWith(3), 'v360', 1, res, { waitMs: 100 });
  assert.deepEqual(res.events, ['begin', 'write', 'write', 'write', 'write', 'write', 'end']);
  assert.deepEqual(res.bytes, [10, 11, 12, 13, 14]);
});

test('a segment in progress is streamed as its chunks arrive', () => {
  const relay = relayWith(1);
  const seg = makeSegment('v360', 1);
  relay.push(seg[0]!.meta, seg[0]!.frame);
  const res = fakeRes();
  serveSegment(relay, 'v360', 1, res, { waitMs: 100 });
  assert.deepEqual(res.events, ['begin', 'write']);
  for (const c of seg.slice(1)) relay.push(c.meta, c.frame);
  assert.deepEqual(res.events, ['begin', 'write', 'write', 'write', 'write', 'write', 'end']);
});

test('the next segment is held until it starts; too far ahead or too old is 404', async () => {
  const relay = relayWith(2);
  const res = fakeRes();
  serveSegment(relay, 'v360', 2, res, { waitMs: 1000 });
  assert.deepEqual(res.events, []);
  for (const c of makeSegment('v360', 2)) relay.push(c.meta, c.frame);
  assert.equal(res.events.at(-1), 'end');
  const far = fakeRes();
  serveSegment(relay, 'v360', 50, far, { waitMs: 10 });
  assert.deepEqual(far.events, ['404:SEGMENT_NOT_FOUND']);
  const unknown = fakeRes();
  serveSegment(relay, 'v999', 1, unknown, { waitMs: 10 });
  assert.deepEqual(unknown.events, ['404:STREAM_NOT_FOUND']);
  const late = fakeRes();
  serveSegment(relay, 'v360', 3, late, { waitMs: 20 });
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(late.events, ['404:SEGMENT_NOT_FOUND']);
  assert.equal(relay.subscribers.size, 0, 'timed-out requests leave no listener behind');
});

test('a stream running late (an overloaded transcoder): a segment its timeline already promised is held, not refused', () => {
  // 10 s since the anchor, 2 segments made: a client computing from the clock asks for segment 9.
  const relay = relayWith(2, 10_000);
  const res = fakeRes();
  serveSegment(relay, 'v360', 9, res, { waitMs: 1000 });
  assert.deepEqual(res.events, [], 'held');
  for (let s = 2; s <= 9; s++) for (const c of makeSegment('v360', s)) relay.push(c.meta, c.frame);
  assert.deepEqual(res.events.slice(0, 2), ['begin', 'write']);
  assert.equal(res.events.at(-1), 'end');
  const far = fakeRes();
  serveSegment(relay, 'v360', 50, far, { waitMs: 10 });
  assert.deepEqual(far.events, ['404:SEGMENT_NOT_FOUND'], 'ahead of both the media and the clock');
});
