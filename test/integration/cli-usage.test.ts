/**
 * The CLI as an operator scripts it: `--version`, exit status 2 for every kind of failure (usage errors as
 * well as invalid configuration), `--json` on every list, and `streamer list` showing where each streamer
 * is defined (an ingress config, a node-role all config, the hub).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from '../helpers/hub-process.js';

const dir = mkdtempSync(join(tmpdir(), 'tiercast-cli-usage-'));
const dataDir = join(dir, 'data');
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

test('--version prints the package.json version', async () => {
  const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
  const r = await cli(['--version']);
  assert.equal(r.code, 0);
  assert.equal(r.stdout.trim(), version);
});

test('usage errors exit 2, like configuration errors; --help says so', async () => {
  for (const args of [
    ['no-such-command'],
    ['streamer', 'list', '--no-such-option'],
    ['streamer', 'add'],
    ['hub', '--port'],
    ['hub', '--port', 'not-a-port'],
  ]) {
    const r = await cli(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /error: /, args.join(' '));
  }
  const bad = await cli([
    'edge',
    '--config',
    file('bad.yaml', 'clusterSecret: abcdefghijklmnopqrstuvwxyz\nnope: 1\n'),
  ]);
  assert.equal(bad.code, 2);
  const help = await cli(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Exit status: 0 on success .* 2 on any failure: a usage error/s);
});

test('--json on every list; streamer list shows config and hub streamers with their source', async () => {
  const hubKey = 'hub-key-never-printed-0123';
  const add = await cli(['streamer', 'add', '--name', 'alice', '--key', hubKey, '--data-dir', dataDir]);
  assert.equal(add.code, 0, add.stderr);
  assert.equal(
    (await cli(['user', 'add', '--name', 'carol', '--password', 'carol-password-1', '--data-dir', dataDir]))
      .code,
    0,
  );
  const ingress = file(
    'ingress.yaml',
    'streamers:\n  - { name: alice, key: config-key-never-printed, title: From config }\n  - { name: bob, key: bob-key-never-printed }\n',
  );

  const table = await cli(['streamer', 'list', '--data-dir', dataDir, '--ingress-config', ingress]);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /^NAME .* SOURCE$/m);
  assert.match(table.stdout, /^alice\s+From config\s.*\sconfig$/m);
  assert.match(table.stdout, /^alice\s+-\s.*\shub$/m);
  assert.match(table.stdout, /^bob\s.*\sconfig$/m);

  const json = await cli(['streamer', 'list', '--json', '--data-dir', dataDir, '--ingress-config', ingress]);
  assert.equal(json.code, 0, json.stderr);
  const rows = JSON.parse(json.stdout) as Array<Record<string, unknown>>;
  assert.deepEqual(
    rows.map((r) => [r.name, r.source]),
    [
      ['alice', 'config'],
      ['alice', 'hub'],
      ['bob', 'config'],
    ],
  );
  for (const r of rows)
    assert.deepEqual(Object.keys(r), [
      'name',
      'title',
      'category',
      'password',
      'transcode',
      'created',
      'lastLive',
      'source',
    ]);

  // A node-role all config: -c gives both the hub's dataDir and the ingress section's streamers.
  const all = file(
    'all.yaml',
    `hub:\n  dataDir: ${dataDir}\ningress:\n  streamers:\n    - { name: cam, key: cam-key-never-printed }\n`,
  );
  const fromAll = JSON.parse((await cli(['streamer', 'list', '--json', '-c', all])).stdout) as Array<{
    name: string;
    source: string;
  }>;
  assert.deepEqual(
    fromAll.map((r) => `${r.name}:${r.source}`),
    ['alice:hub', 'cam:config'],
  );

  const users = await cli(['user', 'list', '--json', '--data-dir', dataDir]);
  assert.deepEqual(
    (JSON.parse(users.stdout) as Array<Record<string, unknown>>).map((u) => Object.keys(u)),
    [['id', 'name', 'role', 'created']],
  );
  const emoji = await cli(['emoji', 'list', '--json', '--data-dir', dataDir]);
  assert.deepEqual(JSON.parse(emoji.stdout), []);

  const everything = [table, json, users].map((r) => r.stdout + r.stderr).join('\n');
  for (const secret of [hubKey, 'config-key-never', 'bob-key-never', 'carol-password', 'scrypt'])
    assert.ok(!everything.includes(secret), `never ${secret}`);
});
