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
import { createChatHistoryRepo } from './chat-history-repo.js';
import { createFollowRepo, createModeratorRepo, createSanctionRepo } from './channel-repos.js';
import { createEmojiRepo } from './emoji-repo.js';
import { createNameRegistry } from './name-registry.js';
import { loadMigrations, migrate, migrationsDir as defaultMigrationsDir } from './migrations.js';
import { Lookups, type RepoContext } from './repo-context.js';
import { createStreamerRepo } from './streamers-repo.js';
import type { Store } from './types.js';
import { createUserRepo } from './users-repo.js';

export const DB_FILE = 'tiercast.db';
export const DEFAULT_HISTORY_SIZE = 200;

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
  const historySize = opts.historySize ?? DEFAULT_HISTORY_SIZE;
  if (!Number.isSafeInteger(historySize) || historySize < 0)
    throw new RangeError(`openStore: historySize must be an integer >= 0, got ${historySize}`);
  const logger = opts.logger;
  const dataDir = resolve(opts.dataDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  // The file holds only hashes, but a readable one invites offline guessing of weak viewing passwords.
  if ((statSync(dataDir).mode & 0o077) !== 0)
    logger.warn({ dataDir }, 'hub data directory is readable by other users; chmod 700 it');
  const path = join(dataDir, DB_FILE);
  // Created 0600 before SQLite opens it; SQLite gives its -wal and -shm files the same mode.
  closeSync(openSync(path, 'a', 0o600));

  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    // A second process (the CLI while the hub runs) waits for the write lock instead of failing at once.
    db.pragma('busy_timeout = 5000');
    // Durable across process crashes; in WAL mode only an OS crash can lose the last transactions.
    db.pragma('synchronous = NORMAL');
    migrate(db, loadMigrations(opts.migrationsDir ?? defaultMigrationsDir()), logger, path);
  } catch (err) {
    db.close();
    throw err;
  }

  const names = createNameRegistry(db);
  const ctx: RepoContext = { db, now: opts.now ?? Date.now, logger, names };
  const lookups = new Lookups(db);
  let closed = false;
  logger.debug({ db: path, historySize }, 'hub store open');
  return {
    names,
    streamers: createStreamerRepo(ctx),
    users: createUserRepo(ctx),
    moderators: createModeratorRepo(ctx, lookups),
    sanctions: createSanctionRepo(ctx, lookups),
    emoji: createEmojiRepo(ctx),
    follows: createFollowRepo(ctx, lookups),
    chat: createChatHistoryRepo(ctx, lookups, historySize),
    close() {
      if (closed) return;
      closed = true;
      db.close();
      logger.debug({ db: path }, 'hub store closed');
    },
  };
}
