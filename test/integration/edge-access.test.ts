/**
 * Access to password-protected streams at the edge, with real processes (a hub, the tree, ffmpeg publishing):
 * check first, send after. A cold edge that has no directory from its hub sends nothing of a protected
 * stream to a viewer without the access cookie; removing the password lets video through again without a
 * republish, and setting it closes open media sockets without a token with 4403. No request header reaches
 * a served document.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { request } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { edgeSchema } from '../../src/common/config/index.js';
import { startEdge, type EdgeNode } from '../../src/edge/main.js';
import { accessCookie, deriveKey, signAccess } from '../../src/common/protocol/session-tokens.js';
import {
  SECRET,
  logger,
  publish,
  startNetwork,
  stop,
  waitFor,
  type TestNetwork,
  waitForProtection,
} from '../helpers/network.js';
import { HubProcess, cli, freePort } from '../helpers/hub-process.js';

const dataDir = mkdtempSync(join(tmpdir(), 'tiercast-access-'));
const cookie = `${accessCookie('vault')}=${signAccess(deriveKey(SECRET, 'stream-access'), 'vault', 3_600_000)}`;
let hub: HubProcess;
let net: TestNetwork;
let pub: ReturnType<typeof publish> | undefined;
let silentHub: Server;
const held: Socket[] = [];
let cold: EdgeNode | undefined;

before(async () => {
  const add = await cli([
    'streamer',
    'add',
    '--name',
    'vault',
    '--password',
    'open sesame',
    '--data-dir',
    dataDir,
  ]);
  assert.equal(add.code, 0, add.stderr);
  const key = /stream key \(shown once\): (\S+)/.exec(add.stdout)![1]!;
  // The admin CLI writes the store and edges learn it with the hub's next directory push: every second here
  // instead of the default 5 s, so the tests that wait for it wait less (the path is the same).
  hub = new HubProcess(await freePort(), dataDir, [], { TIERCAST_DIRECTORY_PUSH_INTERVAL_MS: '1000' });
  await hub.start();
  net = await startNetwork({ intermediates: 1, hubUrl: hub.url });
  pub = publish(net.rtmpUrl, key, 180);
  await waitFor(
    'vault live on the edge',
    async () => {
      const l = (await (await fetch(`${net.edgeUrl}/api/streams`)).json()) as Array<{
        name: string;
        live: boolean;
      }>;
      return l.some((s) => s.name === 'vault' && s.live);
    },
    30_000,
  );
  // A "hub" that accepts connections and never answers: the cold edge never gets a directory.
  silentHub = createServer((s) => held.push(s.on('error', () => undefined)));
  await new Promise<void>((r) => silentHub.listen(0, '127.0.0.1', r));
});

after(async () => {
  await cold?.close();
  for (const s of held) s.destroy();
  silentHub.close();
  if (pub) await stop(pub);
  await net.close();
  await hub.kill();
});

/** Everything a media-socket viewer receives until it is closed or `ms` pass. */
function watch(url: string, headers: Record<string, string> = {}, ms = 6000) {
  const got = {
    binaryBytes: 0,
    texts: [] as Array<{ type: string }>,
    close: undefined as undefined | { code: number; reason: string },
    status: 0,
  };
  const ws = new WebSocket(url, { headers });
  ws.on('message', (data: Buffer, isBinary) => {
    if (isBinary) got.binaryBytes += data.length;
    else got.texts.push(JSON.parse(data.toString()) as { type: string });
  });
  ws.on('unexpected-response', (_req, res) => {
    got.status = res.statusCode ?? 0;
    ws.terminate();
  });
  ws.on('error', () => undefined);
  const done = new Promise<typeof got>((resolve) => {
    const t = setTimeout(() => {
      ws.terminate();
      resolve(got);
    }, ms);
    ws.on('close', (code, reason) => {
      got.close = { code, reason: reason.toString() };
      clearTimeout(t);
      resolve(got);
    });
  });
  return { ws, got, done };
}

test('a cold edge (no directory from its hub yet) sends nothing of a protected stream to a viewer without the cookie', async () => {
  const edge = (cold = await startEdge(
    edgeSchema.parse({
      nodeId: 'edge-cold',
      clusterSecret: SECRET,
      http: { host: '127.0.0.1', port: 0 },
      upstream: { parents: [net.intermediates[0]!.url], idleUnsubscribeMs: 2000 },
      hub: { url: `http://127.0.0.1:${(silentHub.address() as { port: number }).port}` },
    }),
    logger,
  ));
  const wsUrl = `${edge.url.replace('http', 'ws')}/live/vault/ws`;
  const v = await watch(wsUrl).done;
  assert.equal(v.binaryBytes, 0, 'no init segment or chunk');
  assert.deepEqual(
    v.texts.filter((t) => t.type === 'info'),
    [],
    'not even the stream description',
  );
  assert.equal(v.close?.code, 4403);
  assert.match(v.close.reason, /^PASSWORD_REQUIRED/);
  // Every other path, now that the stream is known here: refused with the code, no bytes of media.
  for (const p of ['/live/vault/manifest.mpd', '/live/vault/v360/init.mp4', '/live/vault/v360/1.m4s']) {
    const r = await fetch(`${edge.url}${p}`);
    assert.equal(r.status, 403, p);
    assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'PASSWORD_REQUIRED', p);
  }
  // With the token the same cold edge serves it.
  const ok = await waitFor('media with the token', async () => {
    const w = await watch(wsUrl, { cookie }, 3000).done;
    return w.binaryBytes > 0 && w;
  });
  assert.equal(ok.texts[0]?.type, 'info');
});

test('removing the password serves video again without a republish; setting it closes sockets without a token (4403)', async () => {
  const edgeWs = `${net.edgeUrl.replace('http', 'ws')}/live/vault/ws`;
  assert.equal((await fetch(`${net.edgeUrl}/live/vault/manifest.mpd`)).status, 403);
  assert.equal(
    (await cli(['streamer', 'set', '--name', 'vault', '--no-password', '--data-dir', dataDir])).code,
    0,
  );
  // The CLI writes the store; edges learn it with the hub's next directory push (every second here).
  await waitForProtection(net.edgeUrl, 'vault', false);
  // The publish (and its StreamInfo, still saying "protected") is the same one: no republish.
  const mpd = await fetch(`${net.edgeUrl}/live/vault/manifest.mpd`);
  assert.equal(mpd.status, 200, 'MPD served');
  assert.equal((await fetch(`${net.edgeUrl}/live/vault/v360/init.mp4`)).status, 200, 'init segment served');
  const open = watch(edgeWs, {}, 60_000);
  const tokened = watch(edgeWs, { cookie }, 60_000);
  await waitFor(
    'media flows without a cookie',
    () => open.got.binaryBytes > 0 && tokened.got.binaryBytes > 0,
  );

  assert.equal(
    (await cli(['streamer', 'set', '--name', 'vault', '--password', 'open sesame', '--data-dir', dataDir]))
      .code,
    0,
  );
  const closed = await open.done;
  assert.equal(closed.close?.code, 4403, 'the viewer without a token is closed');
  assert.match(closed.close.reason, /^PASSWORD_REQUIRED/);
  assert.equal(tokened.got.close, undefined, 'the viewer with a token keeps watching');
  const before = tokened.got.binaryBytes;
  await waitFor('media still flows to the viewer with a token', () => tokened.got.binaryBytes > before);
  tokened.ws.close();
  assert.equal((await fetch(`${net.edgeUrl}/live/vault/manifest.mpd`)).status, 403);
});

/** GET with an arbitrary Host header (fetch does not allow setting it). */
function getWithHost(
  url: string,
  host: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { ...headers, host } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('a hostile Host header never reaches a served document', async () => {
  const hostile = 'evil.example"/><script>alert(1)</script><x a="';
  const docs = [
    '/',
    '/login',
    '/dashboard',
    '/watch/vault',
    '/live/vault/manifest.mpd',
    '/api/streams',
    '/time',
    '/healthz',
    '/no/such/page',
  ];
  for (const p of docs) {
    const r = await getWithHost(`${net.edgeUrl}${p}`, hostile, { cookie });
    assert.ok(!r.body.includes('evil.example'), `${p} (${r.status}) reflects the Host header`);
  }
  const mpd = await getWithHost(`${net.edgeUrl}/live/vault/manifest.mpd`, hostile, { cookie });
  assert.equal(mpd.status, 200);
  assert.match(mpd.body, /<UTCTiming schemeIdUri="urn:mpeg:dash:utc:http-iso:2014" value="\/time"\/>/);
});
