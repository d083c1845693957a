import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import {
  nearestStandardRate,
  passthroughSegmentMs,
  snapFrameRate,
} from '../../src/ingress/transcoder/source-gop.js';

test('a whole-second GOP at an integer frame rate is the segment duration as measured', () => {
  assert.equal(passthroughSegmentMs(2000, 200, 30), 2000);
  assert.equal(passthroughSegmentMs(1000, 200, 60), 1000);
  assert.equal(passthroughSegmentMs(2000, 200, undefined), 2000);
});

test('29.97 fps: 45 frames are 1501.5 ms, not the 1501 or 1502 ms the FLV timestamps round to', () => {
  assert.equal(passthroughSegmentMs(1501, 200, 29.97), 1501.5);
  assert.equal(passthroughSegmentMs(1502, 200, 29.97), 1501.5);
  assert.equal(passthroughSegmentMs(2002, 200, 29.97), 2002);
  assert.equal(snapFrameRate(29.97), 30000 / 1001);
});

test('a rate that is not a broadcast rate is not trusted; intervals a segment cannot be are refused', () => {
  assert.equal(snapFrameRate(27), undefined);
  assert.equal(passthroughSegmentMs(1481, 200, 27), 1481);
  assert.equal(passthroughSegmentMs(200, 200, 30), undefined);
  assert.equal(passthroughSegmentMs(12_000, 200, 30), undefined);
  assert.equal(passthroughSegmentMs(Infinity, 200, 30), undefined);
});

test('a rate read from one or two frames with millisecond timestamps is taken as the broadcast rate near it', () => {
  assert.equal(nearestStandardRate(1000 / 33, 0.04), 30);
  assert.equal(nearestStandardRate(2000 / 67, 0.02), 30);
  assert.equal(nearestStandardRate(1000 / 17, 0.04), 60);
  assert.equal(nearestStandardRate(1000 / 42, 0.04), 24);
  assert.equal(nearestStandardRate(27, 0.04), undefined, 'nothing near: the measured rate stays');
});
