import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadMigrations, migrationsDir } from '../../src/hub/store/migrations.js';
import { sqliteBackend } from '../helpers/store-backends.js';
import { hubStoreSuite } from './hub-store-suite.js';

const backend = sqliteBackend();
after(() => backend.cleanup());
hubStoreSuite(backend);

test('migration files are found from src and from compiled dist, and must be numbered without gaps', () => {
  const root = mkdtempSync(join(tmpdir(), 'tiercast-migrations-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const latest = loadMigrations().length;
  assert.ok(latest >= 1);
  const pkgRoot = join(import.meta.dirname, '..', '..');
  for (const dialect of ['sqlite', 'postgres'] as const) {
    const fromDist = migrationsDir(
      dialect,
      pathToFileURL(join(pkgRoot, 'dist', 'hub', 'store', 'migrations.js')).href,
    );
    assert.equal(fromDist, join(pkgRoot, 'src', 'hub', 'store', 'migrations', dialect));
  }
  const gap = join(root, 'gap');
  cpSync(migrationsDir(), gap, { recursive: true });
  writeFileSync(join(gap, `${String(latest + 2).padStart(3, '0')}_skipped.sql`), 'SELECT 1;');
  assert.throws(
    () => loadMigrations(gap),
    new RegExp(`without gaps: expected ${latest + 1}, found ${latest + 2}`),
  );
});

test('SQLite and PostgreSQL migrations are numbered and named alike: a migration is written for both', () => {
  const names = (dialect: 'sqlite' | 'postgres') =>
    loadMigrations(migrationsDir(dialect)).map((m) => `${m.version}_${m.name}`);
  assert.deepEqual(names('postgres'), names('sqlite'));
});
