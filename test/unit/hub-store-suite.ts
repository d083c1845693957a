/**
 * The hub store's migrations, streamers, users and names, for one backend: run on SQLite by
 * test/unit/hub-store.test.ts and on PostgreSQL by test/integration/hub-store-postgres.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TiercastError } from '../../src/common/errors/index.js';
import { HubError } from '../../src/hub/store/errors.js';
import { loadMigrations } from '../../src/hub/store/migrations.js';
import { DB_FILE } from '../../src/hub/store/sqlite-store.js';
import type { Store } from '../../src/hub/store/types.js';
import type { StoreBackend } from '../helpers/store-backends.js';

const KEY = 'alice-key-0123456789abcdef';
const file = (v: number, name: string) => `${String(v).padStart(3, '0')}_${name}.sql`;

function rejects(fn: () => unknown, code: string, message?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof HubError, `expected a HubError, got ${String(err)}`);
    assert.equal(err.code, code);
    if (message) assert.match(err.message, message);
    return true;
  });
}

export function hubStoreSuite(backend: StoreBackend): void {
  const sqlite = backend.name === 'sqlite';
  /** The newest schema version this code ships; tests add migrations after it. */
  const LATEST = loadMigrations(backend.migrationsDir()).length;
  const migrationCopies = mkdtempSync(join(tmpdir(), 'tiercast-migrations-'));
  let n = 0;
  const rawDb = (place: string) => backend.raw(place);

  function withStore<T>(
    fn: (s: Store, place: string) => T,
    opts: { dataDir?: string; now?: () => number } = {},
  ): T {
    const place = opts.dataDir ?? backend.fresh();
    const store = backend.open(place, { now: opts.now });
    try {
      return fn(store, place);
    } finally {
      store.close();
    }
  }

  test('migrations apply once, are recorded, and data survives reopening', () => {
    const dataDir = backend.fresh();
    withStore((s) => s.streamers.add({ name: 'alice', key: KEY, title: 'hello' }), { dataDir });
    if (sqlite) {
      assert.equal(statSync(dataDir).mode & 0o777, 0o700);
      assert.equal(statSync(join(dataDir, DB_FILE)).mode & 0o777, 0o600);
    }
    withStore((s) => assert.equal(s.streamers.get('alice')?.title, 'hello'), { dataDir });
    const db = rawDb(dataDir);
    const rows = db
      .prepare<[], { version: number; applied_at: number }>(
        'SELECT version, applied_at FROM schema_migrations ORDER BY version',
      )
      .all();
    if (sqlite)
      assert.equal(
        db.prepare<[], { journal_mode: string }>('PRAGMA journal_mode').get()?.journal_mode,
        'wal',
      );
    db.close();
    assert.deepEqual(
      rows.map((r) => r.version),
      loadMigrations(backend.migrationsDir()).map((m) => m.version),
    );
    assert.ok(rows[0] && rows[0].applied_at > 0);
  });

  test('a database newer than the code is refused with a clear error, and left untouched', () => {
    const dataDir = backend.fresh();
    withStore(() => undefined, { dataDir });
    const db = rawDb(dataDir);
    db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, 0)').run(LATEST + 1);
    db.close();
    assert.throws(
      () => backend.open(dataDir),
      (err: unknown) =>
        err instanceof TiercastError &&
        err.code === 'CONFIG_INVALID' &&
        new RegExp(`schema version ${LATEST + 1}, newer than this tiercast understands \\(${LATEST}\\)`).test(
          err.message,
        ),
    );
    const again = rawDb(dataDir);
    assert.equal(
      again.prepare<[], { c: number }>('SELECT count(*) AS c FROM schema_migrations').get()?.c,
      LATEST + 1,
    );
    again.close();
  });

  test('a new migration applies on the next start; a failing one rolls back completely', () => {
    const dataDir = backend.fresh();
    withStore((s) => s.streamers.add({ name: 'bob', key: KEY }), { dataDir });
    const dir2 = join(migrationCopies, `m${++n}`);
    cpSync(backend.migrationsDir(), dir2, { recursive: true });
    writeFileSync(
      join(dir2, file(LATEST + 1, 'notes')),
      'CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);',
    );
    const s2 = backend.open(dataDir, { migrationsDir: dir2 });
    assert.equal(s2.streamers.get('bob')?.name, 'bob');
    s2.close();
    const dir3 = join(migrationCopies, `m${++n}`);
    cpSync(dir2, dir3, { recursive: true });
    writeFileSync(
      join(dir3, file(LATEST + 2, 'broken')),
      'CREATE TABLE half (id INTEGER); INSERT INTO nowhere VALUES (1);',
    );
    assert.throws(
      () => backend.open(dataDir, { migrationsDir: dir3 }),
      new RegExp(`schema migration ${LATEST + 2} \\(broken\\) failed`),
    );
    const db = rawDb(dataDir);
    const versions = db
      .prepare<[], { version: number }>('SELECT version FROM schema_migrations ORDER BY version')
      .all()
      .map((r) => r.version);
    const half = backend.tableExists(db, 'half');
    const notes = backend.tableExists(db, 'notes');
    db.close();
    assert.deepEqual(versions, [
      ...loadMigrations(backend.migrationsDir()).map((m) => m.version),
      LATEST + 1,
    ]);
    assert.equal(half, false);
    assert.equal(notes, true);
  });

  test('streamers: add, get, list, update, markLive, remove, with clear errors', () => {
    let clock = 1_000;
    withStore(
      (s) => {
        const a = s.streamers.add({
          name: 'alice',
          key: KEY,
          title: 'T',
          description: 'line 1\nline 2',
          category: 'games',
        });
        assert.deepEqual(a, {
          name: 'alice',
          title: 'T',
          description: 'line 1\nline 2',
          category: 'games',
          hasPassword: false,
          transcode: null,
          recording: null,
          createdAt: 1_000,
          lastLiveAt: null,
        });
        s.streamers.add({ name: 'Bob_2', key: 'bob-key-0123456789abcdef', password: 'viewing-pass' });
        assert.deepEqual(
          s.streamers.list().map((x) => [x.name, x.hasPassword]),
          [
            ['alice', false],
            ['Bob_2', true],
          ],
        );
        rejects(
          () => s.streamers.add({ name: 'alice', key: 'another-key-0123456789' }),
          'DUPLICATE_NAME',
          /\[streamer:alice\]/,
        );
        rejects(() => s.streamers.add({ name: 'ALICE', key: 'another-key-0123456789' }), 'DUPLICATE_NAME');
        assert.equal(s.streamers.get('ALICE'), undefined, 'lookups are exact: names are URL paths');
        rejects(
          () => s.streamers.add({ name: 'has space', key: KEY + 'x' }),
          'INVALID_VALUE',
          /invalid streamer name/,
        );
        rejects(() => s.streamers.add({ name: 'x'.repeat(65), key: KEY + 'x' }), 'INVALID_VALUE');
        rejects(() => s.streamers.add({ name: 'carol', key: 'short' }), 'INVALID_VALUE', /at least 16/);
        rejects(() => s.streamers.add({ name: 'carol', key: 'has a space 0123456789' }), 'INVALID_VALUE');
        rejects(
          () => s.streamers.add({ name: 'carol', key: 'carol-key-0123456789', password: 'short' }),
          'INVALID_VALUE',
          /at least 8/,
        );
        rejects(
          () => s.streamers.add({ name: 'carol', key: 'carol-key-0123456789', title: 't'.repeat(141) }),
          'INVALID_VALUE',
          /title/,
        );
        rejects(
          () =>
            s.streamers.add({ name: 'carol', key: 'carol-key-0123456789', description: 'd'.repeat(2001) }),
          'INVALID_VALUE',
          /description/,
        );
        rejects(
          () => s.streamers.add({ name: 'carol', key: 'carol-key-0123456789', category: 'c'.repeat(65) }),
          'INVALID_VALUE',
          /category/,
        );
        rejects(
          () => s.streamers.add({ name: 'carol', key: 'carol-key-0123456789', title: 'bad\u001b[2J' }),
          'INVALID_VALUE',
          /control/,
        );
        assert.equal(
          s.streamers.add({ name: 'carol', key: 'carol-key-0123456789', title: '🎮'.repeat(140) }).title
            .length,
          280,
          'limits count characters',
        );
        rejects(() => s.streamers.add({ name: 'dave', key: KEY }), 'INVALID_VALUE', /already in use/);

        clock = 2_000;
        const u = s.streamers.update('alice', { title: 'New', password: 'letmein-please' });
        assert.equal(u.title, 'New');
        assert.equal(u.description, 'line 1\nline 2', 'fields not in the patch are kept');
        assert.equal(u.hasPassword, true);
        assert.equal(s.streamers.update('alice', { password: null }).hasPassword, false);
        assert.equal(s.streamers.update('alice', {}).title, 'New');
        rejects(() => s.streamers.update('nobody', { title: 'x' }), 'UNKNOWN_NAME', /\[streamer:nobody\]/);
        rejects(() => s.streamers.update('alice', { category: 'c'.repeat(65) }), 'INVALID_VALUE');

        s.streamers.markLive('alice', 5_000);
        assert.equal(s.streamers.get('alice')?.lastLiveAt, 5_000);
        rejects(() => s.streamers.markLive('nobody', 5_000), 'UNKNOWN_NAME');

        s.streamers.remove('Bob_2');
        assert.equal(s.streamers.get('Bob_2'), undefined);
        rejects(() => s.streamers.remove('Bob_2'), 'UNKNOWN_NAME');
      },
      { now: () => clock },
    );
  });

  test('users: create, verify, look up, list, set role and password, remove', () => {
    withStore((s) => {
      const a = s.users.create('alice', 'alice-password');
      assert.equal(a.role, 'user');
      const root_ = s.users.create('root', 'root-password', 'admin');
      assert.equal(s.users.verify('alice', 'alice-password')?.id, a.id);
      assert.equal(s.users.verify('ALICE', 'alice-password')?.name, 'alice', 'account names ignore case');
      assert.equal(s.users.verify('alice', 'wrong-password'), undefined);
      assert.equal(s.users.verify('nobody', 'alice-password'), undefined);
      assert.deepEqual(s.users.get(a.id), a);
      assert.equal(s.users.get(9999), undefined);
      assert.equal(s.users.getByName('Alice')?.id, a.id);
      assert.deepEqual(
        s.users.list().map((u) => u.name),
        ['alice', 'root'],
      );
      rejects(() => s.users.create('alice', 'another-password'), 'DUPLICATE_NAME', /\[user:alice\]/);
      rejects(() => s.users.create('ALICE', 'another-password'), 'DUPLICATE_NAME');
      rejects(() => s.users.create('a', 'long-enough-pw'), 'INVALID_VALUE', /invalid user name/);
      rejects(() => s.users.create('x'.repeat(33), 'long-enough-pw'), 'INVALID_VALUE');
      rejects(() => s.users.create("o'brien", 'long-enough-pw'), 'INVALID_VALUE');
      rejects(() => s.users.create('carol', 'short'), 'INVALID_VALUE', /at least 8/);
      rejects(() => s.users.create('carol', 'long-enough-pw', 'root' as 'admin'), 'INVALID_VALUE', /role/);
      assert.equal(s.users.setRole('alice', 'admin').role, 'admin');
      rejects(() => s.users.setRole('nobody', 'admin'), 'UNKNOWN_NAME');
      s.users.setPassword('alice', 'new-password!');
      assert.equal(s.users.verify('alice', 'alice-password'), undefined);
      assert.equal(s.users.verify('alice', 'new-password!')?.role, 'admin');
      rejects(() => s.users.setPassword('alice', 'short'), 'INVALID_VALUE');
      rejects(() => s.users.setPassword('nobody', 'long-enough-pw'), 'UNKNOWN_NAME');
      s.users.remove('root');
      rejects(() => s.users.remove('root'), 'UNKNOWN_NAME');
      // A session names `u:<id>`: a new account must never inherit a removed one's id.
      const again = s.users.create('root', 'root-password');
      assert.ok(again.id > root_.id);
    });
  });

  test('close is idempotent and a closed store refuses work', () => {
    const s = backend.open(backend.fresh());
    s.close();
    s.close();
    assert.throws(() => s.streamers.list());
  });

  test('names are unique by skeleton across streamers and accounts; the streamer alone can claim theirs', () => {
    withStore((s) => {
      s.streamers.add({ name: 'demo', key: KEY });
      for (const impostor of ['DEMO', 'Demo', 'dem0', 'derno', 'DEM0']) {
        rejects(() => s.users.create(impostor, 'long-password-1'), 'DUPLICATE_NAME', /streamer/);
        rejects(
          () => s.streamers.add({ name: impostor, key: `other-key-${impostor}-0123456789` }),
          'DUPLICATE_NAME',
        );
      }
      // Only the caller proven to hold demo's key may register demo, and the account becomes the owner.
      rejects(() => s.users.create('demo', 'long-password-1', 'user', 'someone-else'), 'DUPLICATE_NAME');
      const own = s.users.create('demo', 'long-password-1', 'user', 'demo');
      assert.equal(s.streamers.ownerOf('demo'), 'demo');
      assert.equal(s.streamers.ownedBy(own.id), 'demo');
      s.users.create('alice', 'long-password-1');
      rejects(() => s.users.create('ALICE', 'long-password-1'), 'DUPLICATE_NAME');
      rejects(() => s.users.create('a1ice', 'long-password-1'), 'DUPLICATE_NAME');
      rejects(
        () => s.streamers.add({ name: 'Alice', key: 'alice-own-key-0123456789' }),
        'DUPLICATE_NAME',
        /account/,
      );
      assert.deepEqual(
        s.names
          .holders('DEM0')
          .map((h) => h.kind)
          .sort(),
        ['streamer', 'user'],
      );
      const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0]);
      s.emoji.add({ name: 'smile', data: png, mime: 'image/png' });
      rejects(() => s.emoji.add({ name: 'smi1e', data: png, mime: 'image/png' }), 'DUPLICATE_NAME');
    });
  });

  test('name keys are recomputed for rows written before the registry existed', () => {
    const dataDir = backend.fresh();
    withStore((s) => s.streamers.add({ name: 'demo', key: KEY }), { dataDir });
    const db = rawDb(dataDir);
    db.prepare('UPDATE streamers SET name_key = NULL').run();
    db.close();
    withStore((s) => rejects(() => s.users.create('DEMO', 'long-password-1'), 'DUPLICATE_NAME'), { dataDir });
  });
}
