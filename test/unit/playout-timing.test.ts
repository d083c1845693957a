/**
 * The WebCodecs player's timing (src/edge/public/playout-timing.js): the jitter buffer aims one to two frame
 * times above the arrival jitter it measures, the clock follows the audio when it plays and the wall clock
 * otherwise, catches up gradually, never runs backwards, and late frames are dropped rather than shown late.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ArrivalJitter,
  CATCH_UP_RATE,
  HEADROOM_FRAMES,
  PlayoutClock,
  dueFrames,
} from '../../src/edge/public/playout-timing.js';

const FRAME = 1000 / 30;

test('a steady stream: the target is the path delay plus one to two frame times', () => {
  const j = new ArrivalJitter();
  // One-frame chunks arriving 40 ms after their time, exactly.
  for (let i = 0; i < 100; i++) j.add(i / 30, 5000 + (i * 1000) / 30 + 40);
  assert.equal(Math.round(j.jitterMs()!), 0);
  const target = j.targetOffsetMs(FRAME)!;
  const delay = target - 5000 - 40;
  assert.ok(delay >= FRAME && delay <= 2 * FRAME, `headroom ${delay} ms`);
});

test('jittery arrivals: the target covers the 95th percentile of lateness, not the worst outlier', () => {
  const j = new ArrivalJitter();
  for (let i = 0; i < 100; i++) {
    // Mostly 0–60 ms late, one 900 ms outlier.
    const late = i === 50 ? 900 : (i * 37) % 61;
    j.add(i / 30, (i * 1000) / 30 + late);
  }
  const jitter = j.jitterMs()!;
  assert.ok(jitter >= 55 && jitter <= 61, `jitter ${jitter}`);
  const target = j.targetOffsetMs(FRAME)!;
  assert.ok(target < 200, 'one outlier does not set the delay');
  assert.equal(target, j.quantile(0.95)! + HEADROOM_FRAMES * FRAME);
});

test('the window forgets old jitter', () => {
  const j = new ArrivalJitter(10);
  for (let i = 0; i < 10; i++) j.add(i, i * 1000 + (i % 2) * 300);
  assert.equal(j.jitterMs(), 300);
  for (let i = 10; i < 20; i++) j.add(i, i * 1000 + 50);
  assert.equal(j.jitterMs(), 0);
});

test('wall clock: the offset rises at once and falls gradually (catch-up), far off it jumps', () => {
  const c = new PlayoutClock();
  assert.equal(c.time(0), null, 'no time before the first target');
  c.retarget(300, 0);
  assert.equal(c.time(1300), 1);
  c.retarget(400, 1300);
  assert.equal(c.offset, 400, 'a later target is taken at once');
  c.retarget(200, 1800);
  assert.equal(c.offset, 400 - 500 * CATCH_UP_RATE, 'an earlier one is approached at 10 % speed');
  c.retarget(200, 10_000);
  assert.equal(c.offset, 200);
  c.retarget(5000, 10_000);
  c.retarget(100, 10_001);
  assert.equal(c.offset, 100, 'far behind (more than JUMP_MS): jump');
});

test('the clock never runs backwards, even when the offset rises', () => {
  const c = new PlayoutClock();
  c.retarget(100, 0);
  const a = c.time(1100)!;
  c.retarget(400, 1100);
  assert.equal(c.time(1150), a, 'holds the frame on screen instead of going back');
  assert.ok(c.time(1500)! > a);
});

test('audio is the master while it plays; without fresh reports the wall clock takes over', () => {
  const c = new PlayoutClock();
  c.retarget(1000, 0);
  c.setAudio(10, 20_000);
  assert.equal(c.audioDriven(20_050), true);
  assert.equal(c.time(20_050), 10.05);
  // The wall clock says 19.05 s: audio lags it by 9 s.
  assert.ok(Math.abs(c.audioLag(20_050) - 9) < 1e-9);
  // The worklet ran dry (no report for 300 ms): the wall clock (further ahead) drives.
  assert.equal(c.audioDriven(20_300), false);
  assert.equal(c.time(20_300), 19.3);
  assert.equal(c.audioLag(20_300), 0);
});

test('due frames: the newest due one is shown, older due ones dropped, later ones wait', () => {
  const f = 1 / 30;
  const ts = [0, f, 2 * f, 3 * f, 4 * f];
  assert.deepEqual(dueFrames(ts, -1, f), { show: -1, drop: 0 }, 'nothing due yet');
  assert.deepEqual(dueFrames(ts, 0, f), { show: 0, drop: 0 });
  assert.deepEqual(dueFrames(ts, 2 * f, f), { show: 2, drop: 2 }, 'behind: two frames dropped');
  assert.deepEqual(dueFrames(ts, 10, f), { show: 4, drop: 4 });
});
