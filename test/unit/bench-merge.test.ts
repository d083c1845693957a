/**
 * `npm run bench -- --only=X --merge` puts X's fresh rows into docs/benchmarks.md in place of the rows they
 * measure again, and leaves every other row, also rows of other measurements under the same section name.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { mergeRows } from '../../bench/lib/environment.js';

test('fresh rows replace their own rows in place; rows of other measurements in the same section stay', () => {
  const existing = [
    '| glass-to-glass: (a) headless p50     | 0.19 s | RTMP 0.1 s |  |         |',
    '| glass-to-glass: (b) WebCodecs \\| p50  | 0.41 s | 1.8 s      |  | ❌ missed |',
    '| glass-to-glass: (a) Source p50       | 0.17 s |            |  |         |',
    '| relay tier: 1 tier p99               | 3.9 ms |            |  |         |',
    '| time to first frame: WS join p50     | 4 ms   |            |  |         |',
  ];
  const fresh = [
    '| glass-to-glass: (b) WebCodecs \\| p50 | 0.46 s | 2.2 s |  | ❌ missed |',
    '| glass-to-glass: (a) headless p50 | 0.21 s | RTMP 0.15 s |  |  |',
    '| time to first frame: page load | 693 ms | 1,585 ms | ≤ 300 ms | ❌ missed |',
  ];
  assert.deepEqual(mergeRows(existing, fresh), [
    fresh[1],
    fresh[0],
    existing[2],
    existing[3],
    existing[4],
    fresh[2],
  ]);
  assert.deepEqual(mergeRows(existing, []), existing);
});
