/**
 * A channel's restream outputs (issue 16, ADR 0021). The key column holds a sealed value (restream/
 * sealed-keys.ts); this repo never sees a key in the clear.
 */
import type { Lookups, RepoContext } from './repo-context.js';
import type { RestreamOutputRecord, RestreamRepo } from './types.js';

interface Row {
  id: string;
  name: string;
  url: string;
  key_sealed: string;
  rendition: string;
  created_at: number;
}

const record = (r: Row): RestreamOutputRecord => ({
  id: r.id,
  name: r.name,
  url: r.url,
  keySealed: r.key_sealed,
  rendition: r.rendition,
  createdAt: r.created_at,
});

export function createRestreamRepo(ctx: RepoContext, lookups: Lookups): RestreamRepo {
  const { db, now } = ctx;
  const list = db.prepare<[string], Row>(
    `SELECT o.id, o.name, o.url, o.key_sealed, o.rendition, o.created_at FROM restream_outputs o
     JOIN streamers s ON s.id = o.streamer_id WHERE s.name = ? ORDER BY o.created_at, o.id`,
  );
  const insert = db.prepare<[string, number, string, string, string, string, number]>(
    `INSERT INTO restream_outputs (id, streamer_id, name, url, key_sealed, rendition, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?)`,
  );
  const remove = db.prepare<[string, string]>(
    `DELETE FROM restream_outputs WHERE id = ? AND streamer_id = (SELECT id FROM streamers WHERE name = ?)`,
  );
  return {
    list(channel) {
      return list.all(channel).map(record);
    },
    add(channel, o) {
      const streamerId = lookups.requireStreamerId(channel);
      const at = now();
      insert.run(o.id, streamerId, o.name, o.url, o.keySealed, o.rendition, at);
      return { ...o, createdAt: at };
    },
    remove(channel, id) {
      return remove.run(id, channel).changes > 0;
    },
  };
}
