/**
 * Schema migrations: `migrations/NNN_name.sql`, applied in order at start-up inside one transaction and
 * recorded in `schema_migrations(version, applied_at)`. A database whose version is newer than the newest
 * file is refused: this code would not know what its tables mean.
 *
 * Why .sql files rather than strings in a .ts array: a migration is reviewed as SQL and can be run by hand
 * with the sqlite3 shell when something goes wrong. The cost is that tsc does not copy them into dist/,
 * so compiled code finds them back in src/ (see migrationsDir): tiercast runs from its repository
 * checkout (bin/node-role.js), which always has src/.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type BetterSqlite3 from 'better-sqlite3';
import { ConfigError } from '../../common/errors/index.js';
import type { Logger } from '../../common/logging/index.js';

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
 * Where the .sql files are: next to this module when it runs from src/ (tsx); when it runs compiled from
 * dist/hub/store/, up to the package root (the directory with package.json) and down into src/.
 */
export function migrationsDir(moduleUrl: string = import.meta.url): string {
  const here = dirname(fileURLToPath(moduleUrl));
  const beside = join(here, 'migrations');
  if (isDir(beside)) return beside;
  for (let dir = here; ;) {
    if (existsSync(join(dir, 'package.json'))) {
      const inSrc = join(dir, 'src', 'hub', 'store', 'migrations');
      if (isDir(inSrc)) return inSrc;
    }
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  throw new ConfigError(
    'cannot find the hub schema migrations (src/hub/store/migrations) from this installation',
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

export function schemaVersion(db: BetterSqlite3.Database): number {
  const row = db.prepare('SELECT max(version) AS v FROM schema_migrations').get() as
    { v: number | null } | undefined;
  return row?.v ?? 0;
}

/**
 * Brings the database up to the newest migration. All pending migrations run in one IMMEDIATE transaction
 * (a second hub process opening the same file waits instead of applying them twice); a failure leaves the
 * database exactly as it was. Returns the versions applied.
 */
export function migrate(
  db: BetterSqlite3.Database,
  migrations: Migration[],
  logger: Logger,
  dbPath: string,
  now = Date.now(),
): number[] {
  db.exec(
    'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT',
  );
  const latest = migrations.at(-1)?.version ?? 0;
  const record = db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)');
  const run = db.transaction((): number[] => {
    const current = schemaVersion(db);
    if (current > latest) {
      throw new ConfigError(
        `the hub database has schema version ${current}, newer than this tiercast understands (${latest}): ` +
          'refusing to open it; run the newer tiercast or point the hub at another dataDir',
        { db: dbPath },
      );
    }
    const applied: number[] = [];
    for (const m of migrations) {
      if (m.version <= current) continue;
      try {
        db.exec(m.sql);
      } catch (err) {
        throw new ConfigError(`schema migration ${m.version} (${m.name}) failed: ${(err as Error).message}`, {
          db: dbPath,
        });
      }
      record.run(m.version, now);
      applied.push(m.version);
    }
    return applied;
  });
  const applied = run.immediate();
  if (applied.length > 0) logger.info({ db: dbPath, applied, version: latest }, 'hub database migrated');
  return applied;
}
