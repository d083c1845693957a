/**
 * A stream whose media arrives later than its timeline promises (a transcoder slower than real time): the
 * relay measures the lag, the MPD moves its anchor by it, and a request the old anchor made due is held.
 */
import { mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { StreamRelay } from '../../src/common/relay/stream-relay.js';
import { anchorShiftMs, buildMpd } from '../../src/edge/mpd.js';
import { waitForMedia } from '../../src/edge/segment-requests.js';
import { makeInfo, makeSegment, silentLogger } from '../helpers/fakes.js';

const ANCHOR = makeInfo().availabilityStartTime;

/** A relay at wall-clock ANCHOR + nowMs holding `segments` one-second segments of v360. */
function relayAt(nowMs: number, segments: number): StreamRelay {
  const relay = new StreamRelay('demo', 8, silentLogger);
  relay.start(makeInfo());
  for (let s = 0; s < segments; s++) for (const c of makeSegment('v360', s)) relay.push(c.meta, c.frame);
  mock.timers.setTime(ANCHOR + nowMs);
  return relay;
}

test.beforeEach(() => mock.timers.enable({ apis: ['Date', 'setTimeout'], now: ANCHOR }));
test.afterEach(() => mock.timers.reset());

test('the relay measures how far its newest media is behind the timeline clock', () => {
  assert.equal(relayAt(0, 0).mediaLagMs(), undefined, 'nothing to measure before the first chunk');
  assert.equal(relayAt(3300, 3).mediaLagMs(), 300, 'keeping up: the encoding delay');
  assert.equal(relayAt(10_000, 3).mediaLagMs(), 7000, 'three seconds of media ten seconds in');
});

test('a stream that keeps up keeps its anchor; one a segment or more behind moves it by the lag less a chunk', () => {
  const info = makeInfo(); // 1 s segments, 200 ms chunks
  assert.equal(anchorShiftMs(info, undefined), 0);
  assert.equal(anchorShiftMs(info, 450), 0, 'encoding delay and the newest chunk’s age');
  assert.equal(anchorShiftMs(info, 1000), 0);
  assert.equal(anchorShiftMs(info, 7000), 6800);
  assert.equal(anchorShiftMs(info, 7049), 6800, 'whole 100 ms');
});

test('the MPD announces the shifted anchor, ProducerReferenceTime with it', () => {
  const mpd = buildMpd(makeInfo(), {
    timeUrl: '/time',
    targetLatencyMs: 1000,
    cacheSegments: 8,
    anchorShiftMs: 3000,
    now: ANCHOR + 10_000,
  });
  assert.match(mpd, /availabilityStartTime="2023-11-14T22:13:23.000Z"/);
  assert.match(mpd, /<ProducerReferenceTime id="0" type="encoder" wallClockTime="2023-11-14T22:13:23.000Z"/);
});

test('a cold relay answers the MPD once media arrives (the newest of the burst included), or after the wait', () => {
  const relay = relayAt(0, 0);
  let answered = 0;
  waitForMedia(relay, 3000, () => answered++);
  mock.timers.tick(1000);
  assert.equal(answered, 0, 'no media yet');
  for (let s = 0; s < 2; s++) for (const c of makeSegment('v360', s)) relay.push(c.meta, c.frame);
  assert.equal(answered, 0, 'the rest of the burst may still be on its way');
  mock.timers.tick(20);
  assert.equal(answered, 1);
  mock.timers.tick(5000);
  assert.equal(answered, 1, 'once');
  assert.equal(relay.subscribers.size, 0, 'no listener left behind');
  let late = 0;
  waitForMedia(relayAt(0, 0), 3000, () => late++);
  mock.timers.tick(3000);
  assert.equal(late, 1, 'a stream with no media within the wait is answered anyway');
  let warm = 0;
  waitForMedia(relayAt(3000, 2), 3000, () => warm++);
  assert.equal(warm, 1, 'a relay with media answers at once');
});
