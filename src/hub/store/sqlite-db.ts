/** The Db of src/hub/store/db.ts over better-sqlite3: a thin pass-through, SQLite does every part itself. */
import type BetterSqlite3 from 'better-sqlite3';
import type { Db, Statement } from './db.js';

export function sqliteDb(db: BetterSqlite3.Database): Db {
  return {
    dialect: 'sqlite',
    prepare<P extends unknown[] = unknown[], R = unknown>(sql: string): Statement<P, R> {
      const stmt = db.prepare<unknown[], R>(sql);
      return {
        run: (...params) => ({ changes: stmt.run(...params).changes }),
        get: (...params) => stmt.get(...params),
        all: (...params) => stmt.all(...params),
      };
    },
    exec(sql) {
      db.exec(sql);
    },
    transaction(fn, opts) {
      const tx = db.transaction(fn);
      return opts?.immediate ? (...args) => tx.immediate(...args) : tx;
    },
    close() {
      db.close();
    },
  };
}
