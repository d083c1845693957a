/**
 * The webhook queue kept in the hub store (issue 16, ADR 0021): every delivery is a row from the moment it is
 * queued; a hub that becomes leader resumes what the previous one left pending, with the same delivery id,
 * before anything new, and the log says how each ended.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { WebhookDispatcher, type Webhook } from '../../src/hub/webhooks/dispatcher.js';
import { resumePending, storedDeliveries } from '../../src/hub/webhooks/stored-deliveries.js';
import type { HubEvent, HubEventType } from '../../src/common/protocol/hub-events.js';
import type { Store } from '../../src/hub/store/types.js';
import { sqliteBackend } from '../helpers/store-backends.js';

const backend = sqliteBackend();
after(() => backend.cleanup());

const started = (channel: string, at: number, title = 't'): HubEvent => ({
  type: 'stream.started',
  channel,
  at,
  title,
  category: 'c',
});

/** One leader's dispatcher over the store, with a receiver that answers `status` and a fake clock. */
function leader(store: Store, clock: { t: number }, status: number) {
  const bodies: Array<{ id: string; title: string }> = [];
  const d = new WebhookDispatcher({
    post: (_url, _headers, body) => {
      const b = JSON.parse(body) as { id: string; data: { title: string } };
      bodies.push({ id: b.id, title: b.data.title });
      return Promise.resolve(status);
    },
    now: () => clock.t,
    later: () => undefined, // retries are left to the next leader here
    channelUrl: (c) => `https://t.example/watch/${c}`,
    random: () => 0.5,
    ...storedDeliveries(store.webhooks),
  });
  d.setHooks(store.webhooks.all().map((h): Webhook => ({ ...h, events: h.events as HubEventType[] })));
  return { d, bodies };
}

/** Channel alice and her hook h1 (stream.started). */
function aliceWithHook(store: Store): void {
  store.streamers.add({ name: 'alice', key: 'alice-key-0123456789' });
  store.webhooks.add({
    id: 'h1',
    channel: 'alice',
    url: 'https://hooks.example.com/h1',
    secret: 'whsec_0123456789abcdef',
    format: 'json',
    events: ['stream.started'],
  });
}

const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

test('a new leader resumes the pending deliveries in order with their ids, before new events; the log says how each ended', async () => {
  const clock = { t: 1_796_000_000_000 };
  const store = backend.open(backend.fresh(), { now: () => clock.t });
  try {
    aliceWithHook(store);
    // The first leader's receiver is down: two events wait, the first after one failed attempt.
    const a = leader(store, clock, 503);
    a.d.emit(started('alice', clock.t, 'first'));
    await settle();
    a.d.emit(started('alice', clock.t, 'second'));
    await settle();
    const pending = store.webhooks.pending();
    assert.deepEqual(
      pending.map((p) => [p.attempts, p.lastStatus, p.retryAt !== null]),
      [
        [1, 503, true],
        [0, null, false],
      ],
    );
    assert.equal(a.bodies.length, 1, 'one delivery in flight per hook');

    // That hub goes away; the next leader's receiver is up.
    clock.t += 60_000;
    const b = leader(store, clock, 204);
    assert.equal(resumePending(store.webhooks, b.d), 2);
    b.d.emit(started('alice', clock.t, 'third'));
    await settle();
    assert.deepEqual(
      b.bodies.map((x) => x.title),
      ['first', 'second', 'third'],
    );
    assert.equal(b.bodies[0]!.id, a.bodies[0]!.id, 'a retry keeps its delivery id');
    assert.deepEqual(store.webhooks.pending(), []);
    assert.deepEqual(
      store.webhooks.deliveries('h1', 10).map((d) => [d.state, d.attempts, d.lastStatus]),
      [
        ['delivered', 1, 204],
        ['delivered', 1, 204],
        ['delivered', 2, 204],
      ],
    );
  } finally {
    store.close();
  }
});

test('a stored row this code cannot read stays pending and is not sent', () => {
  const store = backend.open(backend.fresh());
  try {
    aliceWithHook(store);
    store.webhooks.enqueue({
      id: 'x',
      hookId: 'h1',
      event: 'stream.started',
      channel: 'alice',
      payload: '{"type":"nope"}',
    });
    const { d, bodies } = leader(store, { t: Date.now() }, 204);
    assert.equal(resumePending(store.webhooks, d), 0);
    assert.equal(bodies.length, 0);
    assert.equal(store.webhooks.pending().length, 1);
  } finally {
    store.close();
  }
});
