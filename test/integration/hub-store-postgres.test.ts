/**
 * The hub store's suites (and the admin functions') on PostgreSQL (a throwaway cluster, test/helpers/postgres.ts), as the unit tier runs
 * them on SQLite; plus what only PostgreSQL has: errors with their SQLSTATE, a transaction rolled back on
 * the one connection, and the cost of the synchronous bridge (printed, not asserted: ADR 0016 quotes it).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { pino } from 'pino';
import { PgBridge, PgError } from '../../src/hub/store/pg-bridge.js';
import { postgresDb } from '../../src/hub/store/pg-db.js';
import { openPostgresStore } from '../../src/hub/store/pg-store.js';
import { postgresMissing, startPostgres, type PgCluster } from '../helpers/postgres.js';
import { postgresBackend } from '../helpers/store-backends.js';
import { hubAdminSuite } from '../unit/hub-admin-suite.js';
import { hubStoreChannelsSuite } from '../unit/hub-store-channels-suite.js';
import { hubStoreSecretsSuite } from '../unit/hub-store-secrets-suite.js';
import { hubStoreSuite } from '../unit/hub-store-suite.js';
import { hubStoreWebhooksSuite } from '../unit/hub-store-webhooks-suite.js';
import { hubStoreModerationSuite } from '../unit/hub-store-moderation-suite.js';
import { hubStoreAnalyticsSuite } from '../unit/hub-store-analytics-suite.js';

const missing = postgresMissing();
if (missing) {
  test('hub store on PostgreSQL', { skip: missing }, () => undefined);
} else {
  const cluster: PgCluster = await startPostgres();
  const backend = postgresBackend(() => cluster);
  after(async () => {
    backend.close();
    await cluster.stop();
  });
  hubStoreSuite(backend);
  hubStoreSecretsSuite(backend);
  hubStoreChannelsSuite(backend);
  hubStoreWebhooksSuite(backend);
  hubStoreModerationSuite(backend);
  hubStoreAnalyticsSuite(backend);
  hubAdminSuite(backend);

  test('PostgreSQL errors come back with their SQLSTATE; a failed transaction leaves nothing behind', () => {
    const db = postgresDb(new PgBridge({ url: backend.fresh(), timeoutMs: 30_000 }));
    try {
      db.exec('CREATE TABLE t (id BIGINT PRIMARY KEY, b BYTEA, at BIGINT)');
      const insert = db.prepare('INSERT INTO t (id, b, at) VALUES (?, ?, ?)');
      insert.run(1, Buffer.from([0, 1, 255]), 1_796_000_000_000);
      assert.throws(
        () => insert.run(1, null, 0),
        (err: unknown) => err instanceof PgError && err.code === '23505' && err.constraint === 't_pkey',
      );
      assert.throws(
        () =>
          db.transaction(() => {
            insert.run(2, null, 0);
            insert.run(1, null, 0);
          })(),
        (err: unknown) => err instanceof PgError && err.code === '23505',
      );
      const rows = db.prepare<[], { id: number; b: Buffer | null; at: number; t: number }>(
        'SELECT id, b, at, (at > 0)::boolean AS t FROM t ORDER BY id',
      );
      assert.deepEqual(rows.all(), [{ id: 1, b: Buffer.from([0, 1, 255]), at: 1_796_000_000_000, t: 1 }]);
      const nested = db.transaction(() => {
        insert.run(3, null, 0);
        assert.throws(() => db.transaction(() => insert.run(1, null, 0))());
        insert.run(4, null, 0);
      });
      nested();
      assert.deepEqual(
        rows.all().map((r) => r.id),
        [1, 3, 4],
        'a failed savepoint rolls back only itself',
      );
    } finally {
      db.close();
    }
  });

  test('cost of the synchronous bridge per statement (printed for ADR 0016)', async () => {
    const store = openPostgresStore({ url: backend.fresh(), logger: pino({ level: 'silent' }) });
    const bridge = new PgBridge({ url: backend.fresh(), timeoutMs: 30_000 });
    try {
      store.streamers.add({ name: 'alice', key: 'alice-key-0123456789abcdef' });
      const N = 2000;
      const time = (fn: () => unknown) => {
        for (let i = 0; i < 200; i++) fn();
        const t0 = process.hrtime.bigint();
        for (let i = 0; i < N; i++) fn();
        return Number(process.hrtime.bigint() - t0) / N / 1000;
      };
      const select1 = time(() => bridge.query('SELECT 1'));
      const get = time(() => store.streamers.get('alice'));
      // The same statement from this thread with pg's own async client: what the bridge adds.
      const direct = new pg.Client({ connectionString: cluster.url('postgres') });
      await direct.connect();
      const q = { name: 'one', text: 'SELECT 1' };
      for (let i = 0; i < 200; i++) await direct.query(q);
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < N; i++) await direct.query(q);
      const async1 = Number(process.hrtime.bigint() - t0) / N / 1000;
      await direct.end();
      console.log(
        `bridge: ${select1.toFixed(1)} µs per SELECT 1 (pg async on this thread: ${async1.toFixed(1)} µs); ` +
          `${get.toFixed(1)} µs per streamers.get (one indexed SELECT)`,
      );
      assert.equal(store.streamers.get('alice')?.name, 'alice');
    } finally {
      bridge.close();
      store.close();
    }
  });
}
