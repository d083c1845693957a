import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { WallclockMap } from '../../src/ingress/transcoder/wallclock-map.js';

test('WallclockMap: nearest earlier frame, first frame for earlier times, bounded window', () => {
  const m = new WallclockMap(1000);
  assert.equal(m.lookup(0), undefined);
  m.add(0, 100);
  m.add(33, 140);
  m.add(67, 170);
  m.add(50, 999); // out of order: ignored
  assert.equal(m.lookup(-5), 100);
  assert.equal(m.lookup(0), 100);
  assert.equal(m.lookup(40), 140);
  assert.equal(m.lookup(66.7), 170); // rounding tolerance
  assert.equal(m.lookup(10_000), 170);
  for (let t = 100; t < 5000; t += 10) m.add(t, t);
  assert.ok(m.size <= 102);
  assert.equal(m.lookup(4500), 4500);
});
