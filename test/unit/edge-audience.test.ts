/**
 * The edge's side of analytics (issue 16): viewers counted by transport, and viewers who joined sent as keys
 * that name no address, the same at every edge on one day and different the next.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ViewerCounter } from '../../src/edge/viewer-count.js';
import { audienceMessages, ViewerKeys } from '../../src/edge/audience-report.js';
import { MAX_AUDIENCE_KEYS, decodeEdgeToHub, encodeLinkChecked } from '../../src/common/protocol/index.js';

const NOW = 1_796_000_000_000;

test('viewers are counted by transport: a segment keeps what its client last asked a manifest for', () => {
  const c = new ViewerCounter(10_000);
  c.wsJoin('alice', '10.0.0.1');
  c.wsJoin('alice', '10.0.0.2');
  c.httpLabel('alice', '10.0.0.3', 'dash', NOW);
  c.httpSeen('alice', '10.0.0.3', NOW + 1000); // its segments
  c.httpLabel('alice', '10.0.0.4', 'hls', NOW);
  c.httpSeen('alice', '10.0.0.4', NOW);
  c.httpSeen('alice', '10.0.0.5', NOW); // a segment with no manifest seen here
  c.httpLabel('alice', '10.0.0.6', 'hls', NOW); // a playlist and nothing else: no viewer (yet)
  assert.deepEqual(c.byTransport('alice', NOW + 2000), { websocket: 2, dash: 1, hls: 1, http: 1 });
  assert.equal(c.count('alice', NOW + 2000), 5);
  // HTTP viewers that stopped fetching are gone after the window; WebSocket viewers when they leave.
  c.wsLeave('alice');
  assert.deepEqual(c.byTransport('alice', NOW + 10_500), { websocket: 1, dash: 1 });
  assert.equal(c.total(NOW + 20_000), 1);
});

test('an audience report names viewers by day-salted keys, the same at every edge, never their address', () => {
  const secret = 'cluster-secret-0123456789abcdef';
  const c = new ViewerCounter();
  c.wsJoin('alice', '203.0.113.7');
  c.httpLabel('alice', '198.51.100.9', 'hls', NOW);
  c.httpSeen('alice', '198.51.100.9', NOW);
  c.httpSeen('alice', '198.51.100.9', NOW + 500); // still the same viewer: joined once
  const [m, ...more] = audienceMessages(c, new ViewerKeys(secret), 'eu-west', NOW + 1000);
  assert.deepEqual(more, []);
  const text = encodeLinkChecked(m!);
  assert.doesNotMatch(text, /203\.0\.113\.7|198\.51\.100\.9/);
  const decoded = decodeEdgeToHub(text);
  assert.equal(decoded.t, 'audience');
  if (decoded.t !== 'audience') return;
  assert.equal(decoded.region, 'eu-west');
  assert.deepEqual(decoded.streams.alice!.transports, { websocket: 1, hls: 1 });
  assert.equal(decoded.streams.alice!.joined.length, 2);
  // Another edge (same cluster secret) derives the same key the same day; the next day, another.
  const otherEdge = new ViewerKeys(secret);
  assert.ok(decoded.streams.alice!.joined.includes(otherEdge.key('203.0.113.7', NOW + 5000)));
  assert.notEqual(otherEdge.key('203.0.113.7', NOW + 86_400_000), otherEdge.key('203.0.113.7', NOW));
  assert.notEqual(
    new ViewerKeys('another-secret-0123456789abcdef').key('203.0.113.7', NOW),
    otherEdge.key('203.0.113.7', NOW),
  );
  // Joins are reported once: the next report only counts.
  const [next] = audienceMessages(c, new ViewerKeys(secret), 'eu-west', NOW + 2000);
  assert.deepEqual(next!.streams.alice!.joined, []);
  assert.deepEqual(next!.streams.alice!.transports, { websocket: 1, hls: 1 });
});

test('an edge without viewers sends no audience report (the hub takes streams it stops naming as empty)', () => {
  const c = new ViewerCounter();
  const keys = new ViewerKeys('cluster-secret-0123456789abcdef');
  assert.deepEqual(audienceMessages(c, keys, 'eu', NOW), []);
  c.wsJoin('alice', '203.0.113.7');
  assert.equal(audienceMessages(c, keys, 'eu', NOW).length, 1);
  c.wsLeave('alice');
  assert.deepEqual(audienceMessages(c, keys, 'eu', NOW + 1000), []);
});

test('more joins than one message carries are split over several, each under the link limit', () => {
  const c = new ViewerCounter();
  const per = MAX_AUDIENCE_KEYS * 0.6;
  for (const stream of ['alice', 'bob'])
    for (let i = 0; i < per; i++) c.httpSeen(stream, `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, NOW);
  const ms = audienceMessages(c, new ViewerKeys('cluster-secret-0123456789abcdef'), 'eu', NOW);
  assert.equal(ms.length, 2);
  const joined = (s: string) => ms.reduce((n, m) => n + (m.streams[s]?.joined.length ?? 0), 0);
  assert.deepEqual([joined('alice'), joined('bob')], [per, per]);
  for (const m of ms) assert.doesNotThrow(() => decodeEdgeToHub(encodeLinkChecked(m)));
});

test('a hub refuses an audience report that is not one (bad transport, a raw address, too many keys)', () => {
  const bad = [
    { t: 'audience', region: 'eu', streams: { alice: { transports: { rtmp: 1 }, joined: [] } } },
    { t: 'audience', region: 'eu', streams: { alice: { transports: {}, joined: ['203.0.113.7'] } } },
    { t: 'audience', region: 'e u', streams: {} },
    {
      t: 'audience',
      region: 'eu',
      streams: {
        alice: { transports: {}, joined: new Array(MAX_AUDIENCE_KEYS + 1).fill('0123456789abcdef') },
      },
    },
  ];
  for (const m of bad)
    assert.throws(() => decodeEdgeToHub(JSON.stringify(m)), /./, JSON.stringify(m).slice(0, 80));
});
