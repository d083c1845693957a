/**
 * Who holds a name, compared by skeleton (src/common/names.ts) across streamers and accounts, and among
 * emoji. A streamer's name is reserved for the streamer across every kind of name: no account or chat name
 * may look like it, except the streamer's own account.
 */
import { nameSkeleton } from '../../common/names.js';
import type { Db, Statement } from './db.js';
import { HubError } from './errors.js';

export interface NameHolder {
  kind: 'streamer' | 'user';
  name: string;
}

export interface NameRegistry {
  /** Streamers and accounts whose names collide with `name`. */
  holders(name: string): NameHolder[];
  /** Throws DUPLICATE_NAME unless `name` is free for a new `kind`; `claim` names the streamer whose own account this is. */
  refuseTaken(kind: NameHolder['kind'], name: string, claim?: string): void;
  refuseEmojiTaken(name: string): void;
  /** Records the key of a row just inserted or renamed. */
  setKey(table: 'streamers' | 'users' | 'emoji', name: string): void;
}

const TABLES = ['streamers', 'users', 'emoji'] as const;

export function createNameRegistry(db: Db): NameRegistry {
  // Recompute every key: one pass at start-up keeps old rows under the current rules. Only keys that differ
  // are written: on PostgreSQL each statement is a round trip.
  const recompute = db.transaction(() => {
    for (const table of TABLES) {
      const update = db.prepare<[string, string]>(`UPDATE ${table} SET name_key = ? WHERE name = ?`);
      const rows = db.prepare<[], { name: string; name_key: string | null }>(
        `SELECT name, name_key FROM ${table}`,
      );
      for (const { name, name_key } of rows.all()) {
        const key = nameSkeleton(name);
        if (key !== name_key) update.run(key, name);
      }
    }
  });
  recompute();

  const streamers = db.prepare<[string], { name: string }>('SELECT name FROM streamers WHERE name_key = ?');
  const users = db.prepare<[string], { name: string }>('SELECT name FROM users WHERE name_key = ?');
  const emoji = db.prepare<[string], { name: string }>('SELECT name FROM emoji WHERE name_key = ?');
  const setters = Object.fromEntries(
    TABLES.map((t) => [t, db.prepare<[string, string]>(`UPDATE ${t} SET name_key = ? WHERE name = ?`)]),
  ) as Record<(typeof TABLES)[number], Statement<[string, string]>>;

  const holders = (name: string): NameHolder[] => {
    const key = nameSkeleton(name);
    return [
      ...streamers.all(key).map((r) => ({ kind: 'streamer' as const, name: r.name })),
      ...users.all(key).map((r) => ({ kind: 'user' as const, name: r.name })),
    ];
  };

  return {
    holders,
    refuseTaken(kind, name, claim) {
      for (const h of holders(name)) {
        const own =
          claim !== undefined &&
          h.kind === 'streamer' &&
          h.name === claim &&
          kind === 'user' &&
          name.toLowerCase() === claim.toLowerCase();
        if (own) continue;
        const what = h.kind === 'streamer' ? 'a streamer' : 'an account';
        const same = h.name.toLowerCase() === name.toLowerCase();
        throw new HubError(
          'DUPLICATE_NAME',
          h.kind === 'streamer' && kind === 'user'
            ? `that name ${same ? 'belongs to' : 'is too like the name of'} a streamer; the streamer claims it by logging in with the stream key first`
            : `that name ${same ? 'is taken by' : 'is too like the name of'} ${what}`,
          { [kind]: name },
        );
      }
    },
    refuseEmojiTaken(name) {
      const taken = emoji.all(nameSkeleton(name))[0];
      if (taken)
        throw new HubError(
          'DUPLICATE_NAME',
          `an emoji ${taken.name === name ? 'with this name' : 'with a name too like this one'} already exists`,
          { emoji: name },
        );
    },
    setKey(table, name) {
      setters[table].run(nameSkeleton(name), name);
    },
  };
}
