/**
 * The unique-viewer sketch (issue 16): exact for a small channel's counts, within a few percent for a big one
 * in 4 KiB, and a merge is the union (a viewer on two edges or in two lives counts once), through its stored form.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { HLL_REGISTERS, HyperLogLog, SPARSE_MAX } from '../../src/hub/analytics/hyperloglog.js';

const key = (i: number) => createHmac('sha256', 'test').update(String(i)).digest('hex').slice(0, 16);
const fill = (from: number, to: number) => {
  const h = new HyperLogLog();
  for (let i = from; i < to; i++) h.add(key(i));
  return h;
};

test(`up to ${SPARSE_MAX} viewers the count is exact; a key added twice is one`, () => {
  for (const n of [0, 1, 2, 7, 200, SPARSE_MAX]) {
    const h = fill(0, n);
    for (let i = 0; i < n; i++) h.add(key(i));
    assert.equal(h.estimate(), n, `${n} keys`);
    assert.equal(HyperLogLog.from(h.toBytes()).estimate(), n, `${n} keys, stored and read back`);
  }
});

test('large counts are within 5 %, stored in 4 KiB', () => {
  for (const n of [SPARSE_MAX + 1, 20_000, 300_000]) {
    const h = fill(0, n);
    const e = HyperLogLog.from(h.toBytes()).estimate();
    assert.ok(Math.abs(e - n) / n < 0.05, `${n} keys estimated ${e}`);
    assert.equal(h.toBytes().length, 1 + HLL_REGISTERS);
  }
});

test('merging is the union: shared keys count once, sparse or dense, in any order', () => {
  for (const [a, b, c] of [
    [150, 100, 300],
    [3000, 2000, 6000],
    [100, 50, 5000],
  ] as const) {
    const ab = fill(0, a);
    ab.merge(fill(b, c));
    const ba = fill(b, c);
    ba.merge(fill(0, a));
    const n = c;
    const e = ab.estimate();
    assert.ok(n <= SPARSE_MAX ? e === n : Math.abs(e - n) / n < 0.05, `union of ${n} estimated ${e}`);
    assert.equal(ba.estimate(), e);
  }
  // Names that are not keys (chatters' account names) are hashed first: the same name is one chatter.
  const c = new HyperLogLog();
  for (const name of ['carol', 'Dave', 'carol', 'erin']) c.add(name);
  assert.equal(c.estimate(), 3);
  assert.throws(() => HyperLogLog.from(new Uint8Array([1, 2, 3])), /not a sketch/);
  assert.throws(() => HyperLogLog.from(new Uint8Array([0, 1, 2])), /not a sketch/);
});
