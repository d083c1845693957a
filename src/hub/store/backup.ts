/**
 * An online backup of the hub's SQLite database (`node-role backup --out FILE`): SQLite's backup API
 * (better-sqlite3's `backup()`) copies a consistent snapshot page by page while the hub keeps running and
 * writing. The copy is written beside the target under a temporary name, checked (`PRAGMA integrity_check`,
 * its schema version and row counts read back), and only then renamed into place, mode 0600 (it holds
 * password and key hashes). An existing file is never overwritten.
 */
import { chmodSync, existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { HubError } from './errors.js';
import { DB_FILE } from './sqlite-store.js';

export interface BackupSummary {
  file: string;
  bytes: number;
  /** The newest migration applied in the copy. */
  schemaVersion: number;
  streamers: number;
  users: number;
  chatMessages: number;
}

export async function backupSqlite(dataDir: string, outFile: string): Promise<BackupSummary> {
  const source = join(resolve(dataDir), DB_FILE);
  if (!existsSync(source))
    throw new HubError('INVALID_VALUE', `no hub database in ${dataDir} (expected ${DB_FILE})`);
  const out = resolve(outFile);
  if (existsSync(out)) throw new HubError('INVALID_VALUE', `${outFile} exists: choose another --out`);
  const tmp = `${out}.${process.pid}.partial`;
  const db = new Database(source, { readonly: true, fileMustExist: true });
  try {
    await db.backup(tmp);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new HubError('INVALID_VALUE', `backup failed: ${(err as Error).message}`, {}, { cause: err });
  } finally {
    db.close();
  }
  let summary: Omit<BackupSummary, 'file' | 'bytes'>;
  try {
    chmodSync(tmp, 0o600);
    summary = inspect(tmp);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  renameSync(tmp, out);
  return { file: out, bytes: statSync(out).size, ...summary };
}

/** Makes the copy one self-contained file (no -wal/-shm beside it) and reads it back: refuses a damaged one. */
function inspect(file: string): Omit<BackupSummary, 'file' | 'bytes'> {
  const db = new Database(file, { fileMustExist: true });
  try {
    // The copy keeps the source's WAL mode; the hub sets it again when it opens a restored file.
    db.pragma('journal_mode = DELETE');
    const check = db.pragma('integrity_check', { simple: true });
    if (check !== 'ok')
      throw new HubError('INVALID_VALUE', `the backup does not pass integrity_check: ${String(check)}`);
    const count = (table: string) =>
      (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    const v = db.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number | null };
    return {
      schemaVersion: v.v ?? 0,
      streamers: count('streamers'),
      users: count('users'),
      chatMessages: count('chat_messages'),
    };
  } finally {
    db.close();
  }
}
