/**
 * The HTTP conventions browsers, caches and operators' tools expect from an edge, on a real tree with a live
 * stream: HEAD wherever GET exists (same status and headers, no body, the connection still usable), page
 * assets sent brotli- or gzip-compressed with an ETag that turns a revalidation into a 304, and a 404 that
 * is a page for a browser and JSON for anything else. Read over raw sockets and node:http, which (unlike
 * fetch) show the bytes as sent.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { publishLive, stop, startNetwork, waitFor, type TestNetwork } from '../helpers/network.js';

const cacheDir = mkdtempSync(join(tmpdir(), 'tiercast-static-cache-'));

let net: TestNetwork;
let pub: Awaited<ReturnType<typeof publishLive>>['pub'];
let port = 0;

before(async () => {
  net = await startNetwork({ intermediates: 1, edge: { staticCacheDir: cacheDir } });
  port = net.edge.port;
  ({ pub } = await publishLive(net, 120, () => undefined));
  await waitFor(
    'the playlist',
    async () => (await fetch(`${net.edgeUrl}/live/cam/v360/playlist.m3u8`)).ok,
    30_000,
  );
});

after(async () => {
  await stop(pub);
  await net?.close();
  rmSync(cacheDir, { recursive: true, force: true });
});

interface Raw {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

function get(path: string, headers: Record<string, string> = {}): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: Object.fromEntries(Object.entries(res.headers).map(([k, v]) => [k, String(v)])),
          body: Buffer.concat(parts),
        }),
      );
    });
    req.on('error', reject);
    req.setTimeout(15_000, () => req.destroy(new Error(`no answer for GET ${path} in 15 s`)));
    req.end();
  });
}

/**
 * HEAD with `Connection: close`, read to the end as bytes: the answer must end at its blank line. (Not
 * pipelined with another request: uWebSockets.js aborts a held answer when the next request arrives on its
 * connection, which browsers never do.)
 */
function head(path: string): Promise<{ head: string; rest: string }> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let data = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no answer for HEAD ${path}: ${JSON.stringify(data.slice(0, 300))}`));
    }, 15_000);
    s.setEncoding('latin1');
    s.on('data', (d: string) => (data += d));
    s.on('close', () => {
      clearTimeout(timer);
      const end = data.indexOf('\r\n\r\n');
      if (end < 0) reject(new Error(`HEAD ${path}: closed without an answer: ${JSON.stringify(data)}`));
      else resolve({ head: data.slice(0, end), rest: data.slice(end + 4) });
    });
    s.on('error', reject);
    s.write(`HEAD ${path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n`);
  });
}

const statusOf = (head: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]);
const headerOf = (head: string, name: string) => new RegExp(`\r\n${name}: ([^\r\n]*)`, 'i').exec(head)?.[1];

test('HEAD answers wherever GET does: the same status and headers, the length, and no body', async () => {
  const playlist = await (await fetch(`${net.edgeUrl}/live/cam/v360/playlist.m3u8`)).text();
  const hint = /#EXT-X-PRELOAD-HINT:TYPE=PART,URI="([^"]+)"/.exec(playlist)?.[1];
  assert.ok(hint, 'the LL-HLS playlist hints the next part');
  const paths = [
    '/',
    '/watch/cam',
    '/static/watch.js',
    '/api/streams',
    '/healthz',
    '/live/cam/manifest.mpd',
    '/live/cam/master.m3u8',
    '/live/cam/v360/init.mp4',
    // A part not written yet: the GET would stream it as it is made.
    `/live/cam/v360/${hint}`,
    '/nowhere',
  ];
  for (const path of paths) {
    const h = await head(path);
    assert.equal(h.rest, '', `HEAD ${path}: nothing after its headers`);
    const got = await get(path);
    assert.equal(statusOf(h.head), got.status, `HEAD ${path} status`);
    assert.equal(headerOf(h.head, 'content-type'), got.headers['content-type'], `HEAD ${path} type`);
    const length = headerOf(h.head, 'content-length');
    // Documents of a live stream change between the two requests; files do not.
    if (!path.startsWith('/live/') && path !== '/api/streams')
      assert.equal(Number(length), got.body.length, `HEAD ${path} content-length`);
  }
  // The edge still serves after HEADs that cut streaming answers short.
  assert.equal((await get('/live/cam/v360/init.mp4')).status, 200);
});

test('scripts and pages go out brotli- or gzip-compressed, identical once decoded, compressed once per machine', async () => {
  const plain = await get('/static/dash.all.min.js');
  assert.equal(plain.headers['content-encoding'], undefined, 'no Accept-Encoding: as it is');
  assert.equal(plain.headers.vary, 'accept-encoding');
  // Copies are made on first demand, off the event loop: until then the file goes out as it is.
  const br = await waitFor(
    'the brotli copy',
    async () => {
      const r = await get('/static/dash.all.min.js', { 'accept-encoding': 'gzip, deflate, br' });
      return r.headers['content-encoding'] === 'br' ? r : false;
    },
    60_000,
    250,
  );
  assert.ok(brotliDecompressSync(br.body).equals(plain.body), 'brotli decodes to the file');
  assert.ok(br.body.length < plain.body.length / 3, `brotli ${br.body.length} of ${plain.body.length}`);
  const gz = await get('/static/dash.all.min.js', { 'accept-encoding': 'gzip' });
  assert.equal(gz.headers['content-encoding'], 'gzip');
  assert.ok(gunzipSync(gz.body).equals(plain.body), 'gzip decodes to the file');
  const refused = await get('/static/dash.all.min.js', { 'accept-encoding': 'br;q=0, gzip;q=0' });
  assert.equal(refused.headers['content-encoding'], undefined, 'q=0 refuses an encoding');
  const etag = plain.headers.etag!;
  assert.match(etag, /^W\/"[\w-]{22}"$/);
  assert.ok(existsSync(join(cacheDir, `${etag.slice(3, -1)}.br`)), 'the copy is kept for other processes');

  // A revalidation: 304, no body, the same validator.
  const again = await get('/static/dash.all.min.js', { 'if-none-match': etag, 'accept-encoding': 'br' });
  assert.equal(again.status, 304);
  assert.equal(again.body.length, 0);
  assert.equal(again.headers.etag, etag);
  const page = await get('/watch/cam', { 'accept-encoding': 'gzip' });
  assert.equal(page.headers['cache-control'], 'no-cache', 'pages are revalidated on every visit');
  assert.equal((await get('/watch/cam', { 'if-none-match': page.headers.etag! })).status, 304);
  // Media is never compressed (it already is) and keeps its own caching rules.
  const init = await get('/live/cam/v360/init.mp4', { 'accept-encoding': 'br, gzip' });
  assert.equal(init.headers['content-encoding'], undefined);
});

test('a 404 is a page for a browser and JSON with a code for anything else', async () => {
  const html = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };
  for (const path of ['/nowhere', '/watch/not%20a%20name']) {
    const page = await get(path, html);
    assert.equal(page.status, 404, path);
    assert.match(page.headers['content-type']!, /^text\/html/, path);
    assert.match(page.body.toString(), /<a href="\/"[\s>]/, `${path}: a way back home`);
  }
  const api = await get('/nowhere', { accept: 'application/json' });
  assert.equal(api.status, 404);
  assert.equal((JSON.parse(api.body.toString()) as { error: { code: string } }).error.code, 'NOT_FOUND');
  const proxied = await get('/api/nothing-here', html);
  assert.match(
    proxied.headers['content-type']!,
    /^application\/json/,
    '/api answers JSON, even to a browser',
  );
});
