/**
 * The hub's Store over SQLite (better-sqlite3): one file, `tiercast.db`, in `dataDir`. WAL so readers do
 * not wait on the writer, foreign keys on so removing a streamer or user removes what hangs off it.
 * Every statement binds its values; no value is ever spliced into SQL text.
 *
 * Closing: close() is idempotent and closes the database; repos used after close throw (better-sqlite3's
 * "database connection is not open").
 */
import { closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import type { Logger } from '../../common/logging/index.js';
import { buildStore, checkHistorySize, DEFAULT_HISTORY_SIZE } from './build-store.js';
import { loadMigrations, migrate, migrationsDir as defaultMigrationsDir } from './migrations.js';
import { sqliteDb } from './sqlite-db.js';
import type { Store } from './types.js';

export { DEFAULT_HISTORY_SIZE };
export const DB_FILE = 'tiercast.db';

export interface StoreOptions {
  /** Directory for tiercast.db (created with mode 0700 if missing). */
  dataDir: string;
  /** Chat messages kept per channel (default 200). */
  historySize?: number;
  logger: Logger;
  /** Clock for createdAt, sanction expiry and the like; tests pass their own. */
  now?: () => number;
  /** Where the NNN_name.sql files are; tests point this at a copy with an extra migration. */
  migrationsDir?: string;
}

export function openStore(opts: StoreOptions): Store {
  checkHistorySize(opts.historySize ?? DEFAULT_HISTORY_SIZE);
  const logger = opts.logger;
  const dataDir = resolve(opts.dataDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  // The file holds only hashes, but a readable one invites offline guessing of weak viewing passwords.
  if ((statSync(dataDir).mode & 0o077) !== 0)
    logger.warn({ dataDir }, 'hub data directory is readable by other users; chmod 700 it');
  const path = join(dataDir, DB_FILE);
  // Created 0600 before SQLite opens it; SQLite gives its -wal and -shm files the same mode.
  closeSync(openSync(path, 'a', 0o600));

  const raw = new Database(path);
  const db = sqliteDb(raw);
  try {
    raw.pragma('journal_mode = WAL');
    raw.pragma('foreign_keys = ON');
    // A second process (the CLI while the hub runs) waits for the write lock instead of failing at once.
    raw.pragma('busy_timeout = 5000');
    // Durable across process crashes; in WAL mode only an OS crash can lose the last transactions.
    raw.pragma('synchronous = NORMAL');
    migrate(db, loadMigrations(opts.migrationsDir ?? defaultMigrationsDir('sqlite')), logger, path);
    return buildStore(db, { historySize: opts.historySize, logger, now: opts.now, where: path });
  } catch (err) {
    raw.close();
    throw err;
  }
}
