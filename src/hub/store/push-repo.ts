/**
 * Web Push (issue 16, ADR 0021): the browsers each account allowed to be told of go-live, and the settings
 * every hub on this store shares (the VAPID key pair). An endpoint belongs to one account: subscribing it again
 * (another account signed in on that browser) moves it. At most 10 browsers per account.
 */
import { HubError } from './errors.js';
import type { RepoContext } from './repo-context.js';
import type { PushRepo, PushTarget, SettingsRepo } from './types.js';

const MAX_PER_ACCOUNT = 10;

export function createSettingsRepo(ctx: RepoContext): SettingsRepo {
  const { db } = ctx;
  const get = db.prepare<[string], { value: string }>('SELECT value FROM hub_settings WHERE name = ?');
  const insert = db.prepare<[string, string]>(
    'INSERT INTO hub_settings (name, value) VALUES (?, ?) ON CONFLICT DO NOTHING',
  );
  return {
    getOrCreate(name, make) {
      const have = get.get(name);
      if (have) return have.value;
      // Two hubs starting at once: the first insert wins and both read it back.
      insert.run(name, make());
      return get.get(name)!.value;
    },
  };
}

export function createPushRepo(ctx: RepoContext): PushRepo {
  const { db, now } = ctx;
  const count = db.prepare<[number, string], { n: number }>(
    'SELECT count(*) AS n FROM push_subscriptions WHERE user_id = ? AND endpoint <> ?',
  );
  const upsert = db.prepare<[number, string, string, string, number]>(
    `INSERT INTO push_subscriptions (user_id, endpoint, p256dh, auth, created_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (endpoint) DO UPDATE SET user_id = excluded.user_id, p256dh = excluded.p256dh,
       auth = excluded.auth, created_at = excluded.created_at, failures = 0`,
  );
  const remove = db.prepare<[number, string]>(
    'DELETE FROM push_subscriptions WHERE user_id = ? AND endpoint = ?',
  );
  const removeById = db.prepare<[number]>('DELETE FROM push_subscriptions WHERE id = ?');
  const listUser = db.prepare<[number], { endpoint: string }>(
    'SELECT endpoint FROM push_subscriptions WHERE user_id = ? ORDER BY id',
  );
  const followers = db.prepare<[string], PushTarget & { user_id: number }>(
    `SELECT p.id, p.user_id, p.endpoint, p.p256dh, p.auth FROM push_subscriptions p
     JOIN follows f ON f.user_id = p.user_id JOIN streamers s ON s.id = f.streamer_id WHERE s.name = ?
     ORDER BY p.id`,
  );
  const failed = db.prepare<[number], { failures: number }>(
    'UPDATE push_subscriptions SET failures = failures + 1 WHERE id = ? RETURNING failures',
  );
  const succeeded = db.prepare<[number]>(
    'UPDATE push_subscriptions SET failures = 0 WHERE id = ? AND failures > 0',
  );
  return {
    add(userId, sub) {
      if (count.get(userId, sub.endpoint)!.n >= MAX_PER_ACCOUNT)
        throw new HubError('PUSH_LIMIT', `at most ${MAX_PER_ACCOUNT} browsers per account get pushes`, {
          userId,
        });
      upsert.run(userId, sub.endpoint, sub.p256dh, sub.auth, now());
    },
    remove(userId, endpoint) {
      return remove.run(userId, endpoint).changes > 0;
    },
    endpoints(userId) {
      return listUser.all(userId).map((r) => r.endpoint);
    },
    followersOf(channel) {
      return followers.all(channel).map(({ id, endpoint, p256dh, auth }) => ({ id, endpoint, p256dh, auth }));
    },
    delete(id) {
      removeById.run(id);
    },
    recordFailure(id) {
      return failed.get(id)?.failures ?? 0;
    },
    recordSuccess(id) {
      succeeded.run(id);
    },
  };
}
