/**
 * Edge selection as a viewer meets it: the region from the address (CIDR map, then GeoIP, else the edge's
 * own), that region's edges with room first and least loaded first, a full edge never offered, and a
 * viewer on an edge of their region that has room left where they are.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../src/common/errors/index.js';
import {
  EdgeSelector,
  candidateFromNode,
  rankEdges,
  type EdgeCandidate,
} from '../../src/edge/edge-selection.js';
import { RegionMap, parseAddress } from '../../src/edge/region-map.js';

const edge = (id: string, region: string, load = 0, capacity = 100): EdgeCandidate => ({
  id,
  region,
  url: `http://${id}.example:8080`,
  load,
  capacity,
});

test('the region map finds IPv4, IPv4-mapped IPv6 and IPv6 addresses in their blocks', () => {
  const map = new RegionMap([
    { cidr: '10.77.0.16/28', region: 'eu' },
    { cidr: '10.77.0.32/28', region: 'us' },
    { cidr: '2001:db8::/32', region: 'ap' },
  ]);
  assert.equal(map.regionOf('10.77.0.16'), 'eu');
  assert.equal(map.regionOf('10.77.0.31'), 'eu');
  assert.equal(map.regionOf('10.77.0.32'), 'us');
  assert.equal(map.regionOf('::ffff:10.77.0.40'), 'us');
  // uWebSockets.js spells an IPv4 peer of a dual-stack socket in full hex.
  assert.equal(map.regionOf('0000:0000:0000:0000:0000:ffff:0a4d:0011'), 'eu');
  assert.equal(map.regionOf('2001:db8:1::5'), 'ap');
  assert.equal(map.regionOf('10.77.0.48'), undefined);
  assert.equal(map.regionOf('not an address'), undefined);
  assert.equal(map.regionOf(''), undefined);
  assert.deepEqual(parseAddress('::1.2.3.4'), { family: 6, value: 0x01020304n });
});

test('a region map with an overlapping or malformed block is refused at start-up, naming the entry', () => {
  const overlap = () =>
    new RegionMap([
      { cidr: '10.0.0.0/8', region: 'eu' },
      { cidr: '192.168.0.0/16', region: 'us' },
      { cidr: '10.1.0.0/16', region: 'us' },
    ]);
  assert.throws(overlap, (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.equal(e.code, 'CONFIG_INVALID');
    assert.match(
      e.message,
      /regions\[2\] \(10\.1\.0\.0\/16\) overlaps edgeSelection\.regions\[0\] \(10\.0\.0\.0\/8\)/,
    );
    return true;
  });
  for (const [cidr, why] of [
    ['10.0.0.0', /missing "\/prefix"/],
    ['10.0.0.0/33', /prefix must be 0-32/],
    ['10.0.0.0/-1', /prefix must be 0-32/],
    ['10.0.0.0/abc', /prefix must be 0-32/],
    ['10.0.0.1/8', /bits set below the prefix/],
    ['300.0.0.0/8', /not an IPv4 or IPv6 address/],
    ['2001:db8::/129', /prefix must be 0-128/],
    ['eu/8', /not an IPv4 or IPv6 address/],
  ] as const) {
    assert.throws(
      () =>
        new RegionMap([
          { cidr: '192.168.0.0/16', region: 'us' },
          { cidr, region: 'eu' },
        ]),
      (e: unknown) => e instanceof ConfigError && e.message.includes('regions[1]') && why.test(e.message),
      cidr,
    );
  }
  // The same block twice, and one block inside another in IPv6.
  assert.throws(
    () =>
      new RegionMap([
        { cidr: '::/0', region: 'a' },
        { cidr: '2001:db8::/32', region: 'b' },
      ]),
    ConfigError,
  );
  // Adjacent blocks do not overlap.
  assert.equal(
    new RegionMap([
      { cidr: '10.0.0.0/25', region: 'a' },
      { cidr: '10.0.0.128/25', region: 'b' },
    ]).size,
    2,
  );
});

test('ranking: the viewer region first, least loaded first, full edges left out, ties stable by id', () => {
  const ranked = rankEdges('eu', [
    edge('us-1', 'us', 0),
    edge('eu-2', 'eu', 50),
    edge('eu-1', 'eu', 50),
    edge('eu-3', 'eu', 10),
    edge('eu-full', 'eu', 100, 100),
    edge('us-2', 'us', 90),
  ]);
  assert.deepEqual(
    ranked.map((e) => e.id),
    ['eu-3', 'eu-1', 'eu-2', 'us-1', 'us-2'],
  );
  // Fill is load relative to capacity: a big edge with more viewers can be emptier.
  assert.deepEqual(
    rankEdges('eu', [edge('small', 'eu', 5, 10), edge('big', 'eu', 50, 1000)]).map((e) => e.id),
    ['big', 'small'],
  );
});

function selector(opts: {
  self: EdgeCandidate;
  others: EdgeCandidate[];
  regions?: Array<{ cidr: string; region: string }>;
  geo?: Record<string, string>;
}) {
  return new EdgeSelector({
    self: () => opts.self,
    others: () => opts.others,
    regions: new RegionMap(opts.regions ?? []),
    geoip: opts.geo ? { region: (a) => opts.geo![a] } : undefined,
  });
}

test('a viewer from another region is sent to an edge of theirs; one of this region stays', () => {
  const s = selector({
    self: edge('eu-1', 'eu', 10),
    others: [edge('us-1', 'us', 40), edge('us-2', 'us', 20), edge('eu-2', 'eu', 0)],
    regions: [
      { cidr: '10.1.0.0/16', region: 'eu' },
      { cidr: '10.2.0.0/16', region: 'us' },
    ],
  });
  assert.equal(s.redirectFor('10.2.3.4')?.id, 'us-2');
  // eu-2 is emptier, but a viewer already on an edge of their region with room is not moved.
  assert.equal(s.redirectFor('10.1.3.4'), undefined);
  assert.deepEqual(
    s.rank('10.1.3.4').edges.map((e) => e.id),
    ['eu-2', 'eu-1', 'us-2', 'us-1'],
  );
  // An address in no block is taken to be of this edge's region.
  assert.equal(s.rank('192.0.2.1').region, 'eu');
  assert.equal(s.redirectFor('192.0.2.1'), undefined);
});

test("the CIDR map wins over GeoIP, GeoIP over the edge's own region", () => {
  const s = selector({
    self: edge('eu-1', 'eu'),
    others: [edge('us-1', 'us'), edge('ap-1', 'ap')],
    regions: [{ cidr: '10.0.0.0/8', region: 'us' }],
    geo: { '10.0.0.1': 'ap', '203.0.113.9': 'ap' },
  });
  assert.equal(s.regionOf('10.0.0.1'), 'us');
  assert.equal(s.regionOf('203.0.113.9'), 'ap');
  assert.equal(s.regionOf('198.51.100.1'), 'eu');
  assert.equal(s.redirectFor('203.0.113.9')?.id, 'ap-1');
});

test('a full edge sends newcomers to the best edge with room, and says when there is none', () => {
  const full = edge('eu-1', 'eu', 100, 100);
  const s = selector({ self: full, others: [edge('eu-2', 'eu', 99, 100), edge('us-1', 'us', 0)] });
  assert.equal(s.atCapacity(), true);
  assert.equal(s.redirectFor('10.0.0.1')?.id, 'eu-2');
  const alone = selector({ self: full, others: [edge('eu-2', 'eu', 100, 100)] });
  assert.equal(alone.redirectFor('10.0.0.1'), undefined);
  assert.equal(alone.atCapacity(), true);
  // A viewer of a region without edges is not moved from one stranger to another.
  const s2 = selector({
    self: edge('eu-1', 'eu', 50),
    others: [edge('us-1', 'us', 0)],
    regions: [{ cidr: '10.9.0.0/16', region: 'ap' }],
  });
  assert.equal(s2.redirectFor('10.9.0.1'), undefined);
});

test('a single edge with no map and no peers never redirects (static setups are unchanged)', () => {
  const s = selector({ self: edge('only', 'local', 5, Number.MAX_SAFE_INTEGER), others: [] });
  for (const a of ['127.0.0.1', '::1', '10.0.0.1', 'garbage']) assert.equal(s.redirectFor(a), undefined);
  assert.deepEqual(
    s.rank('127.0.0.1').edges.map((e) => e.id),
    ['only'],
  );
});

test('a discovered edge is reached at its public URL, else at its own address over http', () => {
  const base = { role: 'edge' as const, region: 'eu', tier: 64, capacity: 10, load: 1 };
  assert.equal(
    candidateFromNode({ ...base, id: 'a', wsUrl: 'ws://10.0.0.5:8080' }).url,
    'http://10.0.0.5:8080',
  );
  assert.equal(
    candidateFromNode({ ...base, id: 'b', wsUrl: 'wss://edge-b.example' }).url,
    'https://edge-b.example',
  );
  assert.equal(
    candidateFromNode({ ...base, id: 'c', wsUrl: 'ws://10.0.0.6:8080', publicUrl: 'https://c.example/' }).url,
    'https://c.example',
  );
});
