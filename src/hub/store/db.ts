/**
 * The little the repos need from a database, so that one set of repos runs on SQLite (better-sqlite3) and on
 * PostgreSQL (pg behind a synchronous bridge, ADR 0016): prepared statements with `run`/`get`/`all`, `exec` for
 * migrations, and transactions. Synchronous like the Store it serves.
 *
 * SQL is written once, in the subset both understand: `?` and `@name` placeholders (translated to `$1…` for
 * PostgreSQL by `toPositional`), `ON CONFLICT … DO NOTHING|UPDATE`, `RETURNING`, `COLLATE NOCASE` (a collation
 * of that name is created by the PostgreSQL migrations). Values come back as SQLite gives them whatever the
 * backend: integers as JS numbers (PostgreSQL bigint included: ids and ms timestamps stay far below 2^53),
 * booleans as 0/1, blobs as Buffers.
 */
export type Dialect = 'sqlite' | 'postgres';

export type SqlValue = string | number | bigint | Buffer | null;

/** Positional values, or one object whose keys are the `@name` placeholders. */
export type BindParams = SqlValue[] | [Record<string, SqlValue>];

export interface RunResult {
  /** Rows inserted, updated or deleted. */
  changes: number;
}

export interface Statement<P extends unknown[] = unknown[], R = unknown> {
  run(...params: P): RunResult;
  get(...params: P): R | undefined;
  all(...params: P): R[];
}

export interface Db {
  readonly dialect: Dialect;
  prepare<P extends unknown[] = unknown[], R = unknown>(sql: string): Statement<P, R>;
  /** Runs SQL without parameters, possibly several statements (migrations). */
  exec(sql: string): void;
  /**
   * Wraps `fn` in a transaction: committed when it returns, rolled back when it throws. Nested calls become
   * savepoints. `fn` must be synchronous. `immediate` takes the write lock at once (SQLite BEGIN IMMEDIATE);
   * on PostgreSQL row locks are taken as statements run.
   */
  transaction<A extends unknown[], T>(
    fn: (...args: A) => T,
    opts?: { immediate?: boolean },
  ): (...args: A) => T;
  close(): void;
}

/** A placeholder-translated statement: `text` with `$n`, and how to build its values from the call's. */
export interface PositionalSql {
  text: string;
  values(params: readonly unknown[]): unknown[];
}

/**
 * `?` and `@name` placeholders as PostgreSQL's `$1…`. A `@name` used twice gets one number. Quoted strings,
 * quoted identifiers and comments are copied untouched. Mixing `?` and `@name` in one statement is refused, as
 * better-sqlite3 refuses it.
 */
export function toPositional(sql: string): PositionalSql {
  let text = '';
  let positional = 0;
  const names: string[] = [];
  for (let i = 0; i < sql.length;) {
    const c = sql[i] as string;
    if (c === "'" || c === '"') {
      const end = closingQuote(sql, i, c);
      text += sql.slice(i, end);
      i = end;
    } else if (c === '-' && sql[i + 1] === '-') {
      const nl = sql.indexOf('\n', i);
      const end = nl === -1 ? sql.length : nl;
      text += sql.slice(i, end);
      i = end;
    } else if (c === '?') {
      text += `$${++positional}`;
      i++;
    } else if (c === '@' && /[A-Za-z_]/.test(sql[i + 1] ?? '')) {
      const m = /^@([A-Za-z_][A-Za-z0-9_]*)/.exec(sql.slice(i)) as RegExpExecArray;
      const name = m[1] as string;
      let n = names.indexOf(name);
      if (n === -1) n = names.push(name) - 1;
      text += `$${n + 1}`;
      i += m[0].length;
    } else {
      text += c;
      i++;
    }
  }
  if (positional > 0 && names.length > 0)
    throw new TypeError('a statement uses both ? and @name placeholders');
  if (names.length === 0) {
    return {
      text,
      values(params) {
        if (params.length !== positional)
          throw new RangeError(`the statement takes ${positional} values, got ${params.length}`);
        return [...params];
      },
    };
  }
  return {
    text,
    values(params) {
      const obj = params[0];
      if (params.length !== 1 || typeof obj !== 'object' || obj === null)
        throw new TypeError('a statement with @name placeholders takes one object');
      return names.map((name) => {
        if (!(name in obj)) throw new RangeError(`missing named parameter "${name}"`);
        return (obj as Record<string, unknown>)[name];
      });
    },
  };
}

/** The index just past the quote closing the one at `start` (a doubled quote is part of the text). */
function closingQuote(sql: string, start: number, quote: string): number {
  for (let i = start + 1; i < sql.length; i++) {
    if (sql[i] !== quote) continue;
    if (sql[i + 1] === quote) i++;
    else return i + 1;
  }
  return sql.length;
}
