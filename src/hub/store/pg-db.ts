/**
 * The Db of src/hub/store/db.ts over a PgBridge: `?`/`@name` translated to `$n` once per prepare, each
 * run/get/all one round trip. Transactions are BEGIN/COMMIT on the bridge's one connection (savepoints when
 * nested); statements inside one carry the connection they started on, so a connection lost mid-transaction
 * fails the rest instead of letting them run, committed one by one, on a new connection.
 */
import type { Db, Statement } from './db.js';
import { toPositional } from './db.js';
import type { PgBridge } from './pg-bridge.js';

export function postgresDb(bridge: PgBridge): Db {
  let depth = 0;
  /** The connection the open transaction runs on. */
  let pinned: string | undefined;

  const exec = (sql: string) => bridge.exec(sql, depth > 0 ? pinned : undefined);

  return {
    dialect: 'postgres',
    prepare<P extends unknown[] = unknown[], R = unknown>(sql: string): Statement<P, R> {
      const p = toPositional(sql);
      const query = (params: unknown[]) =>
        bridge.query(p.text, p.values(params), depth > 0 ? pinned : undefined);
      return {
        run: (...params) => ({ changes: query(params).rowCount }),
        get: (...params) => query(params).rows[0] as R | undefined,
        all: (...params) => query(params).rows as R[],
      };
    },
    exec(sql) {
      exec(sql);
    },
    transaction<A extends unknown[], T>(fn: (...args: A) => T): (...args: A) => T {
      return (...args: A): T => {
        const savepoint = depth > 0 ? `tc_sp${depth}` : undefined;
        if (savepoint) exec(`SAVEPOINT ${savepoint}`);
        else {
          bridge.exec('BEGIN');
          pinned = bridge.generation;
        }
        depth++;
        let result: T;
        try {
          result = fn(...args);
          if (result instanceof Promise) throw new TypeError('a transaction function must not be async');
        } catch (err) {
          try {
            exec(savepoint ? `ROLLBACK TO SAVEPOINT ${savepoint}` : 'ROLLBACK');
          } catch {
            // The connection is gone: the server rolled back already.
          } finally {
            depth--;
          }
          throw err;
        }
        try {
          exec(savepoint ? `RELEASE SAVEPOINT ${savepoint}` : 'COMMIT');
        } finally {
          depth--;
        }
        return result;
      };
    },
    close() {
      bridge.close();
    },
  };
}
