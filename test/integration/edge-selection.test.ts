/**
 * Edge selection with real edges on loopback: two more edges beside the tree's own, in two regions that
 * know each other as static peers; a CIDR map puts this test (127.0.0.1) in one region. A viewer entering
 * at the other region's edge is sent to theirs (302, pages and manifests); the player's list names their
 * region's edge first; an edge at maxViewers refuses a media socket with 4503 and sends page visitors to
 * an edge with room, or answers 503 EDGE_AT_CAPACITY when there is none. Start-up refuses a bad map or a
 * missing GeoIP file, naming the entry.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { edgeSchema } from '../../src/common/config/index.js';
import { ConfigError } from '../../src/common/errors/index.js';
import { startEdge, type EdgeNode } from '../../src/edge/main.js';
import {
  SECRET,
  logger,
  publish,
  startNetwork,
  stop,
  waitFor,
  type TestNetwork,
} from '../helpers/network.js';
import { freePort } from '../helpers/hub-process.js';
import { TestViewer } from '../helpers/viewer.js';
import { writeMmdb } from '../helpers/mmdb-writer.js';

let net: TestNetwork;
let pub: ReturnType<typeof publish>;
let eu: EdgeNode;
let us: EdgeNode;
let euUrl: string;
let usUrl: string;
const viewers: TestViewer[] = [];
const dir = mkdtempSync(join(tmpdir(), 'tiercast-edge-sel-'));

function edgeConfig(id: string, port: number, region: string, extra: Record<string, unknown>) {
  return edgeSchema.parse({
    nodeId: id,
    clusterSecret: SECRET,
    http: { host: '127.0.0.1', port },
    upstream: { parents: [net.intermediates[0]!.url] },
    discovery: { region },
    ...extra,
  });
}

before(async () => {
  net = await startNetwork({ intermediates: 1 });
  const [euPort, usPort] = [await freePort(), await freePort()];
  euUrl = `http://127.0.0.1:${euPort}`;
  usUrl = `http://127.0.0.1:${usPort}`;
  // The test runs on 127.0.0.1: a viewer of "us". Both edges share the map and know each other.
  const edgeSelection = (peer: string, region: string) => ({
    regions: [
      { cidr: '127.0.0.0/8', region: 'us' },
      { cidr: '10.0.0.0/8', region: 'eu' },
    ],
    peers: [{ url: peer, region }],
  });
  eu = await startEdge(
    edgeConfig('edge-eu', euPort, 'eu', { edgeSelection: edgeSelection(usUrl, 'us') }),
    logger,
  );
  us = await startEdge(
    edgeConfig('edge-us', usPort, 'us', { edgeSelection: edgeSelection(euUrl, 'eu'), maxViewers: 1 }),
    logger,
  );
  pub = publish(net.rtmpUrl, undefined, 300);
  await waitFor(
    'the us edge carries the stream',
    async () => (await fetch(`${usUrl}/live/cam/manifest.mpd`)).ok,
    30_000,
  );
});

after(async () => {
  for (const v of viewers) v.close();
  await stop(pub);
  await us?.close();
  await eu?.close();
  await net?.close();
  rmSync(dir, { recursive: true, force: true });
});

const noFollow = (url: string) => fetch(url, { redirect: 'manual' });

test("a viewer entering at another region's edge is sent to an edge of their own region", async () => {
  for (const path of [
    '/watch/cam',
    '/embed/cam?autoplay=1',
    '/live/cam/master.m3u8',
    '/live/cam/manifest.mpd',
  ]) {
    const res = await noFollow(`${euUrl}${path}`);
    await res.arrayBuffer();
    assert.equal(res.status, 302, path);
    const location = new URL(res.headers.get('location')!);
    assert.equal(location.origin, usUrl, path);
    assert.equal(location.pathname, path.split('?')[0]);
    assert.equal(location.searchParams.get('redirected'), '1');
    if (path.includes('autoplay')) assert.equal(location.searchParams.get('autoplay'), '1');
  }
  // Followed, the page and the playlist come from the us edge.
  const page = await fetch(`${euUrl}/watch/cam`);
  assert.equal(page.status, 200);
  assert.equal(new URL(page.url).origin, usUrl);
  const master = await fetch(`${euUrl}/live/cam/master.m3u8`);
  assert.equal(master.status, 200);
  assert.match(await master.text(), /#EXT-X-STREAM-INF/);
  // The us edge keeps its own region's viewer.
  const home = await noFollow(`${usUrl}/watch/cam`);
  await home.arrayBuffer();
  assert.equal(home.status, 200);
  // A redirect target never comes from the request: a Host header naming another site changes nothing.
  const forged = await fetch(`${euUrl}/watch/cam`, { redirect: 'manual', headers: { host: 'evil.example' } });
  await forged.arrayBuffer();
  assert.equal(new URL(forged.headers.get('location')!).origin, usUrl);
});

test("the player's edge list names the viewer's region first", async () => {
  for (const base of [euUrl, usUrl]) {
    const res = await fetch(`${base}/api/edges/cam`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const body = (await res.json()) as {
      region: string;
      self: string;
      edges: Array<{ id: string; url: string; region: string }>;
    };
    assert.equal(body.region, 'us');
    assert.equal(body.edges[0]!.url, usUrl, base);
    assert.ok(body.edges.some((e) => e.url === euUrl && e.region === 'eu'));
    assert.equal(body.self, base === euUrl ? 'edge-eu' : 'edge-us');
  }
  const bad = await fetch(`${euUrl}/api/edges/..%2Fetc`);
  assert.equal(bad.status, 404);
});

test('an edge at maxViewers refuses the next media socket with 4503 and sends page visitors elsewhere', async () => {
  const first = new TestViewer(`${usUrl.replace('http', 'ws')}/live/cam/ws`);
  viewers.push(first);
  await first.opened;
  await waitFor('the first viewer receives chunks', () => first.chunks.length > 0, 20_000);
  const second = new TestViewer(`${usUrl.replace('http', 'ws')}/live/cam/ws`);
  viewers.push(second);
  await waitFor('the second viewer is closed', () => second.closed !== undefined, 5000);
  assert.equal(second.closed!.code, 4503);
  assert.match(second.closed!.reason, /^EDGE_AT_CAPACITY: /);
  assert.equal(second.chunks.length, 0);
  // The first viewer is served on as before.
  const before = first.chunks.length;
  await waitFor('the first viewer keeps receiving', () => first.chunks.length > before + 5, 10_000);
  // Full: a newcomer at the page goes to the other edge, which has room (even out of region)...
  const res = await noFollow(`${usUrl}/watch/cam`);
  await res.arrayBuffer();
  assert.equal(res.status, 302);
  assert.equal(new URL(res.headers.get('location')!).origin, euUrl);
  // ...and one already redirected once is not sent on again: "full", with a code and a retry hint.
  const again = await noFollow(`${usUrl}/watch/cam?redirected=1`);
  assert.equal(again.status, 503);
  assert.equal(again.headers.get('retry-after'), '5');
  assert.equal(((await again.json()) as { error: { code: string } }).error.code, 'EDGE_AT_CAPACITY');
  const metrics = await (await fetch(`${usUrl}/metrics`)).text();
  assert.match(metrics, /tiercast_edge_http_requests_total\{[^}]*route="page"[^}]*status="503"[^}]*\} [1-9]/);
  first.close();
  await waitFor(
    'the edge has room again',
    async () => {
      const r = await noFollow(`${usUrl}/watch/cam`);
      await r.arrayBuffer();
      return r.status === 200;
    },
    10_000,
  );
});

test('start-up refuses an overlapping region map and a missing or corrupt GeoIP file, naming them', async () => {
  const port = await freePort();
  const start = (edgeSelection: Record<string, unknown>) =>
    startEdge(edgeConfig('edge-bad', port, 'eu', { edgeSelection }), logger);
  await assert.rejects(
    start({
      regions: [
        { cidr: '10.0.0.0/8', region: 'eu' },
        { cidr: '10.20.0.0/16', region: 'us' },
      ],
    }),
    (e: unknown) => e instanceof ConfigError && /regions\[1\] \(10\.20\.0\.0\/16\) overlaps/.test(e.message),
  );
  const missing = join(dir, 'nope.mmdb');
  await assert.rejects(
    start({ geoip: { database: missing, regions: { DE: 'eu' } } }),
    (e: unknown) =>
      e instanceof ConfigError && e.message.includes('missing') && JSON.stringify(e).includes(missing),
  );
  const corrupt = join(dir, 'corrupt.mmdb');
  writeFileSync(corrupt, 'this is not a database');
  await assert.rejects(
    start({ geoip: { database: corrupt, regions: { DE: 'eu' } } }),
    (e: unknown) => e instanceof ConfigError && /not a MaxMind DB file/.test(e.message),
  );
  // Nothing was left listening by the refused starts.
  await assert.rejects(fetch(`http://127.0.0.1:${port}/healthz`));
});

test('with a GeoIP database, a viewer the CIDR map does not place is placed by country', async () => {
  const db = join(dir, 'geo.mmdb');
  writeMmdb(db, [{ cidr: '127.0.0.0/8', data: { country: { iso_code: 'DE' }, continent: { code: 'EU' } } }]);
  const port = await freePort();
  const geo = await startEdge(
    edgeConfig('edge-geo', port, 'us', {
      edgeSelection: {
        geoip: { database: db, regions: { DE: 'eu' } },
        peers: [{ url: euUrl, region: 'eu' }],
      },
    }),
    logger,
  );
  try {
    const res = await noFollow(`http://127.0.0.1:${port}/watch/cam`);
    await res.arrayBuffer();
    assert.equal(res.status, 302);
    assert.equal(new URL(res.headers.get('location')!).origin, euUrl);
    const list = (await (await fetch(`http://127.0.0.1:${port}/api/edges/cam`)).json()) as { region: string };
    assert.equal(list.region, 'eu');
  } finally {
    await geo.close();
  }
});
