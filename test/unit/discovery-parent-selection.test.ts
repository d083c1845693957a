import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseParent, type NodeInfo } from '../../src/common/discovery/index.js';

function n(id: string, extra: Partial<NodeInfo> = {}): NodeInfo {
  return {
    id,
    role: 'intermediate',
    region: 'eu',
    tier: 1,
    wsUrl: `ws://${id}:8091`,
    capacity: 100,
    load: 0,
    ...extra,
  };
}

/** A random source that replays the given values. */
function seq(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length]!;
}

const edge = { region: 'eu', tier: 64 };

test('the less loaded of two random candidates wins', () => {
  const list = [n('a', { load: 50 }), n('b', { load: 10 }), n('c', { load: 90 })];
  // picks a (0.0 → index 0) and then c (0.99 → the last of the two others)
  assert.equal(chooseParent(list, edge, { random: seq(0, 0.99) })?.id, 'a');
  // picks c then b
  assert.equal(chooseParent(list, edge, { random: seq(0.99, 0.5) })?.id, 'b');
  // picks b then a
  assert.equal(chooseParent(list, edge, { random: seq(0.5, 0) })?.id, 'b');
});

test('load is compared relative to capacity', () => {
  const list = [n('small', { load: 5, capacity: 10 }), n('big', { load: 50, capacity: 1000 })];
  assert.equal(chooseParent(list, edge, { random: seq(0, 0) })?.id, 'big');
});

test('the two choices are distinct even when the random source repeats', () => {
  const list = [n('a', { load: 10 }), n('b', { load: 5 })];
  for (const r of [0, 0.3, 0.7, 0.999]) assert.equal(chooseParent(list, edge, { random: () => r })?.id, 'b');
});

test('the same region is preferred; other regions are the fallback', () => {
  const list = [n('us-1', { region: 'us', load: 0 }), n('eu-1', { region: 'eu', load: 80 })];
  assert.equal(chooseParent(list, edge, { random: seq(0, 0) })?.id, 'eu-1');
  const full = [n('us-1', { region: 'us', load: 0 }), n('eu-1', { region: 'eu', load: 100, capacity: 100 })];
  assert.equal(
    chooseParent(full, edge, { random: seq(0, 0) })?.id,
    'us-1',
    'local parent at capacity → another region',
  );
  assert.equal(chooseParent([n('us-1', { region: 'us' })], { region: 'ap', tier: 64 })?.id, 'us-1');
});

test('a node at capacity is never chosen', () => {
  const list = [n('a', { load: 100, capacity: 100 }), n('b', { load: 101, capacity: 100 })];
  assert.equal(chooseParent(list, edge), undefined);
  assert.equal(chooseParent([...list, n('c', { load: 99, capacity: 100 })], edge)?.id, 'c');
});

test('excluded parents (just refused or failed) are skipped, by id or by URL', () => {
  const list = [n('a'), n('b'), n('c')];
  for (let i = 0; i < 20; i++) {
    const r = Math.random;
    assert.equal(chooseParent(list, edge, { exclude: new Set(['a', 'ws://b:8091']), random: r })?.id, 'c');
  }
  assert.equal(chooseParent(list, edge, { exclude: new Set(['a', 'b', 'c']) }), undefined);
});

test('only lower tiers are parents, and the closest lower tier is preferred', () => {
  const ingress = n('ingress', { role: 'ingress', tier: 0 });
  const mid1 = n('mid-1', { tier: 1, load: 0 });
  const mid2 = n('mid-2', { tier: 2, load: 90 });
  const list = [ingress, mid1, mid2];
  assert.equal(
    chooseParent(list, edge, { random: seq(0, 0) })?.id,
    'mid-2',
    'edges hang under the deepest intermediates',
  );
  assert.equal(
    chooseParent(list, { region: 'eu', tier: 2 })?.id,
    'mid-1',
    'a tier-2 intermediate pulls from tier 1',
  );
  assert.equal(chooseParent(list, { region: 'eu', tier: 1 })?.id, 'ingress');
  assert.equal(chooseParent(list, { region: 'eu', tier: 0 }), undefined, 'the ingress has no parent');
  assert.equal(
    chooseParent([mid1, mid2], { region: 'eu', tier: 1 }),
    undefined,
    'same or higher tier is never a parent',
  );
  assert.equal(
    chooseParent([ingress, mid2], edge, { exclude: new Set(['mid-2']) })?.id,
    'ingress',
    'falls back to a farther tier',
  );
});

test('the same region wins over a closer tier elsewhere', () => {
  const list = [
    n('eu-ingress', { role: 'ingress', tier: 0, region: 'eu' }),
    n('us-mid', { tier: 1, region: 'us' }),
  ];
  assert.equal(chooseParent(list, edge)?.id, 'eu-ingress');
});

test('deterministic with an injected random source; no candidates → undefined', () => {
  const list = Array.from({ length: 10 }, (_, i) => n(`m${i}`, { load: i }));
  const pick = () => chooseParent(list, edge, { random: seq(0.42, 0.17) })?.id;
  assert.equal(pick(), pick());
  assert.equal(chooseParent([], edge), undefined);
});

test('the choice spreads load: over many picks the least loaded gets the most, the most loaded the fewest', () => {
  const list = [n('a', { load: 10 }), n('b', { load: 20 }), n('c', { load: 30 }), n('d', { load: 40 })];
  const counts = new Map<string, number>();
  let seed = 1;
  const random = () => {
    seed = (seed * 16807) % 2147483647;
    return (seed - 1) / 2147483646;
  };
  for (let i = 0; i < 4000; i++) {
    const id = chooseParent(list, edge, { random })!.id;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  assert.equal(counts.get('d') ?? 0, 0, 'the most loaded is never the less loaded of two');
  assert.ok(counts.get('a')! > counts.get('b')! && counts.get('b')! > counts.get('c')!);
});
