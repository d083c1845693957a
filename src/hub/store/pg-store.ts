/**
 * The hub's Store over PostgreSQL: the same repos as SQLite over a Db that sends each statement through a
 * synchronous bridge to a worker thread holding the connection (ADR 0016). Migrations are
 * migrations/postgres, numbered like SQLite's.
 *
 * Closing: close() is idempotent and ends the connection and the worker; repos used after close throw
 * STORE_UNAVAILABLE.
 */
import type { Logger } from '../../common/logging/index.js';
import { buildStore, checkHistorySize, DEFAULT_HISTORY_SIZE } from './build-store.js';
import { loadMigrations, migrate, migrationsDir as defaultMigrationsDir } from './migrations.js';
import { PgBridge } from './pg-bridge.js';
import { postgresDb } from './pg-db.js';
import type { Store } from './types.js';

export interface PostgresStoreOptions {
  /** postgres://user:password@host:port/database; may hold a password: never logged. */
  url: string;
  /** Longest wait for one statement (and for connecting); then STORE_TIMEOUT. */
  timeoutMs?: number;
  historySize?: number;
  logger: Logger;
  now?: () => number;
  migrationsDir?: string;
}

/** host:port/database of a connection URL, for logs and errors: no user, no password, no parameters. */
export function describePostgresUrl(url: string): string {
  try {
    const u = new URL(url);
    const socket = u.searchParams.get('host');
    const host = socket ?? (u.host || 'localhost');
    return `postgres ${host}${u.pathname || '/'}`;
  } catch {
    return 'postgres (unparsable URL)';
  }
}

export function openPostgresStore(opts: PostgresStoreOptions): Store {
  checkHistorySize(opts.historySize ?? DEFAULT_HISTORY_SIZE);
  const where = describePostgresUrl(opts.url);
  const bridge = new PgBridge({ url: opts.url, timeoutMs: opts.timeoutMs, where });
  const db = postgresDb(bridge);
  try {
    migrate(db, loadMigrations(opts.migrationsDir ?? defaultMigrationsDir('postgres')), opts.logger, where);
    return buildStore(db, { historySize: opts.historySize, logger: opts.logger, now: opts.now, where });
  } catch (err) {
    db.close();
    throw err;
  }
}
