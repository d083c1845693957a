/** What every repo gets from openStore: the open database, the clock, and lookups they share. */
import type { Logger } from '../../common/logging/index.js';
import type { Db, Statement } from './db.js';
import { HubError } from './errors.js';
import type { NameRegistry } from './name-registry.js';

export interface RepoContext {
  db: Db;
  now: () => number;
  logger: Logger;
  names: NameRegistry;
}

/** Ids by exact name, for repos whose rows hang off a streamer or a user. */
export class Lookups {
  private readonly streamerStmt: Statement<[string], { id: number }>;
  private readonly userStmt: Statement<[string], { id: number; name: string }>;
  private readonly userByIdStmt: Statement<[number], { id: number }>;

  constructor(db: Db) {
    this.streamerStmt = db.prepare('SELECT id FROM streamers WHERE name = ?');
    this.userStmt = db.prepare('SELECT id, name FROM users WHERE name = ?');
    this.userByIdStmt = db.prepare('SELECT id FROM users WHERE id = ?');
  }

  streamerId(name: string): number | undefined {
    return typeof name === 'string' ? this.streamerStmt.get(name)?.id : undefined;
  }

  requireStreamerId(name: string): number {
    const id = this.streamerId(name);
    if (id === undefined) throw new HubError('UNKNOWN_NAME', 'no such streamer', { streamer: name });
    return id;
  }

  /** User names are matched regardless of case (the column is COLLATE NOCASE). */
  userId(name: string): number | undefined {
    return typeof name === 'string' ? this.userStmt.get(name)?.id : undefined;
  }

  requireUserId(name: string): number {
    const id = this.userId(name);
    if (id === undefined) throw new HubError('UNKNOWN_NAME', 'no such user', { user: name });
    return id;
  }

  requireUserById(id: number): number {
    if (!Number.isSafeInteger(id) || this.userByIdStmt.get(id) === undefined) {
      throw new HubError('NOT_FOUND', 'no such user id', { userId: id });
    }
    return id;
  }
}

/** SQLite's codes for a UNIQUE or PRIMARY KEY constraint, and PostgreSQL's unique_violation (both kinds). */
const UNIQUE_VIOLATION: ReadonlySet<unknown> = new Set([
  'SQLITE_CONSTRAINT_UNIQUE',
  'SQLITE_CONSTRAINT_PRIMARYKEY',
  '23505',
]);

/**
 * A UNIQUE or PRIMARY KEY constraint failed: the repo turns it into DUPLICATE_NAME (the pre-check can race
 * another process).
 */
export function isUniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && UNIQUE_VIOLATION.has((err as { code?: unknown }).code);
}
