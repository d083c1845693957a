/**
 * Webhooks and their delivery log in the hub store (issue 16, ADR 0021), for one backend: run on SQLite by
 * test/unit/hub-store-webhooks.test.ts and on PostgreSQL by test/integration/hub-store-postgres.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HubError } from '../../src/hub/store/errors.js';
import type { Store } from '../../src/hub/store/types.js';
import type { StoreBackend } from '../helpers/store-backends.js';
import { syncOperatorHooks } from '../../src/hub/webhooks/operator-hooks.js';
import { silentLogger } from '../helpers/fakes.js';

export function hubStoreWebhooksSuite(backend: StoreBackend): void {
  function withStore<T>(fn: (s: Store, clock: { t: number }) => T): T {
    const clock = { t: 1_796_000_000_000 };
    const store = backend.open(backend.fresh(), { now: () => clock.t });
    try {
      store.streamers.add({ name: 'alice', key: 'alice-key-0123456789' });
      store.streamers.add({ name: 'bob', key: 'bob-key-0123456789ab' });
      return fn(store, clock);
    } finally {
      store.close();
    }
  }
  const hook = (id: string, channel: string | null) => ({
    id,
    channel,
    url: `https://hooks.example.com/${id}`,
    secret: `whsec_${id}_0123456789`,
    format: 'json' as const,
    events: ['stream.started', 'stream.ended'],
  });

  test("webhooks: a channel lists its own hooks, the operator's reach every channel, a deleted channel takes its hooks", () => {
    withStore((s, clock) => {
      const a = s.webhooks.add(hook('h1', 'alice'));
      assert.equal(a.createdAt, clock.t);
      clock.t += 1000;
      s.webhooks.add({ ...hook('h2', null), format: 'discord', events: ['stream.started'] });
      clock.t += 1000;
      s.webhooks.add(hook('h3', 'bob'));
      assert.deepEqual(
        s.webhooks.list('alice').map((h) => h.id),
        ['h1'],
      );
      assert.deepEqual(
        s.webhooks.all().map((h) => [h.id, h.channel, h.format]),
        [
          ['h1', 'alice', 'json'],
          ['h2', null, 'discord'],
          ['h3', 'bob', 'json'],
        ],
      );
      assert.deepEqual(s.webhooks.get('h2')?.events, ['stream.started']);
      assert.equal(s.webhooks.get('h1')?.secret, 'whsec_h1_0123456789');
      assert.throws(
        () => s.webhooks.add(hook('h4', 'nobody')),
        (e: unknown) => e instanceof HubError && e.code === 'NOT_FOUND',
      );
      s.streamers.remove('bob');
      assert.equal(s.webhooks.get('h3'), undefined, "bob's hook went with his channel");
      assert.equal(s.webhooks.remove('h1'), true);
      assert.equal(s.webhooks.remove('h1'), false);
      assert.deepEqual(
        s.webhooks.all().map((h) => h.id),
        ['h2'],
      );
    });
  });

  test('webhook deliveries: queued, attempted, resumed in order, logged newest first, pruned once ended', () => {
    withStore((s, clock) => {
      s.webhooks.add(hook('h1', 'alice'));
      s.webhooks.add(hook('h2', null));
      const event = (id: string, hookId: string) => ({
        id,
        hookId,
        event: 'stream.started',
        channel: 'alice',
        payload: JSON.stringify({ type: 'stream.started', channel: 'alice', at: clock.t }),
      });
      s.webhooks.enqueue(event('d1', 'h1'));
      clock.t += 10;
      s.webhooks.enqueue(event('d2', 'h2'));
      clock.t += 10;
      s.webhooks.enqueue(event('d3', 'h1'));
      s.webhooks.recordAttempt('d1', {
        attempts: 1,
        status: 503,
        error: null,
        retryAt: clock.t + 10_000,
        state: 'pending',
      });
      s.webhooks.recordAttempt('d2', {
        attempts: 1,
        status: 204,
        error: null,
        retryAt: null,
        state: 'delivered',
      });
      // What a new leader resumes: per hook, in the order queued.
      assert.deepEqual(
        s.webhooks.pending().map((d) => [d.hookId, d.id, d.attempts, d.lastStatus]),
        [
          ['h1', 'd1', 1, 503],
          ['h1', 'd3', 0, null],
        ],
      );
      s.webhooks.recordAttempt('d1', {
        attempts: 2,
        status: null,
        error: 'connect ECONNREFUSED '.repeat(60),
        retryAt: null,
        state: 'given_up',
      });
      const log = s.webhooks.deliveries('h1', 10);
      assert.deepEqual(
        log.map((d) => [d.id, d.state]),
        [
          ['d3', 'pending'],
          ['d1', 'given_up'],
        ],
      );
      assert.ok(log[1]!.lastError!.length <= 500, 'an error is kept short');
      assert.equal(JSON.parse(log[0]!.payload).channel, 'alice');
      // Pruning keeps what is pending, whatever its age.
      assert.equal(s.webhooks.prune(clock.t + 1), 2);
      assert.deepEqual(
        s.webhooks.pending().map((d) => d.id),
        ['d3'],
      );
      s.webhooks.remove('h1');
      assert.deepEqual(s.webhooks.pending(), [], "a deleted hook's deliveries go with it");
    });
  });

  test("the operator's hooks follow the config: added, replaced when changed, removed when gone; channels' untouched", () => {
    withStore((s) => {
      s.webhooks.add(hook('wh_alice000001', 'alice'));
      const cfg = (name: string, url: string, extra: object = {}) => ({
        name,
        url,
        secret: `secret-of-${name}-0123456789`,
        format: 'json' as const,
        ...extra,
      });
      const first = syncOperatorHooks(
        s.webhooks,
        [
          cfg('ops', 'https://ops.example.com/hook'),
          cfg('team', 'https://discord.example.com/x', { format: 'discord', events: ['stream.started'] }),
        ],
        silentLogger,
      );
      assert.deepEqual(first, { added: ['ops', 'team'], replaced: [], removed: [] });
      const ops = s.webhooks.get('op_ops')!;
      assert.equal(ops.channel, null, 'every channel');
      assert.deepEqual(
        ops.events,
        ['stream.started', 'stream.ended', 'stream.title_changed', 'channel.followed', 'clip.created'],
        'chat messages only when named',
      );
      assert.equal(s.webhooks.get('op_team')!.format, 'discord');
      // The same config again changes nothing (a leader elected again keeps the logs).
      s.webhooks.enqueue({
        id: 'd1',
        hookId: 'op_ops',
        event: 'stream.started',
        channel: 'alice',
        payload: '{}',
      });
      assert.deepEqual(
        syncOperatorHooks(
          s.webhooks,
          [
            cfg('ops', 'https://ops.example.com/hook'),
            cfg('team', 'https://discord.example.com/x', { format: 'discord', events: ['stream.started'] }),
          ],
          silentLogger,
        ),
        { added: [], replaced: [], removed: [] },
      );
      assert.equal(s.webhooks.deliveries('op_ops', 10).length, 1);
      // A changed address replaces the hook; a hook gone from the config goes.
      const next = syncOperatorHooks(s.webhooks, [cfg('ops', 'https://ops2.example.com/hook')], silentLogger);
      assert.deepEqual(next, { added: [], replaced: ['ops'], removed: ['team'] });
      assert.equal(s.webhooks.get('op_ops')!.url, 'https://ops2.example.com/hook');
      assert.equal(s.webhooks.get('op_team'), undefined);
      assert.deepEqual(
        s.webhooks.list('alice').map((h) => h.id),
        ['wh_alice000001'],
        "the channel's own hook stays",
      );
      syncOperatorHooks(s.webhooks, [], silentLogger);
      assert.deepEqual(
        s.webhooks.all().map((h) => h.id),
        ['wh_alice000001'],
      );
    });
  });
}
