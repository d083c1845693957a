/**
 * Schema migrations: `migrations/<dialect>/NNN_name.sql`, applied in order at start-up inside one transaction
 * and recorded in `schema_migrations(version, applied_at)`. A database whose version is newer than the newest
 * file is refused: this code would not know what its tables mean. SQLite and PostgreSQL each have their own
 * directory (DDL differs: AUTOINCREMENT or identity, BLOB or bytea, STRICT tables); the two are numbered alike
 * and a migration is written for both at once (a unit test checks the names match).
 *
 * Why .sql files rather than strings in a .ts array: a migration is reviewed as SQL and can be run by hand
 * with the sqlite3 shell or psql when something goes wrong. The cost is that tsc does not copy them into dist/,
 * so compiled code finds them back in src/ (see migrationsDir): tiercast runs from its repository
 * checkout (bin/node-role.js), which always has src/.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../../common/errors/index.js';
import type { Logger } from '../../common/logging/index.js';
import type { Db, Dialect } from './db.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

const FILE = /^(\d{3,})_([a-z0-9_]+)\.sql$/;

function isDir(p: string): boolean {
  return existsSync(p) && statSync(p).isDirectory();
}

/**
 * Where a dialect's .sql files are: next to this module when it runs from src/ (tsx); when it runs compiled
 * from dist/hub/store/, up to the package root (the directory with package.json) and down into src/.
 */
export function migrationsDir(dialect: Dialect = 'sqlite', moduleUrl: string = import.meta.url): string {
  const here = dirname(fileURLToPath(moduleUrl));
  const beside = join(here, 'migrations', dialect);
  if (isDir(beside)) return beside;
  for (let dir = here; ;) {
    if (existsSync(join(dir, 'package.json'))) {
      const inSrc = join(dir, 'src', 'hub', 'store', 'migrations', dialect);
      if (isDir(inSrc)) return inSrc;
    }
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  throw new ConfigError(
    `cannot find the hub schema migrations (src/hub/store/migrations/${dialect}) from this installation`,
    { module: here },
  );
}

/** The migrations in `dir`, in version order; versions must run 1, 2, 3… without gaps or duplicates. */
export function loadMigrations(dir: string = migrationsDir()): Migration[] {
  const found: Migration[] = [];
  for (const file of readdirSync(dir)) {
    if (!file.endsWith('.sql')) continue;
    const m = FILE.exec(file);
    if (!m)
      throw new ConfigError('badly named migration file: expected NNN_name.sql', { file: join(dir, file) });
    found.push({ version: Number(m[1]), name: m[2] ?? '', sql: readFileSync(join(dir, file), 'utf8') });
  }
  found.sort((a, b) => a.version - b.version);
  found.forEach((m, i) => {
    if (m.version !== i + 1)
      throw new ConfigError(
        `migrations must be numbered 1, 2, 3… without gaps: expected ${i + 1}, found ${m.version}`,
        { dir },
      );
  });
  if (found.length === 0) throw new ConfigError('no schema migrations found', { dir });
  return found;
}

export function schemaVersion(db: Db): number {
  const row = db.prepare<[], { v: number | null }>('SELECT max(version) AS v FROM schema_migrations').get();
  return row?.v ?? 0;
}

const SCHEMA_TABLE: Record<Dialect, string> = {
  sqlite:
    'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT',
  postgres:
    'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)',
};

/** pg_advisory_xact_lock key held while migrating ("tiercast" in ASCII, as a number). */
const PG_MIGRATION_LOCK = 0x7469657263617374n;

/**
 * Brings the database up to the newest migration. All pending migrations run in one transaction (SQLite:
 * IMMEDIATE; PostgreSQL: under an advisory lock, its DDL is transactional too), so a second hub process
 * opening the same database waits instead of applying them twice; a failure leaves the database exactly as
 * it was. `where` names the database in errors and logs (a path; never a URL, which may hold a password).
 * Returns the versions applied.
 */
export function migrate(
  db: Db,
  migrations: Migration[],
  logger: Logger,
  where: string,
  now = Date.now(),
): number[] {
  // PostgreSQL: two hubs racing on CREATE TABLE IF NOT EXISTS can both try to create it; the lock comes first.
  if (db.dialect === 'sqlite') db.exec(SCHEMA_TABLE.sqlite);
  const latest = migrations.at(-1)?.version ?? 0;
  const run = db.transaction(
    (): number[] => {
      if (db.dialect === 'postgres') {
        db.prepare('SELECT pg_advisory_xact_lock(?)').get(PG_MIGRATION_LOCK);
        db.exec(SCHEMA_TABLE.postgres);
      }
      const record = db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)');
      const current = schemaVersion(db);
      if (current > latest) {
        throw new ConfigError(
          `the hub database has schema version ${current}, newer than this tiercast understands (${latest}): ` +
            `refusing to open it; run the newer tiercast or point the hub at another ${db.dialect === 'sqlite' ? 'dataDir' : 'database'}`,
          { db: where },
        );
      }
      const applied: number[] = [];
      for (const m of migrations) {
        if (m.version <= current) continue;
        try {
          db.exec(m.sql);
        } catch (err) {
          throw new ConfigError(
            `schema migration ${m.version} (${m.name}) failed: ${(err as Error).message}`,
            {
              db: where,
            },
          );
        }
        record.run(m.version, now);
        applied.push(m.version);
      }
      return applied;
    },
    { immediate: true },
  );
  const applied = run();
  if (applied.length > 0) logger.info({ db: where, applied, version: latest }, 'hub database migrated');
  return applied;
}
