/**
 * A channel's chat rules, regulars and moderation log, go-live notifications, push subscriptions and restream
 * outputs, in the hub store (issue 16), for one backend: run on
 * SQLite by test/unit/hub-store-moderation.test.ts and on PostgreSQL by test/integration/hub-store-postgres.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HubError } from '../../src/hub/store/errors.js';
import { DEFAULT_CHAT_RULES } from '../../src/hub/store/types.js';
import type { StoreBackend } from '../helpers/store-backends.js';

export function hubStoreModerationSuite(backend: StoreBackend): void {
  test('chat rules: defaults until set, kept per channel, unknown channel refused, gone with the channel', () => {
    const clock = { t: 1_796_000_000_000 };
    const s = backend.open(backend.fresh(), { now: () => clock.t });
    try {
      s.streamers.add({ name: 'alice', key: 'alice-key-0123456789' });
      s.streamers.add({ name: 'bob', key: 'bob-key-0123456789ab' });
      assert.deepEqual(s.moderation.rules('alice'), DEFAULT_CHAT_RULES);
      const rules = {
        slowModeS: 30,
        who: 'followers' as const,
        links: 'review' as const,
        linkAllow: ['example.org', 'twitch.tv'],
        blockedWords: ['spoiler', 'ending'],
      };
      assert.deepEqual(s.moderation.setRules('alice', rules), rules);
      assert.deepEqual(s.moderation.rules('alice'), rules);
      assert.deepEqual(s.moderation.rules('bob'), DEFAULT_CHAT_RULES, 'per channel');
      assert.deepEqual(s.moderation.setRules('alice', { ...rules, slowModeS: 0 }).slowModeS, 0, 'updated');
      assert.throws(
        () => s.moderation.setRules('nobody', rules),
        (e: unknown) => e instanceof HubError && e.code === 'NOT_FOUND',
      );

      assert.equal(s.moderation.isRegular('alice', 'Carol'), false);
      s.moderation.markRegular('alice', 'Carol');
      s.moderation.markRegular('alice', 'carol'); // twice is once
      assert.equal(s.moderation.isRegular('alice', 'CAROL'), true);
      assert.equal(s.moderation.isRegular('bob', 'carol'), false);

      s.moderation.log({
        channel: 'alice',
        actor: 'dave',
        action: 'mute',
        target: 'carol',
        details: { minutes: 5 },
      });
      clock.t += 1000;
      s.moderation.log({
        channel: 'alice',
        actor: 'dashboard:alice',
        action: 'rules',
        target: null,
        details: null,
      });
      s.moderation.log({ channel: 'bob', actor: 'bob', action: 'clear', target: null, details: null });
      const log = s.moderation.logList('alice', 10);
      assert.deepEqual(
        log.map((e) => [e.actor, e.action, e.target, e.details, e.at]),
        [
          ['dashboard:alice', 'rules', null, null, clock.t],
          ['dave', 'mute', 'carol', { minutes: 5 }, clock.t - 1000],
        ],
        'newest first, this channel only',
      );
      assert.equal(s.moderation.logList('alice', 1).length, 1);

      s.streamers.remove('alice');
      assert.deepEqual(s.moderation.logList('alice', 10), []);
      assert.equal(s.moderation.isRegular('alice', 'carol'), false);
    } finally {
      s.close();
    }
  });

  test("go-live notifications: one per follower, the user's own, newest first, read up to an id, pruned", () => {
    const clock = { t: 1_796_000_000_000 };
    const s = backend.open(backend.fresh(), { now: () => clock.t });
    try {
      s.streamers.add({ name: 'alice', key: 'alice-key-0123456789' });
      s.streamers.add({ name: 'bob', key: 'bob-key-0123456789ab' });
      const carol = s.users.create('carol', 'carol-password-1');
      const dave = s.users.create('dave', 'dave-password-1');
      s.follows.follow(carol.id, 'alice');
      s.follows.follow(carol.id, 'bob');
      s.follows.follow(dave.id, 'bob');
      assert.equal(s.notifications.fanOutGoLive('alice', 'Morning coding'), 1);
      clock.t += 1000;
      assert.equal(s.notifications.fanOutGoLive('bob', 'Speedruns'), 2);
      assert.equal(s.notifications.fanOutGoLive('nobody', 'x'), 0);
      const mine = s.notifications.list(carol.id, 10);
      assert.deepEqual(
        mine.map((n) => [n.channel, n.title, n.read, n.at]),
        [
          ['bob', 'Speedruns', false, clock.t],
          ['alice', 'Morning coding', false, clock.t - 1000],
        ],
      );
      assert.equal(s.notifications.unreadCount(carol.id), 2);
      s.notifications.markRead(carol.id, mine[1]!.id);
      assert.equal(s.notifications.unreadCount(carol.id), 1, 'up to the id only');
      s.notifications.markRead(carol.id);
      assert.equal(s.notifications.unreadCount(carol.id), 0);
      assert.equal(s.notifications.unreadCount(dave.id), 1, "another user's stay unread");
      assert.equal(s.notifications.prune(clock.t), 1, 'the older one');
      assert.deepEqual(
        s.notifications.list(carol.id, 10).map((n) => n.channel),
        ['bob'],
      );
      s.users.remove('dave');
      assert.equal(s.notifications.unreadCount(dave.id), 0, "a deleted user's go");
    } finally {
      s.close();
    }
  });

  test('push subscriptions: per account (at most 10), moved by another sign-in, followers only, dropped', () => {
    const s = backend.open(backend.fresh());
    try {
      s.streamers.add({ name: 'alice', key: 'alice-key-0123456789' });
      const carol = s.users.create('carol', 'carol-password-1');
      const dave = s.users.create('dave', 'dave-password-1');
      s.follows.follow(carol.id, 'alice');
      const sub = (n: number) => ({
        endpoint: `https://push.example.org/s/${n}`,
        p256dh: `k${n}`,
        auth: `a${n}`,
      });
      s.push.add(carol.id, sub(1));
      s.push.add(carol.id, sub(1)); // again (each page load): still one
      s.push.add(dave.id, sub(2));
      assert.deepEqual(s.push.endpoints(carol.id), [sub(1).endpoint]);
      assert.deepEqual(
        s.push.followersOf('alice').map((t) => [t.endpoint, t.p256dh, t.auth]),
        [[sub(1).endpoint, 'k1', 'a1']],
        'only followers',
      );
      // Dave signs in on carol's browser: the subscription is his now.
      s.push.add(dave.id, { ...sub(1), p256dh: 'k1b' });
      assert.deepEqual(s.push.endpoints(carol.id), []);
      assert.deepEqual(s.push.endpoints(dave.id).sort(), [sub(1).endpoint, sub(2).endpoint]);
      for (let i = 10; i < 20; i++) s.push.add(carol.id, sub(i));
      assert.throws(
        () => s.push.add(carol.id, sub(20)),
        (e: unknown) => e instanceof HubError && e.code === 'PUSH_LIMIT',
      );
      s.push.add(carol.id, { ...sub(10), auth: 'again' }); // one already stored is not a new one
      const [first] = s.push.followersOf('alice');
      assert.equal(s.push.recordFailure(first!.id), 1);
      assert.equal(s.push.recordFailure(first!.id), 2);
      s.push.recordSuccess(first!.id);
      assert.equal(s.push.recordFailure(first!.id), 1, 'a success resets the count');
      s.push.delete(first!.id);
      assert.equal(s.push.endpoints(carol.id).length, 9);
      assert.equal(s.push.remove(carol.id, sub(11).endpoint), true);
      assert.equal(s.push.remove(carol.id, sub(2).endpoint), false, "not carol's");
      s.users.remove('carol');
      assert.deepEqual(s.push.followersOf('alice'), [], "a deleted account's go");
      assert.equal(
        s.settings.getOrCreate('vapid', () => 'first'),
        'first',
      );
      assert.equal(
        s.settings.getOrCreate('vapid', () => 'second'),
        'first',
        'made once',
      );
    } finally {
      s.close();
    }
  });

  test('restream outputs: per channel in order added, removed only by their channel, gone with it', () => {
    const clock = { t: 1_796_000_000_000 };
    const s = backend.open(backend.fresh(), { now: () => clock.t });
    try {
      s.streamers.add({ name: 'alice', key: 'alice-key-0123456789' });
      s.streamers.add({ name: 'bob', key: 'bob-key-0123456789ab' });
      const out = (id: string, name: string) => ({
        id,
        name,
        url: 'rtmp://live.example.com/app',
        keySealed: `v1.sealed-${id}`,
        rendition: 'source',
      });
      assert.deepEqual(s.restream.add('alice', out('out_AAAAAAAAAAAA', 'YouTube')), {
        ...out('out_AAAAAAAAAAAA', 'YouTube'),
        createdAt: clock.t,
      });
      clock.t += 1000;
      s.restream.add('alice', out('out_BBBBBBBBBBBB', 'Twitch'));
      s.restream.add('bob', out('out_CCCCCCCCCCCC', 'Kick'));
      assert.deepEqual(
        s.restream.list('alice').map((o) => [o.id, o.name, o.keySealed]),
        [
          ['out_AAAAAAAAAAAA', 'YouTube', 'v1.sealed-out_AAAAAAAAAAAA'],
          ['out_BBBBBBBBBBBB', 'Twitch', 'v1.sealed-out_BBBBBBBBBBBB'],
        ],
      );
      assert.throws(
        () => s.restream.add('nobody', out('out_DDDDDDDDDDDD', 'x')),
        (e: unknown) => e instanceof HubError && e.code === 'UNKNOWN_NAME',
      );
      assert.equal(s.restream.remove('bob', 'out_AAAAAAAAAAAA'), false, "not bob's");
      assert.equal(s.restream.remove('alice', 'out_AAAAAAAAAAAA'), true);
      assert.deepEqual(
        s.restream.list('alice').map((o) => o.id),
        ['out_BBBBBBBBBBBB'],
      );
      s.streamers.remove('alice');
      assert.deepEqual(s.restream.list('alice'), []);
      assert.equal(s.restream.list('bob').length, 1);
    } finally {
      s.close();
    }
  });
}
