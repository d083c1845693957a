/**
 * Backups and upgrades as an operator does them: `node-role backup` copies the database of a running hub;
 * the copy, put in an empty data directory, starts a hub where the streamer's key and the account still log
 * in; a database from a newer tiercast (a migration this code does not know) is refused at start, naming
 * both versions; the CLI refuses to overwrite a file or to back up a directory without a database.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { KEY } from '../helpers/network.js';
import { HubProcess, cli, cliEnv, freePort, startHubWithCam } from '../helpers/hub-process.js';

const dir = mkdtempSync(join(tmpdir(), 'tiercast-backup-'));
const live = join(dir, 'live');
const backup = join(dir, 'hub-backup.db');
const hubs: HubProcess[] = [];

before(async () => {
  hubs.push(await startHubWithCam(live, KEY));
  const user = await cli([
    'user',
    'add',
    '--name',
    'bob',
    '--password',
    'correct-horse-1',
    '--data-dir',
    live,
  ]);
  assert.equal(user.code, 0, user.stderr);
});

after(async () => {
  for (const h of hubs) await h.kill();
  rmSync(dir, { recursive: true, force: true });
});

const basic = (name: string, secret: string) => ({
  authorization: `Basic ${Buffer.from(`${name}:${secret}`).toString('base64')}`,
});

test('a running hub is backed up; the copy restores into a hub where the key still works', async () => {
  const r = await cli(['backup', '--data-dir', live, '--out', backup]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /backup written: .*hub-backup\.db \(\d+ bytes, schema version \d+, 1 streamers, 1 users/,
  );
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.startsWith('hub-backup')),
    ['hub-backup.db'],
    'one self-contained file, nothing left beside it',
  );
  // The hub it was taken from is still serving.
  assert.equal((await fetch(`${hubs[0]!.url}/healthz`)).status, 200);

  const restored = join(dir, 'restored');
  mkdirSync(restored, { mode: 0o700 });
  copyFileSync(backup, join(restored, 'tiercast.db'));
  const hub = new HubProcess(await freePort(), restored);
  hubs.push(hub);
  await hub.start();
  const stream = await fetch(`${hub.url}/api/v1/streams/cam`, { headers: basic('cam', KEY) });
  assert.equal(stream.status, 200, 'the stream key from before the backup logs in');
  assert.equal(((await stream.json()) as { title: string }).title, 'Test cam');
  const wrong = await fetch(`${hub.url}/api/v1/streams/cam`, { headers: basic('cam', 'not-the-key-123') });
  assert.equal(wrong.status, 401);
  const users = await cli(['user', 'list', '--json', '--data-dir', restored]);
  assert.deepEqual(
    (JSON.parse(users.stdout) as Array<{ name: string }>).map((u) => u.name),
    ['bob'],
  );
});

test('a database from a newer tiercast is refused at start, naming both versions', async () => {
  const newer = join(dir, 'newer');
  mkdirSync(newer, { mode: 0o700 });
  copyFileSync(backup, join(newer, 'tiercast.db'));
  const db = new Database(join(newer, 'tiercast.db'));
  db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (999, ?)').run(Date.now());
  db.close();
  const r = spawnSync(
    process.execPath,
    ['bin/node-role.js', 'hub', '--port', String(await freePort()), '--data-dir', newer],
    { env: cliEnv, encoding: 'utf8', timeout: 30_000 },
  );
  assert.equal(r.status, 2);
  assert.match(r.stderr, /schema version 999, newer than this tiercast understands \(\d+\)/);
});

test('backup refuses to overwrite a file, and a directory without a database', async () => {
  const again = await cli(['backup', '--data-dir', live, '--out', backup]);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /INVALID_VALUE: .*exists/);
  const empty = join(dir, 'empty');
  mkdirSync(empty);
  const none = await cli(['backup', '--data-dir', empty, '--out', join(dir, 'x.db')]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /INVALID_VALUE: no hub database/);
  assert.equal(existsSync(join(dir, 'x.db')), false);
});
