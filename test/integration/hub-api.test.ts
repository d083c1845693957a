/**
 * The hub's HTTP surfaces with real processes: the admin CLI round trip, stream keys checked by the hub
 * (rotation stops the old key at once), password-protected streams refused at every path until the viewer
 * proves the password, accounts with CSRF, and the remote-control API with right and wrong credentials.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import WebSocket from 'ws';
import { AUTH_HEADER, createClusterToken, type ClusterPurpose } from '../../src/common/protocol/index.js';
import {
  SECRET,
  exited,
  publish,
  startNetwork,
  stop,
  waitFor,
  type TestNetwork,
  waitForProtection,
} from '../helpers/network.js';
import { HubProcess, cli, freePort } from '../helpers/hub-process.js';
import { ChatClient } from '../helpers/chat-client.js';

const dataDir = mkdtempSync(join(tmpdir(), 'tiercast-hubapi-'));
let hub: HubProcess;
let net: TestNetwork;
let key: string;
let pub: ReturnType<typeof publish> | undefined;

before(async () => {
  const add = await cli([
    'streamer',
    'add',
    '--name',
    'vault',
    '--title',
    'Secret stuff',
    '--category',
    'Talk',
    '--data-dir',
    dataDir,
  ]);
  assert.equal(add.code, 0, add.stderr);
  key = /stream key \(shown once\): (\S+)/.exec(add.stdout)![1]!;
  // The admin CLI writes the store directly and edges learn it with the hub's next directory push: every
  // second here instead of the default 5 s, so the tests that wait for it wait less (the path is the same).
  hub = new HubProcess(await freePort(), dataDir, [], { TIERCAST_DIRECTORY_PUSH_INTERVAL_MS: '1000' });
  await hub.start();
  net = await startNetwork({ intermediates: 1, hubUrl: hub.url });
});

after(async () => {
  if (pub) await stop(pub);
  await net.close();
  await hub.kill();
});

test('admin CLI: add, list, set, duplicate and unknown names, remove', async () => {
  const list = await cli(['streamer', 'list', '--data-dir', dataDir]);
  assert.equal(list.code, 0);
  assert.match(list.stdout, /vault/);
  assert.ok(!list.stdout.includes(key), 'list never shows keys');
  const dup = await cli(['streamer', 'add', '--name', 'vault', '--data-dir', dataDir]);
  assert.equal(dup.code, 2);
  assert.match(dup.stderr, /DUPLICATE_NAME/);
  const unknown = await cli(['streamer', 'set', '--name', 'nobody', '--title', 'x', '--data-dir', dataDir]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /UNKNOWN_NAME/);
  const bad = await cli(['streamer', 'add', '--name', 'bad name!', '--data-dir', dataDir]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /INVALID_VALUE/);
  const tmp = await cli([
    'streamer',
    'add',
    '--name',
    "x');DROP_TABLE",
    '--key',
    'k'.repeat(20),
    '--data-dir',
    dataDir,
  ]);
  assert.equal(tmp.code, 2, 'SQL metacharacters are refused as a name, not executed');
  assert.equal(
    (
      await cli([
        'streamer',
        'add',
        '--name',
        'temp',
        '--title',
        "Bobby'); DROP TABLE streamers;--",
        '--data-dir',
        dataDir,
      ])
    ).code,
    0,
  );
  assert.match((await cli(['streamer', 'list', '--data-dir', dataDir])).stdout, /DROP TABLE streamers/);
  assert.equal((await cli(['streamer', 'remove', '--name', 'temp', '--data-dir', dataDir])).code, 0);
  assert.ok(!(await cli(['streamer', 'list', '--data-dir', dataDir])).stdout.includes('temp'));
  const u = await cli([
    'user',
    'add',
    '--name',
    'admin1',
    '--password',
    'correct horse battery',
    '--role',
    'admin',
    '--data-dir',
    dataDir,
  ]);
  assert.equal(u.code, 0, u.stderr);
  assert.match((await cli(['user', 'list', '--data-dir', dataDir])).stdout, /admin1\s+admin/);
  const db = readdirSync(dataDir)
    .map((f) => readFileSync(join(dataDir, f)).toString('latin1'))
    .join('');
  assert.ok(
    !db.includes(key) && !db.includes('correct horse battery'),
    'no key or password in clear in the database files',
  );
});

test('the ingress checks keys with the hub; a rotated key stops working at once', async () => {
  pub = publish(net.rtmpUrl, key, 120);
  await waitFor('vault live', async () =>
    (
      (await (await fetch(`${net.edgeUrl}/api/streams`)).json()) as Array<{ name: string; live: boolean }>
    ).some((s) => s.name === 'vault' && s.live),
  );
  const rotated = await cli(['streamer', 'set', '--name', 'vault', '--rotate-key', '--data-dir', dataDir]);
  assert.equal(rotated.code, 0, rotated.stderr);
  const old = publish(net.rtmpUrl, key, 5);
  assert.notEqual(await exited(old), 0, 'the old key is refused');
  assert.match(old.stderrText(), /Invalid stream key|BadName|error/i);
  key = /new stream key \(shown once\): (\S+)/.exec(rotated.stdout)![1]!;
});

test("a streamer's transcode mode set at the hub applies on the ingress: off is Source only", async () => {
  if (pub) await stop(pub);
  pub = undefined;
  const set = await cli(['streamer', 'set', '--name', 'vault', '--transcode', 'off', '--data-dir', dataDir]);
  assert.equal(set.code, 0, set.stderr);
  assert.match((await cli(['streamer', 'list', '--data-dir', dataDir])).stdout, /vault .*\boff\b/);
  const bad = await cli([
    'streamer',
    'set',
    '--name',
    'vault',
    '--transcode',
    'cheap',
    '--data-dir',
    dataDir,
  ]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /INVALID_VALUE.*ladder, passthrough, off, default/);
  await waitFor('vault offline', () => !net.ingress.live.has('vault'), 15_000);
  pub = publish(net.rtmpUrl, key, 120);
  const master = await waitFor(
    'vault master playlist',
    async () => {
      const r = await fetch(`${net.edgeUrl}/live/vault/master.m3u8`);
      return r.ok ? r.text() : false;
    },
    30_000,
    250,
  );
  const renditions = [...master.matchAll(/^(\w+)\/playlist\.m3u8$/gm)].map((m) => m[1]);
  assert.deepEqual(renditions, ['src'], master);
  // Back to the ingress's own mode: the ladder again on the next publish.
  await stop(pub);
  pub = undefined;
  const reset = await cli([
    'streamer',
    'set',
    '--name',
    'vault',
    '--transcode',
    'default',
    '--data-dir',
    dataDir,
  ]);
  assert.equal(reset.code, 0, reset.stderr);
  assert.match((await cli(['streamer', 'list', '--data-dir', dataDir])).stdout, /vault .*\bdefault\b/);
  // The tests below watch vault live.
  await waitFor('vault offline', () => !net.ingress.live.has('vault'), 15_000);
  pub = publish(net.rtmpUrl, key, 120);
  await waitFor('vault live again', async () =>
    (
      (await (await fetch(`${net.edgeUrl}/api/streams`)).json()) as Array<{ name: string; live: boolean }>
    ).some((s) => s.name === 'vault' && s.live),
  );
});

/** Sends a path exactly as given (like `curl --path-as-is`): fetch would resolve dot segments first. */
function rawRequest(
  base: string,
  method: string,
  path: string,
  body = '',
): Promise<{ status: number; text: string }> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const sock = connect(Number(u.port), u.hostname, () => {
      sock.write(
        `${method} ${path} HTTP/1.1\r\nHost: ${u.host}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    });
    let data = '';
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => (data += d));
    sock.on('error', reject);
    sock.on('close', () =>
      resolve({ status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(data)?.[1] ?? 0), text: data }),
    );
  });
}

test('the edge forwards only account routes to the hub: cluster-only routes stay out of reach, however spelled', async () => {
  const live = async () =>
    (
      (await (await fetch(`${net.edgeUrl}/api/streams`)).json()) as Array<{ name: string; live: boolean }>
    ).find((s) => s.name === 'vault')?.live;
  assert.equal(await live(), true);
  const attempts: Array<[string, string, string]> = [];
  for (const prefix of [
    '/api/..',
    '/api/%2e%2e',
    '/api/.%2E',
    '/api/..;',
    '/api\\..',
    '/api/me/../..',
    '//api/..',
    '/api/%252e%252e',
  ]) {
    attempts.push(['POST', `${prefix}/internal/streams/vault/live`, '{"live":false}']);
    attempts.push(['PUT', `${prefix}/internal/streams/vault/thumbnail`, '\u00ff\u00d8junk']);
    attempts.push(['POST', `${prefix}/internal/publish/authorize`, JSON.stringify({ key })]);
  }
  for (const [method, path, body] of attempts) {
    const r = await rawRequest(net.edgeUrl, method, path, body);
    assert.ok([400, 404, 405].includes(r.status), `${method} ${path} answered ${r.status}`);
    assert.ok(!r.text.includes('"name":"vault"'), `${path} must not be a stream-key oracle`);
  }
  assert.equal(await live(), true, 'vault is still live in the directory');
  // The account routes still work through the proxy, spelled oddly or not.
  const csrf = await rawRequest(net.edgeUrl, 'GET', '/api//auth/./csrf');
  assert.equal(csrf.status, 200);
  assert.match(csrf.text, /"csrf":/);

  // Defence in depth: even a request that reached the hub with the token an edge forwards viewers' calls
  // with is refused by the cluster-only routes, and a node's own token opens no account route.
  const hubPost = (path: string, purpose: ClusterPurpose, body: unknown) =>
    fetch(`${hub.url}${path}`, {
      method: 'POST',
      headers: {
        [AUTH_HEADER]: createClusterToken(SECRET, 'edge-t', purpose),
        'content-type': 'application/json',
      },
      body: JSON.stringify(body),
    });
  for (const purpose of ['viewer-proxy', 'relay', 'hub-link'] as const) {
    const r = await hubPost('/internal/streams/vault/live', purpose, { live: false });
    assert.equal(r.status, 401, `${purpose} token on a cluster-only route`);
    assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'CLUSTER_AUTH_FAILED');
    assert.equal((await hubPost('/internal/publish/authorize', purpose, { key })).status, 401);
  }
  assert.equal((await hubPost('/edge-api/auth/login', 'node-api', { name: 'x', password: 'y' })).status, 401);
  assert.equal(await live(), true);
});

test('a password-protected stream is refused at every path until the viewer proves the password', async () => {
  const set = await cli([
    'streamer',
    'set',
    '--name',
    'vault',
    '--password',
    'open sesame',
    '--data-dir',
    dataDir,
  ]);
  assert.equal(set.code, 0, set.stderr);
  await waitForProtection(net.edgeUrl, 'vault', true);
  const paths = ['/live/vault/manifest.mpd', '/live/vault/v360/init.mp4', '/live/vault/v360/3.m4s'];
  for (const p of paths) {
    const r = await fetch(`${net.edgeUrl}${p}`);
    assert.equal(r.status, 403, p);
    assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'PASSWORD_REQUIRED', p);
  }
  const wsStatus = (path: string, cookie?: string) =>
    new Promise<number>((resolve) => {
      const ws = new WebSocket(`${net.edgeUrl.replace('http', 'ws')}${path}`, {
        headers: cookie ? { cookie } : {},
      });
      ws.on('unexpected-response', (_q, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => {
        ws.terminate();
        resolve(101);
      });
      ws.on('error', () => undefined);
    });
  assert.equal(await wsStatus('/live/vault/ws'), 403);
  assert.equal(await wsStatus('/chat/vault'), 403);
  const thumb = (await (await fetch(`${net.edgeUrl}/api/streams`)).json()) as Array<{
    name: string;
    thumbnail: string | null;
  }>;
  assert.equal(thumb.find((s) => s.name === 'vault')?.thumbnail, null, 'no thumbnail leaks a private stream');

  const csrf = await csrfPair();
  const wrong = await post('/api/streams/vault/unlock', { password: 'nope' }, csrf);
  assert.equal(wrong.status, 401);
  const noCsrf = await fetch(`${net.edgeUrl}/api/streams/vault/unlock`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ password: 'open sesame' }),
  });
  assert.equal(noCsrf.status, 403, 'CSRF header required');
  const right = await post('/api/streams/vault/unlock', { password: 'open sesame' }, csrf);
  assert.equal(right.status, 200);
  const access = right.headers.getSetCookie().find((c) => c.startsWith('tc_access_vault='))!;
  assert.match(access, /HttpOnly/);
  const cookie = access.split(';')[0]!;
  const mpd = await fetch(`${net.edgeUrl}/live/vault/manifest.mpd`, { headers: { cookie } });
  assert.equal(mpd.status, 200);
  assert.equal(await wsStatus('/live/vault/ws', cookie), 101);
  assert.equal(await wsStatus('/chat/vault', cookie), 101);
  const forged = cookie.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
  assert.equal(
    (await fetch(`${net.edgeUrl}/live/vault/manifest.mpd`, { headers: { cookie: forged } })).status,
    403,
    'a forged token is refused',
  );
  const otherStream = cookie.replace('tc_access_vault', 'tc_access_other');
  assert.equal(
    (await fetch(`${net.edgeUrl}/live/vault/manifest.mpd`, { headers: { cookie: otherStream } })).status,
    403,
  );
  assert.equal(
    (await cli(['streamer', 'set', '--name', 'vault', '--no-password', '--data-dir', dataDir])).code,
    0,
  );
  // The CLI writes the store directly; edges learn it with the hub's next directory push (every second here).
  await waitForProtection(net.edgeUrl, 'vault', false);
});

test('accounts: register, log in, follow; wrong password and bad names refused; no secret in responses', async () => {
  const csrf = await csrfPair();
  const reg = await post('/api/auth/register', { name: 'viewer1', password: 'hunter2hunter2' }, csrf);
  assert.equal(reg.status, 201, await reg.clone().text());
  const session = reg.headers.getSetCookie().find((c) => c.startsWith('tc_session='))!;
  assert.match(session, /HttpOnly/);
  assert.match(session, /SameSite=Strict/);
  const dup = await post('/api/auth/register', { name: 'viewer1', password: 'hunter2hunter2' }, csrf);
  assert.equal(dup.status, 409);
  const badLogin = await post('/api/auth/login', { name: 'viewer1', password: 'wrong-password' }, csrf);
  assert.equal(badLogin.status, 401);
  const cookie = `${session.split(';')[0]}; tc_csrf=${csrf}`;
  const follow = await fetch(`${net.edgeUrl}/api/follows/vault`, {
    method: 'PUT',
    headers: { cookie, 'x-tiercast-csrf': csrf },
  });
  assert.equal(follow.status, 200, await follow.clone().text());
  const me = (await (await fetch(`${net.edgeUrl}/api/me`, { headers: { cookie } })).json()) as {
    user: { name: string };
    following: Array<{ name: string; live: boolean }>;
  };
  assert.equal(me.user.name, 'viewer1');
  assert.deepEqual(me.following, [{ name: 'vault', live: true }]);
  const text = JSON.stringify(me) + (await reg.text());
  assert.ok(!text.includes('hunter2'));
});

test('a look-alike of a streamer’s name cannot be registered; the streamer claims it with the key and manages the channel', async () => {
  const csrf = await csrfPair();
  // Each attempt counts against the login rate limit (10/min) this file's tests share: one spelling with both
  // a case and a digit look-alike stands for the class (test/unit/names.test.ts and the store tests cover the rest).
  for (const name of ['VAU1T']) {
    const r = await post('/api/auth/register', { name, password: 'hunter2hunter2' }, csrf);
    assert.equal(r.status, 409, `${name}: ${await r.clone().text()}`);
    assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'DUPLICATE_NAME');
  }
  const keyLogin = await post('/api/auth/streamer', { key }, csrf);
  assert.equal(keyLogin.status, 200);
  const streamerCookie = keyLogin.headers
    .getSetCookie()
    .find((c) => c.startsWith('tc_session='))!
    .split(';')[0]!;
  const claim = await fetch(`${net.edgeUrl}/api/auth/register`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-tiercast-csrf': csrf,
      cookie: `${streamerCookie}; tc_csrf=${csrf}`,
    },
    body: JSON.stringify({ name: 'vault', password: 'vault-own-password' }),
  });
  assert.equal(claim.status, 201, await claim.clone().text());
  // Registering logs the new account in: its session is the account's, not the stream-key login's.
  const account = claim.headers
    .getSetCookie()
    .find((c) => c.startsWith('tc_session='))!
    .split(';')[0]!;
  assert.notEqual(account, streamerCookie);
  const dash = await fetch(`${net.edgeUrl}/api/dashboard`, { headers: { cookie: account } });
  assert.equal(dash.status, 200, 'the streamer’s own account manages the channel');
  const other = await post('/api/auth/register', { name: 'bystander', password: 'hunter2hunter2' }, csrf);
  const otherCookie = other.headers
    .getSetCookie()
    .find((c) => c.startsWith('tc_session='))!
    .split(';')[0]!;
  assert.equal(
    (await fetch(`${net.edgeUrl}/api/dashboard`, { headers: { cookie: otherCookie } })).status,
    403,
  );
});

test('remote-control API: works with the streamer credentials, refuses the wrong ones', async () => {
  const basic = (n: string, k: string) => ({
    authorization: `Basic ${Buffer.from(`${n}:${k}`).toString('base64')}`,
  });
  const api = `${hub.url}/api/v1/streams/vault`;
  assert.equal((await fetch(api)).status, 401);
  assert.equal((await fetch(api, { headers: basic('vault', 'wrong-key-wrong-key') })).status, 401);
  const info = await fetch(api, { headers: basic('vault', key) });
  assert.equal(info.status, 200);
  const body = (await info.json()) as {
    live: boolean;
    title: string;
    viewers: number;
    chatMembers: string[];
  };
  assert.equal(body.live, true);
  assert.equal(body.title, 'Secret stuff');
  const viewer = new ChatClient(net.edgeUrl, 'vault', { name: 'fan' });
  await viewer.opened;
  await waitFor('fan in chat', async () =>
    (
      (await (await fetch(api, { headers: basic('vault', key) })).json()) as { chatMembers: string[] }
    ).chatMembers.includes('fan'),
  );
  const tokenRes = await fetch(`${hub.url}/api/v1/token`, { method: 'POST', headers: basic('vault', key) });
  const { token } = (await tokenRes.json()) as { token: string };
  const bearer = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const patch = await fetch(api, {
    method: 'PATCH',
    headers: bearer,
    body: JSON.stringify({ title: 'New <b>title</b>' }),
  });
  assert.equal(patch.status, 200);
  assert.equal(((await patch.json()) as { title: string }).title, 'New <b>title</b>');
  const sent = await fetch(`${api}/chat`, {
    method: 'POST',
    headers: bearer,
    body: JSON.stringify({ text: 'hello from the API' }),
  });
  assert.equal(sent.status, 201);
  await waitFor('viewer sees the host message', () =>
    viewer.messages().some((m) => m.text === 'hello from the API' && m.badge === 'host'),
  );
  const recent = (await (await fetch(`${api}/chat?limit=5`, { headers: bearer })).json()) as {
    messages: Array<{ text: string }>;
  };
  assert.ok(recent.messages.some((m) => m.text === 'hello from the API'));
  const bad = await fetch(api, {
    method: 'PATCH',
    headers: bearer,
    body: JSON.stringify({ title: 'x'.repeat(500) }),
  });
  assert.equal(bad.status, 400);
  const other = await fetch(`${hub.url}/api/v1/streams/somebody-else`, { headers: bearer });
  assert.equal(other.status, 403);
  viewer.close();
});

async function csrfPair(): Promise<string> {
  return ((await (await fetch(`${net.edgeUrl}/api/auth/csrf`)).json()) as { csrf: string }).csrf;
}

function post(path: string, body: unknown, csrf: string): Promise<Response> {
  return fetch(`${net.edgeUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-tiercast-csrf': csrf, cookie: `tc_csrf=${csrf}` },
    body: JSON.stringify(body),
  });
}
