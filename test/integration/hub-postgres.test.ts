/**
 * A real hub process on PostgreSQL (`store: postgres` in its config file): the admin CLI adds a streamer
 * through the same config, the hub finds it and a streamer logs in with the key through the hub's API;
 * the connection URL's password never shows in the CLI's output, even when the connection is refused; a
 * config with `store: postgres` and no URL is a clear config error.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AUTH_HEADER, createClusterToken } from '../../src/common/protocol/index.js';
import { HubProcess, cli, freePort } from '../helpers/hub-process.js';
import { SECRET } from '../helpers/network.js';
import { postgresMissing, startPostgres, type PgCluster } from '../helpers/postgres.js';

const missing = postgresMissing();
const PASSWORD = 'pw-Zq81-never-printed';
const KEY = 'pg-cam-key-0123456789abcdef';
const dir = mkdtempSync(join(tmpdir(), 'tiercast-hub-pg-'));
let cluster: PgCluster | undefined;
let hub: HubProcess | undefined;
let config = '';

const writeConfig = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

before(async () => {
  if (missing) return;
  cluster = await startPostgres();
  await cluster.createRole('tiercast', PASSWORD);
  await cluster.createDatabase('tiercast', 'tiercast');
  const url = `postgres://tiercast:${PASSWORD}@127.0.0.1:${cluster.port}/tiercast`;
  config = writeConfig(
    'hub.yaml',
    `nodeId: hub-1\ndataDir: ${join(dir, 'unused')}\nstore: postgres\npostgres:\n  url: ${url}\n`,
  );
});

after(async () => {
  await hub?.kill();
  await cluster?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test(
  'a hub on PostgreSQL: streamer added with the CLI, then a stream-key login through the hub API',
  { skip: missing },
  async () => {
    const add = await cli([
      'streamer',
      'add',
      '--name',
      'cam',
      '--key',
      KEY,
      '--title',
      'On PG',
      '-c',
      config,
    ]);
    assert.equal(add.code, 0, add.stderr);
    const list = await cli(['streamer', 'list', '--json', '-c', config]);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /"name": "cam"/);
    for (const text of [add.stdout, add.stderr, list.stdout, list.stderr])
      assert.ok(!text.includes(PASSWORD));

    hub = new HubProcess(await freePort(), join(dir, 'unused'), ['--config', config]);
    await hub.start();
    const headers = {
      [AUTH_HEADER]: createClusterToken(SECRET, 'edge-t', 'viewer-proxy'),
      'content-type': 'application/json',
    };
    const csrf = (
      (await (await fetch(`${hub.url}/edge-api/auth/csrf`, { headers })).json()) as { csrf: string }
    ).csrf;
    const login = await fetch(`${hub.url}/edge-api/auth/streamer`, {
      method: 'POST',
      headers: { ...headers, 'x-tiercast-csrf': csrf, cookie: `tc_csrf=${csrf}` },
      body: JSON.stringify({ key: KEY }),
    });
    assert.equal(login.status, 200, await login.clone().text());
    const session = login.headers.getSetCookie().find((c) => c.startsWith('tc_session='));
    assert.ok(session, 'a session cookie');
    const me = await fetch(`${hub.url}/edge-api/me`, {
      headers: { ...headers, cookie: session.split(';')[0]! },
    });
    assert.equal(me.status, 200);
    assert.match(await me.text(), /cam/);

    const wrong = await fetch(`${hub.url}/edge-api/auth/streamer`, {
      method: 'POST',
      headers: { ...headers, 'x-tiercast-csrf': csrf, cookie: `tc_csrf=${csrf}` },
      body: JSON.stringify({ key: `${KEY}x` }),
    });
    assert.equal(wrong.status, 401);
  },
);

test('PostgreSQL config errors are clear and never echo the password', { skip: missing }, async () => {
  const noUrl = writeConfig('no-url.yaml', 'store: postgres\n');
  const a = await cli(['streamer', 'list', '-c', noUrl]);
  assert.equal(a.code, 2);
  assert.match(
    a.stderr,
    /CONFIG_INVALID: invalid hub configuration: postgres\.url: required when store is postgres/,
  );

  const refused = writeConfig(
    'refused.yaml',
    `store: postgres\npostgres:\n  url: postgres://tiercast:${PASSWORD}@127.0.0.1:${await freePort()}/tiercast\n  timeoutMs: 3000\n`,
  );
  const b = await cli(['streamer', 'list', '-c', refused]);
  assert.equal(b.code, 2);
  assert.match(b.stderr, /STORE_UNAVAILABLE: PostgreSQL unavailable: cannot connect to PostgreSQL/);
  assert.ok(!b.stderr.includes(PASSWORD) && !b.stdout.includes(PASSWORD), b.stderr);

  const badPassword = writeConfig(
    'bad-password.yaml',
    `store: postgres\npostgres:\n  url: postgres://tiercast:wrong-${PASSWORD}@127.0.0.1:${cluster!.port}/tiercast\n`,
  );
  const c = await cli(['streamer', 'list', '-c', badPassword]);
  assert.equal(c.code, 2);
  assert.match(c.stderr, /password authentication failed/);
  assert.ok(!c.stderr.includes(PASSWORD), c.stderr);
});
