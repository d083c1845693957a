/**
 * The webhook dispatcher with a fake clock and a fake receiver (ADR 0021, proposed; issue 16): who gets
 * which event, order and one delivery in flight per hook, retries that keep the delivery id, giving up after
 * a day, a failing hook tried hourly, and a hook that hangs or fails never holding up another.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  WebhookDispatcher,
  wants,
  type AttemptRecord,
  type Webhook,
} from '../../src/hub/webhooks/dispatcher.js';
import { verifySignature } from '../../src/hub/webhooks/signature.js';
import { FAILING_AFTER, MAX_QUEUED, MAX_RETRY_MS } from '../../src/hub/webhooks/schedule.js';
import type { HubEvent } from '../../src/common/protocol/hub-events.js';

const started = (channel: string, at = 0): HubEvent => ({
  type: 'stream.started',
  channel,
  at,
  title: 't',
  category: 'c',
});

const START = 1_000_000;

/** A fake clock and receiver: answers per URL, timers run by advance(). */
function rig(answer: (url: string) => number | Error) {
  let now = START;
  const timers: Array<{ at: number; fn: () => void }> = [];
  const posts: Array<{ url: string; headers: Record<string, string>; body: string }> = [];
  const log: AttemptRecord[] = [];
  const d = new WebhookDispatcher({
    post: (url, headers, body) => {
      posts.push({ url, headers, body });
      const a = answer(url);
      return a instanceof Error ? Promise.reject(a) : Promise.resolve(a);
    },
    now: () => now,
    later: (fn, ms) => timers.push({ at: now + ms, fn }),
    onAttempt: (r) => log.push(r),
    channelUrl: (c) => `https://t.example/watch/${c}`,
    random: () => 0.5,
  });
  const settle = () => new Promise((r) => setImmediate(r));
  return {
    d,
    now: () => now,
    posts,
    log,
    settle,
    async advance(ms: number) {
      now += ms;
      for (;;) {
        await settle();
        const due = timers.filter((t) => t.at <= now);
        if (due.length === 0) return;
        for (const t of due) timers.splice(timers.indexOf(t), 1);
        for (const t of due) t.fn();
      }
    },
  };
}

const hook = (id: string, over: Partial<Webhook> = {}): Webhook => ({
  id,
  url: `https://hooks.example/${id}`,
  secret: `secret-${id}`,
  format: 'json',
  events: ['stream.started', 'stream.ended'],
  channel: null,
  ...over,
});

describe('webhook dispatcher', () => {
  it("a streamer's hook gets its own channel's events; chat messages only when named", () => {
    assert.equal(wants(hook('a', { channel: 'cam' }), started('cam')), true);
    assert.equal(wants(hook('a', { channel: 'cam' }), started('other')), false);
    assert.equal(wants(hook('op'), started('other')), true);
    const chat: HubEvent = { type: 'chat.message', channel: 'cam', at: 0, author: 'x', text: 'hi' };
    assert.equal(wants(hook('op'), chat), false);
    assert.equal(wants(hook('op', { events: ['chat.message'] }), chat), true);
  });

  it('delivers signed bodies in order, one at a time per hook', async () => {
    const r = rig(() => 204);
    r.d.setHooks([hook('a')]);
    r.d.emit(started('cam', 1));
    r.d.emit({ type: 'stream.ended', channel: 'cam', at: 2, durationS: 60 });
    assert.equal(r.posts.length, 1, 'the second waits for the first');
    await r.settle();
    await r.settle();
    assert.deepEqual(
      r.posts.map((p) => (JSON.parse(p.body) as { event: string }).event),
      ['stream.started', 'stream.ended'],
    );
    for (const p of r.posts)
      assert.deepEqual(verifySignature('secret-a', p.body, p.headers['x-tiercast-signature'], START), {
        ok: true,
      });
    assert.deepEqual(
      r.log.map((l) => [l.status, l.retryAt]),
      [
        [204, null],
        [204, null],
      ],
    );
  });

  it('retries a failed delivery with the same id, backing off, until the receiver answers 2xx', async () => {
    let status = 500;
    const r = rig(() => status);
    r.d.setHooks([hook('a')]);
    r.d.emit(started('cam'));
    await r.advance(0);
    await r.advance(10_000);
    await r.advance(20_000);
    status = 200;
    await r.advance(40_000);
    assert.deepEqual(
      r.log.map((l) => l.status),
      [500, 500, 500, 200],
    );
    assert.equal(new Set(r.posts.map((p) => (JSON.parse(p.body) as { id: string }).id)).size, 1);
  });

  it('a hook that hangs or fails does not hold up another hook', async () => {
    const r = rig((url) => (url.endsWith('/bad') ? new Error('connect ECONNREFUSED') : 200));
    r.d.setHooks([hook('bad'), hook('good')]);
    r.d.emit(started('cam'));
    r.d.emit(started('cam'));
    await r.advance(0);
    const good = r.log.filter((l) => l.hook === 'good');
    assert.deepEqual(
      good.map((l) => l.status),
      [200, 200],
    );
    const bad = r.log.filter((l) => l.hook === 'bad');
    assert.equal(bad[0]!.error, 'connect ECONNREFUSED');
    assert.equal(bad[0]!.retryAt, START + 10_000);
  });

  it('a hook whose receiver is down holds at most MAX_QUEUED deliveries; the rest are given up at once, in the log', async () => {
    const r = rig((url) => (url.endsWith('/down') ? new Error('connect ECONNREFUSED') : 200));
    r.d.setHooks([hook('down'), hook('up')]);
    // Events as they happen (the receiver that is up keeps up with them).
    for (let i = 0; i < MAX_QUEUED + 5; i++) {
      r.d.emit(started('cam', i));
      await r.settle();
    }
    const refused = r.log.filter((l) => l.hook === 'down' && l.attempt === 0);
    assert.equal(refused.length, 5, 'MAX_QUEUED held (the one in flight included); the other five refused');
    assert.ok(refused.every((l) => l.retryAt === null && /already waiting/.test(l.error ?? '')));
    assert.equal(
      r.log.filter((l) => l.hook === 'up' && l.status === 200).length,
      MAX_QUEUED + 5,
      'the other hook gets all',
    );
  });

  it('gives a delivery up after a day; a hook failing many in a row is tried hourly until it answers', async () => {
    const r = rig(() => 503);
    r.d.setHooks([hook('a')]);
    for (let i = 0; i < FAILING_AFTER; i++) r.d.emit(started('cam', i));
    // Each delivery retries for a day, then is given up and the next one starts.
    for (let h = 0; h < 26 * FAILING_AFTER + 26; h++) await r.advance(3_600_000);
    const givenUp = r.log.filter((l) => l.retryAt === null);
    assert.ok(givenUp.length >= FAILING_AFTER - 1, `${givenUp.length} given up`);
    assert.equal(r.d.failing('a'), true);
    r.d.emit(started('cam', 99));
    await r.advance(0);
    const last = r.log.at(-1)!;
    assert.equal(last.status, 503);
    assert.equal(last.retryAt, r.now() + MAX_RETRY_MS, 'a failing hook is tried again in an hour');
  });
});
