/**
 * Go-live notifications (issue 16, ADR 0021): when a channel goes live, one row for each of its followers,
 * written in one statement; the bell on every page reads them, newest first, and marks them read.
 */
import type { Lookups, RepoContext } from './repo-context.js';
import type { NotificationRecord, NotificationRepo } from './types.js';

interface Row {
  id: number;
  channel: string;
  title: string;
  at: number;
  read_at: number | null;
}

export function createNotificationRepo(ctx: RepoContext, lookups: Lookups): NotificationRepo {
  const { db, now } = ctx;
  const fanOut = db.prepare<[string, number, string]>(
    `INSERT INTO notifications (user_id, streamer_id, kind, title, at)
     SELECT f.user_id, f.streamer_id, 'golive', ?, ? FROM follows f JOIN streamers s ON s.id = f.streamer_id
     WHERE s.name = ?`,
  );
  const list = db.prepare<[number, number], Row>(
    `SELECT n.id, s.name AS channel, n.title, n.at, n.read_at FROM notifications n
     JOIN streamers s ON s.id = n.streamer_id WHERE n.user_id = ? ORDER BY n.id DESC LIMIT ?`,
  );
  const unread = db.prepare<[number], { n: number }>(
    'SELECT count(*) AS n FROM notifications WHERE user_id = ? AND read_at IS NULL',
  );
  const readUpTo = db.prepare<[number, number, number]>(
    'UPDATE notifications SET read_at = ? WHERE user_id = ? AND id <= ? AND read_at IS NULL',
  );
  const prune = db.prepare<[number]>('DELETE FROM notifications WHERE at < ?');

  return {
    fanOutGoLive(channel, title) {
      if (lookups.streamerId(channel) === undefined) return 0;
      return fanOut.run(title.slice(0, 140), now(), channel).changes;
    },
    list(userId, limit) {
      return list.all(userId, Math.max(0, Math.min(100, Math.trunc(limit)))).map((r): NotificationRecord => ({
        id: r.id,
        channel: r.channel,
        kind: 'golive',
        title: r.title,
        at: r.at,
        read: r.read_at !== null,
      }));
    },
    unreadCount(userId) {
      return unread.get(userId)?.n ?? 0;
    },
    markRead(userId, upToId) {
      readUpTo.run(now(), userId, upToId ?? Number.MAX_SAFE_INTEGER);
    },
    prune(before) {
      return prune.run(before).changes;
    },
  };
}
