// @ts-check
/**
 * The worker thread behind src/hub/store/pg-bridge.ts (ADR 0016): holds one pg Client and answers one
 * request at a time. For each request it posts the answer on its port, then sets the shared signal and
 * wakes the main thread, which is blocked in Atomics.wait and reads the answer with receiveMessageOnPort.
 *
 * Plain JavaScript so that it starts the same from src/ (through tsx or not) and from dist/ (tsc copies it):
 * a worker does not inherit a loader registered through tsx's API.
 *
 * Values come back as SQLite would give them (see db.ts): int8 as a JS number, bool as 0/1, bytea as bytes.
 * The connection string may hold a password: it is never logged, posted back, or put in an error.
 */
import { workerData } from 'node:worker_threads';
import pg from 'pg';

// workerData is `any` by definition; pg-bridge.ts's start() gives it this shape.
// eslint-disable-next-line @typescript-eslint/no-unsafe-assignment
const data =
  /** @type {{ url: string; signal: SharedArrayBuffer; port: import('node:worker_threads').MessagePort; serial: number; statementTimeoutMs: number; connectTimeoutMs: number }} */ (
    workerData
  );
const signal = new Int32Array(data.signal);
const port = data.port;

const INT8 = 20;
const BOOL = 16;
/** @type {import('pg').CustomTypesConfig} */
const types = {
  getTypeParser: /** @type {import('pg').CustomTypesConfig['getTypeParser']} */ (
    (oid, format) => {
      if (format !== 'binary' && Number(oid) === INT8) return (/** @type {string} */ v) => Number(v);
      if (format !== 'binary' && Number(oid) === BOOL)
        return (/** @type {string} */ v) => (v === 't' ? 1 : 0);
      // pg's own parser for every other type (typed `any` in @types/pg).
      // eslint-disable-next-line @typescript-eslint/no-unsafe-return
      return pg.types.getTypeParser(oid, format);
    }
  ),
};

/** @type {import('pg').Client | undefined} */
let client;
let generation = 0;
/** Named statements: the same text always gets the same name, so pg parses it once per connection. */
/** @type {Map<string, string>} */
const statementNames = new Map();

/** @returns {Promise<import('pg').Client>} */
async function connection() {
  if (client) return client;
  const c = new pg.Client({
    connectionString: data.url,
    types,
    application_name: 'tiercast-hub',
    statement_timeout: data.statementTimeoutMs,
    connectionTimeoutMillis: data.connectTimeoutMs,
  });
  // A connection lost while idle: the next request opens a new one.
  c.on('error', () => {
    if (client === c) client = undefined;
  });
  c.on('end', () => {
    if (client === c) client = undefined;
  });
  try {
    await c.connect();
  } catch (err) {
    void c.end().catch(() => undefined);
    throw Object.assign(new Error(`cannot connect to PostgreSQL: ${errorText(err)}`), { unavailable: true });
  }
  client = c;
  generation++;
  return c;
}

/** @param {unknown} err */
function errorText(err) {
  return err instanceof Error ? err.message : String(err);
}

/** Bytes arrive as Uint8Array (structured clone drops Buffer); pg sends only Buffers as bytea. @param {unknown} v */
function param(v) {
  return v instanceof Uint8Array ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : v;
}

/**
 * @param {{ id: number; op: 'query' | 'exec' | 'close'; text?: string; values?: unknown[]; expect?: string }} msg
 */
async function handle(msg) {
  if (msg.op === 'close') {
    const c = client;
    client = undefined;
    if (c) await c.end().catch(() => undefined);
    return { id: msg.id, ok: true, rows: [], rowCount: 0 };
  }
  if (msg.expect !== undefined && (!client || `${data.serial}:${generation}` !== msg.expect)) {
    const error = {
      message: 'the connection to PostgreSQL was lost inside a transaction',
      unavailable: true,
    };
    return { id: msg.id, ok: false, error };
  }
  const c = await connection();
  const text = msg.text ?? '';
  /** @type {import('pg').QueryResult} */
  let res;
  if (msg.op === 'exec') {
    // The simple protocol: several statements in one text, no parameters (migrations, BEGIN/COMMIT).
    const r = /** @type {import('pg').QueryResult | import('pg').QueryResult[]} */ (await c.query(text));
    res = Array.isArray(r) ? (r.at(-1) ?? { rows: [], rowCount: 0, command: '', oid: 0, fields: [] }) : r;
  } else {
    let name = statementNames.get(text);
    if (name === undefined) statementNames.set(text, (name = `tc${statementNames.size + 1}`));
    res = await c.query({ name, text, values: (msg.values ?? []).map(param) });
  }
  return {
    id: msg.id,
    ok: true,
    rows: res.rows,
    rowCount: res.rowCount ?? 0,
    generation: `${data.serial}:${generation}`,
  };
}

/** @param {unknown} err */
function serialize(err) {
  const e =
    /** @type {{ message?: unknown; code?: unknown; constraint?: unknown; unavailable?: unknown }} */ (
      typeof err === 'object' && err !== null ? err : {}
    );
  const connectionGone = !client;
  return {
    message: typeof e.message === 'string' ? e.message : String(err),
    code: typeof e.code === 'string' ? e.code : undefined,
    constraint: typeof e.constraint === 'string' ? e.constraint : undefined,
    unavailable: e.unavailable === true || (connectionGone && typeof e.code !== 'string'),
  };
}

port.on('message', (/** @type {Parameters<typeof handle>[0]} */ msg) => {
  handle(msg)
    .catch((err) => ({ id: msg.id, ok: false, error: serialize(err) }))
    .then((answer) => {
      port.postMessage(answer);
      Atomics.store(signal, 0, 1);
      Atomics.notify(signal, 0);
    })
    .catch(() => undefined);
});
