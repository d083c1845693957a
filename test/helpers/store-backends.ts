/**
 * The hub store's backends for the store suites (test/unit/hub-store*-suite.ts): each suite runs on SQLite
 * in the unit tier and on PostgreSQL in test/integration/hub-store-postgres.test.ts. A "place" is where one
 * store lives: a data directory, or a database of the test's throwaway cluster.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import type { Db } from '../../src/hub/store/db.js';
import { migrationsDir } from '../../src/hub/store/migrations.js';
import { PgBridge } from '../../src/hub/store/pg-bridge.js';
import { postgresDb } from '../../src/hub/store/pg-db.js';
import { openPostgresStore } from '../../src/hub/store/pg-store.js';
import { sqliteDb } from '../../src/hub/store/sqlite-db.js';
import { DB_FILE, openStore } from '../../src/hub/store/sqlite-store.js';
import type { Store } from '../../src/hub/store/types.js';
import type { PgCluster } from './postgres.js';

export interface OpenOptions {
  now?: () => number;
  historySize?: number;
  migrationsDir?: string;
}

export interface StoreBackend {
  readonly name: 'sqlite' | 'postgres';
  /** A new, empty place for a store. */
  fresh(): string;
  open(place: string, opts?: OpenOptions): Store;
  /** The database under a store, for looking beneath it (`?` placeholders work on both). */
  raw(place: string): Db;
  tableExists(db: Db, table: string): boolean;
  migrationsDir(): string;
  /** Every file the data of `place` may be in (for PostgreSQL, after a CHECKPOINT: the whole cluster). */
  files(place: string): string[];
}

const logger = pino({ level: 'silent' });

/** SQLite in temp dirs, removed when `cleanup` runs. */
export function sqliteBackend(): StoreBackend & { cleanup(): void } {
  const root = mkdtempSync(join(tmpdir(), 'tiercast-store-'));
  let n = 0;
  return {
    name: 'sqlite',
    fresh: () => join(root, `d${++n}`, 'data'),
    open: (dataDir, opts = {}) => openStore({ dataDir, logger, ...opts }),
    raw: (dataDir) => sqliteDb(new Database(join(dataDir, DB_FILE))),
    tableExists: (db, table) =>
      db.prepare('SELECT name FROM sqlite_master WHERE type = ? AND name = ?').get('table', table) !==
      undefined,
    migrationsDir: () => migrationsDir('sqlite'),
    files: (dataDir) => readdirSync(dataDir).map((f) => join(dataDir, f)),
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}

/** One database per place in `cluster()` (started by the test file before any test runs). */
export function postgresBackend(cluster: () => PgCluster): StoreBackend & { close(): void } {
  let n = 0;
  let admin: PgBridge | undefined;
  return {
    name: 'postgres',
    fresh() {
      const name = `store_${process.pid}_${++n}`;
      admin ??= new PgBridge({ url: cluster().url('postgres'), timeoutMs: 30_000 });
      admin.exec(`CREATE DATABASE ${name}`);
      return cluster().url(name);
    },
    open: (url, opts = {}) => openPostgresStore({ url, logger, timeoutMs: 30_000, ...opts }),
    raw: (url) => postgresDb(new PgBridge({ url, timeoutMs: 30_000 })),
    tableExists: (db, table) =>
      db
        .prepare("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename = ?")
        .get(table) !== undefined,
    migrationsDir: () => migrationsDir('postgres'),
    files() {
      admin?.exec('CHECKPOINT');
      return readdirSync(cluster().dataDir, { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile())
        .map((e) => join(e.parentPath, e.name));
    },
    close: () => admin?.close(),
  };
}
