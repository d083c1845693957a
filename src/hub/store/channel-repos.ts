/**
 * What hangs off a channel (a streamer): its moderators, its sanctions, and the accounts following it.
 * Rows reference streamers and users by id with ON DELETE CASCADE, so removing either removes these.
 */
import { HubError } from './errors.js';
import { Lookups, type RepoContext } from './repo-context.js';
import type {
  FollowRepo,
  ModeratorRepo,
  SanctionKind,
  SanctionRecord,
  SanctionRepo,
  SanctionTarget,
} from './types.js';
import { shown } from './validate.js';

export function createModeratorRepo(ctx: RepoContext, lookups: Lookups): ModeratorRepo {
  const { db } = ctx;
  const insert = db.prepare<[number, number, number]>(
    'INSERT INTO moderators (streamer_id, user_id, added_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
  );
  const del = db.prepare<[number, number]>('DELETE FROM moderators WHERE streamer_id = ? AND user_id = ?');
  const list = db.prepare<[string], { name: string }>(
    `SELECT u.name FROM moderators m JOIN users u ON u.id = m.user_id JOIN streamers s ON s.id = m.streamer_id
     WHERE s.name = ? ORDER BY u.name`,
  );
  const is = db.prepare<[string, string], { one: number }>(
    `SELECT 1 AS one FROM moderators m JOIN users u ON u.id = m.user_id JOIN streamers s ON s.id = m.streamer_id
     WHERE s.name = ? AND u.name = ?`,
  );

  return {
    /** Idempotent; the user must have an account (moderators are accounts, not guest names). */
    add(channel, userName) {
      const s = lookups.requireStreamerId(channel);
      const u = lookups.requireUserId(userName);
      insert.run(s, u, ctx.now());
    },
    /** Idempotent for a user who is not a moderator; unknown channel or user is UNKNOWN_NAME. */
    remove(channel, userName) {
      del.run(lookups.requireStreamerId(channel), lookups.requireUserId(userName));
    },
    list(channel) {
      return list.all(channel).map((r) => r.name);
    },
    is(channel, userName) {
      return (
        typeof channel === 'string' && typeof userName === 'string' && is.get(channel, userName) !== undefined
      );
    },
  };
}

interface SanctionRow {
  channel: string;
  kind: SanctionKind;
  target_type: SanctionTarget['type'];
  target_value: string;
  until: number | null;
  issued_by: string;
  at: number;
}

function checkSanction(
  channel: string,
  kind: unknown,
  target: unknown,
): { kind: SanctionKind; target: SanctionTarget } {
  if (kind !== 'mute' && kind !== 'ban')
    throw new HubError('INVALID_VALUE', `invalid sanction kind ${shown(kind)}`, { streamer: channel });
  const t = target as Partial<SanctionTarget> | null;
  if (typeof t !== 'object' || t === null || (t.type !== 'user' && t.type !== 'name' && t.type !== 'ip')) {
    throw new HubError('INVALID_VALUE', 'sanction target must be { type: user|name|ip, value }', {
      streamer: channel,
    });
  }
  if (typeof t.value !== 'string' || t.value.length === 0 || t.value.length > 128) {
    throw new HubError('INVALID_VALUE', 'sanction target value must be 1-128 characters', {
      streamer: channel,
    });
  }
  return { kind, target: { type: t.type, value: t.value } };
}

export function createSanctionRepo(ctx: RepoContext, lookups: Lookups): SanctionRepo {
  const { db } = ctx;
  // Sanctioning again replaces the earlier one: a new /mute with a new duration is what the moderator means.
  const upsert = db.prepare(
    `INSERT INTO sanctions (streamer_id, kind, target_type, target_value, until, issued_by, at)
     VALUES (@streamerId, @kind, @type, @value, @until, @by, @at)
     ON CONFLICT (streamer_id, kind, target_type, target_value)
     DO UPDATE SET until = excluded.until, issued_by = excluded.issued_by, at = excluded.at`,
  );
  const del = db.prepare<[string, SanctionKind, string, string]>(
    `DELETE FROM sanctions WHERE streamer_id = (SELECT id FROM streamers WHERE name = ?)
     AND kind = ? AND target_type = ? AND target_value = ?`,
  );
  const activeStmt = db.prepare<[string, SanctionKind, string, string, number], { one: number }>(
    `SELECT 1 AS one FROM sanctions x JOIN streamers s ON s.id = x.streamer_id
     WHERE s.name = ? AND x.kind = ? AND x.target_type = ? AND x.target_value = ? AND (x.until IS NULL OR x.until > ?)`,
  );
  const listStmt = db.prepare<[string, number], SanctionRow>(
    `SELECT s.name AS channel, x.kind, x.target_type, x.target_value, x.until, x.issued_by, x.at
     FROM sanctions x JOIN streamers s ON s.id = x.streamer_id
     WHERE s.name = ? AND (x.until IS NULL OR x.until > ?) ORDER BY x.at, x.id`,
  );
  const prune = db.prepare<[number]>('DELETE FROM sanctions WHERE until IS NOT NULL AND until <= ?');

  return {
    add(s) {
      const streamerId = lookups.requireStreamerId(s.channel);
      const { kind, target } = checkSanction(s.channel, s.kind, s.target);
      if (s.until !== null && !Number.isFinite(s.until))
        throw new HubError('INVALID_VALUE', 'sanction until must be a time or null', { streamer: s.channel });
      if (typeof s.by !== 'string' || s.by.length > 128)
        throw new HubError('INVALID_VALUE', 'sanction author must be a name', { streamer: s.channel });
      const now = ctx.now();
      // Expired rows are dead weight; clearing them here keeps the table the size of what is in force.
      prune.run(now);
      upsert.run({
        streamerId,
        kind,
        type: target.type,
        value: target.value,
        until: s.until === null ? null : Math.round(s.until),
        by: s.by,
        at: now,
      });
    },
    remove(channel, kind, target) {
      const checked = checkSanction(channel, kind, target);
      return del.run(channel, checked.kind, checked.target.type, checked.target.value).changes > 0;
    },
    active(channel, kind, target, now = ctx.now()) {
      if (typeof target?.value !== 'string') return false;
      return activeStmt.get(channel, kind, target.type, target.value, now) !== undefined;
    },
    list(channel, now = ctx.now()) {
      return listStmt.all(channel, now).map((r): SanctionRecord => ({
        channel: r.channel,
        kind: r.kind,
        target: { type: r.target_type, value: r.target_value },
        until: r.until,
        by: r.issued_by,
        at: r.at,
      }));
    },
  };
}

export function createFollowRepo(ctx: RepoContext, lookups: Lookups): FollowRepo {
  const { db } = ctx;
  const insert = db.prepare<[number, number, number]>(
    'INSERT INTO follows (user_id, streamer_id, at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
  );
  const del = db.prepare<[number, string]>(
    'DELETE FROM follows WHERE user_id = ? AND streamer_id = (SELECT id FROM streamers WHERE name = ?)',
  );
  const list = db.prepare<[number], { name: string }>(
    'SELECT s.name FROM follows f JOIN streamers s ON s.id = f.streamer_id WHERE f.user_id = ? ORDER BY s.name COLLATE NOCASE',
  );
  const count = db.prepare<[string], { n: number }>(
    'SELECT count(*) AS n FROM follows f JOIN streamers s ON s.id = f.streamer_id WHERE s.name = ?',
  );
  const isFollowing = db.prepare<[number, string], { one: number }>(
    'SELECT 1 AS one FROM follows f JOIN streamers s ON s.id = f.streamer_id WHERE f.user_id = ? AND s.name = ?',
  );

  return {
    /** Idempotent: following twice is still one follow. */
    follow(userId, streamer) {
      const u = lookups.requireUserById(userId);
      const s = lookups.requireStreamerId(streamer);
      insert.run(u, s, ctx.now());
    },
    unfollow(userId, streamer) {
      del.run(userId, streamer);
    },
    list(userId) {
      return list.all(userId).map((r) => r.name);
    },
    count(streamer) {
      return count.get(streamer)?.n ?? 0;
    },
    isFollowing(user, streamer) {
      const id = lookups.userId(user);
      return id !== undefined && isFollowing.get(id, streamer) !== undefined;
    },
  };
}
