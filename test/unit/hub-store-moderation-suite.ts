/**
 * A channel's chat rules, regulars and moderation log in the hub store (issue 16), for one backend: run on
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
}
