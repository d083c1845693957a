/**
 * The synchronous PostgreSQL bridge's failure paths, without a PostgreSQL server: a server that never
 * answers is STORE_TIMEOUT after the wait (not a hang), a refused connection is STORE_UNAVAILABLE, and
 * neither message holds the password from the URL. The paths with a real server: test/integration/hub-store-postgres.test.ts.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { TiercastError } from '../../src/common/errors/index.js';
import { PgBridge } from '../../src/hub/store/pg-bridge.js';

const sockets: Socket[] = [];
const silent = createServer((s) => sockets.push(s));
await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
after(() => {
  for (const s of sockets) s.destroy();
  silent.close();
});
const silentPort = (silent.address() as { port: number }).port;

function closedPort(): Promise<number> {
  const srv = createServer();
  return new Promise((resolve) =>
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    }),
  );
}

function fails(fn: () => unknown, code: string): TiercastError {
  let caught: unknown;
  assert.throws(fn, (err: unknown) => {
    caught = err;
    return err instanceof TiercastError && err.code === code;
  });
  const err = caught as TiercastError;
  assert.doesNotMatch(err.message, /s3cret/, 'the password never appears');
  return err;
}

test('a server that never answers: STORE_TIMEOUT once the wait is over, and the bridge is usable again', () => {
  const bridge = new PgBridge({
    url: `postgres://tiercast:s3cret@127.0.0.1:${silentPort}/tiercast`,
    timeoutMs: 300,
    connectTimeoutMs: 60_000,
    where: 'test',
  });
  const t0 = Date.now();
  const err = fails(() => bridge.query('SELECT 1'), 'STORE_TIMEOUT');
  const waited = Date.now() - t0;
  assert.ok(waited >= 1200 && waited < 5000, `waited ${waited} ms`);
  assert.match(err.message, /no answer from PostgreSQL within 1300 ms; the connection is reset \[db:test\]/);
  // A new worker and connection for the next statement: it times out again rather than hanging or failing at once.
  fails(() => bridge.query('SELECT 1'), 'STORE_TIMEOUT');
  bridge.close();
  bridge.close();
  fails(() => bridge.query('SELECT 1'), 'STORE_UNAVAILABLE');
});

test('a refused connection: STORE_UNAVAILABLE with the reason', async () => {
  const port = await closedPort();
  const bridge = new PgBridge({
    url: `postgres://tiercast:s3cret@127.0.0.1:${port}/tiercast`,
    timeoutMs: 5000,
  });
  const err = fails(() => bridge.exec('SELECT 1'), 'STORE_UNAVAILABLE');
  assert.match(err.message, /cannot connect to PostgreSQL: .*ECONNREFUSED/);
  bridge.close();
});
