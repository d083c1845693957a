/**
 * A synchronous PostgreSQL connection for the synchronous Store (ADR 0016). A worker thread (pg-worker.js)
 * holds a pg Client; `query` posts {text, values} on a MessageChannel, blocks this thread with Atomics.wait on
 * a SharedArrayBuffer until the worker signals, and takes the answer with receiveMessageOnPort (the synckit
 * pattern). One request at a time: the thread that asks is blocked until the answer comes, so statements and
 * transactions on the one connection never interleave.
 *
 * Errors: PostgreSQL's come back as PgError with its SQLSTATE in `code` (23505 unique_violation…), as
 * better-sqlite3 gives SqliteError with SQLITE_CONSTRAINT_UNIQUE; no connection is STORE_UNAVAILABLE; no
 * answer within `timeoutMs` is STORE_TIMEOUT, and the worker is then ended (the server rolls back what that
 * connection had open) and the next request starts a new one.
 *
 * Closing: close() is idempotent; it ends the connection (waiting briefly) and the worker. Requests after
 * close throw. The worker is unref'd: a forgotten bridge does not keep the process alive.
 */
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { TiercastError } from '../../common/errors/index.js';

export interface PgBridgeOptions {
  /** postgres://user:password@host:port/database (libpq parameters in the query string, e.g. sslmode). */
  url: string;
  /** Longest wait for one answer, connecting included; then STORE_TIMEOUT. */
  timeoutMs?: number;
  /** The server cancels a statement running longer (statement_timeout); default: timeoutMs. */
  statementTimeoutMs?: number;
  /** Default: timeoutMs. */
  connectTimeoutMs?: number;
  /** Names the database in error messages (never the URL). */
  where?: string;
}

export interface PgResult {
  rows: Record<string, unknown>[];
  rowCount: number;
}

/** An error PostgreSQL returned: `code` is its SQLSTATE (23505 unique_violation, 23503 foreign_key_violation…). */
export class PgError extends Error {
  readonly code: string | undefined;
  readonly constraint: string | undefined;

  constructor(message: string, code?: string, constraint?: string) {
    super(message);
    this.name = 'PgError';
    this.code = code;
    this.constraint = constraint;
  }
}

interface Answer {
  id: number;
  ok: boolean;
  rows?: Record<string, unknown>[];
  rowCount?: number;
  generation?: string;
  error?: { message: string; code?: string; constraint?: string; unavailable?: boolean };
}

interface Running {
  worker: Worker;
  port: MessagePort;
  signal: Int32Array;
}

const DEFAULT_TIMEOUT_MS = 10_000;
/** Slack past the server's own statement_timeout, so a slow statement fails as the server's cancel. */
const SLACK_MS = 1000;

let serials = 0;

export class PgBridge {
  private running: Running | undefined;
  private nextId = 1;
  private closed = false;
  private readonly timeoutMs: number;
  private readonly where: string;
  /** The connection the last answer came from: `<worker>:<connection>`; a transaction pins it. */
  generation: string | undefined;

  constructor(private readonly opts: PgBridgeOptions) {
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.where = opts.where ?? 'postgres';
  }

  /** One statement with `$n` parameters (prepared once per connection). */
  query(text: string, values: readonly unknown[] = [], expect?: string): PgResult {
    return this.request({ op: 'query', text, values: [...values], expect });
  }

  /** SQL without parameters, possibly several statements; the last one's result. */
  exec(text: string, expect?: string): PgResult {
    return this.request({ op: 'exec', text, expect });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const r = this.running;
    this.running = undefined;
    if (!r) return;
    try {
      this.roundTrip(r, { op: 'close' }, Math.min(this.timeoutMs, 2000));
    } catch {
      // Ending the worker closes its socket; the server rolls back whatever was open.
    }
    void r.worker.terminate().catch(() => undefined);
  }

  private request(msg: {
    op: 'query' | 'exec';
    text: string;
    values?: unknown[];
    expect?: string;
  }): PgResult {
    if (this.closed)
      throw new TiercastError('STORE_UNAVAILABLE', 'the hub store is closed', { db: this.where });
    const r = (this.running ??= this.start());
    const answer = this.roundTrip(r, msg, this.timeoutMs + SLACK_MS);
    if (answer.ok) {
      this.generation = answer.generation;
      return { rows: (answer.rows ?? []).map(withBuffers), rowCount: answer.rowCount ?? 0 };
    }
    const e = answer.error ?? { message: 'unknown error' };
    if (e.unavailable)
      throw new TiercastError('STORE_UNAVAILABLE', `PostgreSQL unavailable: ${e.message}`, {
        db: this.where,
      });
    throw new PgError(e.message, e.code, e.constraint);
  }

  private roundTrip(r: Running, msg: object, waitMs: number): Answer {
    const id = this.nextId++;
    Atomics.store(r.signal, 0, 0);
    r.port.postMessage({ ...msg, id });
    const deadline = Date.now() + waitMs;
    for (;;) {
      const left = deadline - Date.now();
      const status = left > 0 ? Atomics.wait(r.signal, 0, 0, left) : 'timed-out';
      const got = receiveMessageOnPort(r.port)?.message as Answer | undefined;
      if (got?.id === id) return got;
      if (status === 'timed-out') {
        this.stop(r);
        throw new TiercastError(
          'STORE_TIMEOUT',
          `no answer from PostgreSQL within ${waitMs} ms; the connection is reset`,
          { db: this.where },
        );
      }
      // Woken without our answer (cannot happen with one request at a time; be safe): wait again.
      Atomics.store(r.signal, 0, 0);
    }
  }

  private start(): Running {
    const { port1, port2 } = new MessageChannel();
    const shared = new SharedArrayBuffer(4);
    const worker = new Worker(new URL('./pg-worker.js', import.meta.url), {
      workerData: {
        url: this.opts.url,
        signal: shared,
        port: port2,
        serial: ++serials,
        statementTimeoutMs: this.opts.statementTimeoutMs ?? this.timeoutMs,
        connectTimeoutMs: this.opts.connectTimeoutMs ?? this.timeoutMs,
      },
      transferList: [port2],
      // The worker is plain JavaScript: no TypeScript loader needed, and none inherited by accident.
      execArgv: [],
    });
    worker.unref();
    port1.unref();
    // Its errors surface as the timeout of the request it was serving; an 'error' listener keeps them from
    // crashing the process.
    worker.on('error', () => undefined);
    return { worker, port: port1, signal: new Int32Array(shared) };
  }

  private stop(r: Running): void {
    if (this.running === r) this.running = undefined;
    this.generation = undefined;
    void r.worker.terminate().catch(() => undefined);
  }
}

/** Buffers cross the thread boundary as plain Uint8Arrays (structured clone); the repos get Buffers, as from SQLite. */
function withBuffers(row: Record<string, unknown>): Record<string, unknown> {
  for (const [k, v] of Object.entries(row))
    if (v instanceof Uint8Array && !Buffer.isBuffer(v))
      row[k] = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  return row;
}
