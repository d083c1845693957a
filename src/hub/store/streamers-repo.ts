/**
 * Streamers: name, public profile, and the two secrets (stream key, optional viewing password) as scrypt
 * hashes. verifyKey finds candidates through `key_hint` (8 hex chars of SHA-256(key): 32 bits, enough to
 * leave one candidate in practice, far too few to learn anything about a random key) and does exactly one
 * scrypt whether or not there is a candidate, so neither timing nor cost depends on the number of streamers.
 */
import { createHash } from 'node:crypto';
import { hashSecret, verifyNothing, verifySecret } from '../auth/passwords.js';
import { HubError } from './errors.js';
import { isUniqueViolation, type RepoContext } from './repo-context.js';
import {
  RECORDING_CHOICES,
  type StreamerRecord,
  type StreamerRepo,
  type StreamerTranscode,
} from './types.js';
import {
  checkCategory,
  checkDescription,
  checkPassword,
  checkStreamKey,
  checkStreamerName,
  checkTitle,
} from './validate.js';

interface Row {
  id: number;
  name: string;
  title: string;
  description: string;
  category: string;
  has_password: number;
  transcode: string | null;
  recording: string | null;
  created_at: number;
  last_live_at: number | null;
}

const COLUMNS =
  'id, name, title, description, category, password_hash IS NOT NULL AS has_password, transcode, recording, created_at, last_live_at';

const TRANSCODE_MODES: readonly StreamerTranscode[] = ['ladder', 'passthrough', 'off'];

export function keyHint(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}

function toRecord(r: Row): StreamerRecord {
  return {
    name: r.name,
    title: r.title,
    description: r.description,
    category: r.category,
    hasPassword: r.has_password === 1,
    transcode: TRANSCODE_MODES.find((m) => m === r.transcode) ?? null,
    recording: RECORDING_CHOICES.find((m) => m === r.recording) ?? null,
    createdAt: r.created_at,
    lastLiveAt: r.last_live_at,
  };
}

export function createStreamerRepo(ctx: RepoContext): StreamerRepo {
  const { db } = ctx;
  const byName = db.prepare<[string], Row>(`SELECT ${COLUMNS} FROM streamers WHERE name = ?`);
  const all = db.prepare<[], Row>(`SELECT ${COLUMNS} FROM streamers ORDER BY name COLLATE NOCASE`);
  const candidates = db.prepare<[string], Row & { key_hash: string }>(
    `SELECT ${COLUMNS}, key_hash FROM streamers WHERE key_hint = ?`,
  );
  const insert = db.prepare(
    `INSERT INTO streamers (name, key_hash, key_hint, password_hash, title, description, category, created_at)
     VALUES (@name, @keyHash, @keyHint, @passwordHash, @title, @description, @category, @createdAt)`,
  );
  const del = db.prepare<[string]>('DELETE FROM streamers WHERE name = ?');
  const setKey = db.prepare<[string, string, string]>(
    'UPDATE streamers SET key_hash = ?, key_hint = ? WHERE name = ?',
  );
  const passwordOf = db.prepare<[string], { password_hash: string | null }>(
    'SELECT password_hash FROM streamers WHERE name = ?',
  );
  const setLive = db.prepare<[number, string]>('UPDATE streamers SET last_live_at = ? WHERE name = ?');
  const owner = db.prepare<[string], { name: string }>(
    'SELECT u.name AS name FROM streamers s JOIN users u ON u.id = s.owner_user_id WHERE s.name = ?',
  );
  const owned = db.prepare<[number], { name: string }>('SELECT name FROM streamers WHERE owner_user_id = ?');

  function require(name: string): Row {
    const row = typeof name === 'string' ? byName.get(name) : undefined;
    if (!row) throw new HubError('UNKNOWN_NAME', 'no such streamer', { streamer: name });
    return row;
  }

  /** The streamer whose key this is, checking every candidate (hint collisions are possible, if rare). */
  function findByKey(key: string): Row | undefined {
    const rows = candidates.all(keyHint(key));
    if (rows.length === 0) {
      verifyNothing(key);
      return undefined;
    }
    let found: Row | undefined;
    for (const row of rows) if (verifySecret(key, row.key_hash) && !found) found = row;
    return found;
  }

  /** Two streamers with one key would make verifyKey ambiguous. */
  function refuseKeyInUse(key: string, name: string): void {
    const owner = candidates.all(keyHint(key)).find((row) => verifySecret(key, row.key_hash));
    if (owner && owner.name !== name)
      throw new HubError('INVALID_VALUE', 'this stream key is already in use by another streamer', {
        streamer: name,
      });
  }

  return {
    add(input) {
      const name = checkStreamerName(input.name);
      const key = checkStreamKey(input.key, { streamer: name });
      const title = checkTitle(input.title ?? '', name);
      const description = checkDescription(input.description ?? '', name);
      const category = checkCategory(input.category ?? '', name);
      const password =
        input.password === undefined ? undefined : checkPassword(input.password, { streamer: name });
      refuseKeyInUse(key, name);
      ctx.names.refuseTaken('streamer', name);
      try {
        insert.run({
          name,
          keyHash: hashSecret(key),
          keyHint: keyHint(key),
          passwordHash: password === undefined ? null : hashSecret(password),
          title,
          description,
          category,
          createdAt: ctx.now(),
        });
        ctx.names.setKey('streamers', name);
      } catch (err) {
        if (isUniqueViolation(err))
          throw new HubError('DUPLICATE_NAME', 'a streamer with this name already exists', {
            streamer: name,
          });
        throw err;
      }
      ctx.logger.info({ streamer: name }, 'streamer added');
      return toRecord(require(name));
    },

    remove(name) {
      // Follows, moderators, sanctions and chat history go with it (ON DELETE CASCADE).
      if (del.run(name).changes === 0)
        throw new HubError('UNKNOWN_NAME', 'no such streamer', { streamer: name });
      ctx.logger.info({ streamer: name }, 'streamer removed');
    },

    list() {
      return all.all().map(toRecord);
    },

    get(name) {
      const row = typeof name === 'string' ? byName.get(name) : undefined;
      return row ? toRecord(row) : undefined;
    },

    update(name, patch) {
      require(name);
      const sets: string[] = [];
      const values: Record<string, string | null> = { name };
      if (patch.title !== undefined) values.title = checkTitle(patch.title, name);
      if (patch.description !== undefined) values.description = checkDescription(patch.description, name);
      if (patch.category !== undefined) values.category = checkCategory(patch.category, name);
      if (patch.password !== undefined) {
        values.password_hash =
          patch.password === null ? null : hashSecret(checkPassword(patch.password, { streamer: name }));
      }
      if (patch.transcode !== undefined) {
        if (patch.transcode !== null && !TRANSCODE_MODES.includes(patch.transcode))
          throw new HubError('INVALID_VALUE', `transcode is one of ${TRANSCODE_MODES.join(', ')}`, {
            streamer: name,
          });
        values.transcode = patch.transcode;
      }
      if (patch.recording !== undefined) {
        if (patch.recording !== null && !RECORDING_CHOICES.includes(patch.recording))
          throw new HubError('INVALID_VALUE', `recording is one of ${RECORDING_CHOICES.join(', ')}`, {
            streamer: name,
          });
        values.recording = patch.recording;
      }
      // Column names come from this fixed list, never from input; values are bound.
      for (const col of ['title', 'description', 'category', 'password_hash', 'transcode', 'recording'])
        if (col in values) sets.push(`${col} = @${col}`);
      if (sets.length > 0)
        db.prepare(`UPDATE streamers SET ${sets.join(', ')} WHERE name = @name`).run(values);
      return toRecord(require(name));
    },

    rotateKey(name, newKey) {
      require(name);
      const key = checkStreamKey(newKey, { streamer: name });
      refuseKeyInUse(key, name);
      setKey.run(hashSecret(key), keyHint(key), name);
      ctx.logger.info({ streamer: name }, 'stream key rotated');
    },

    verifyKey(key) {
      if (typeof key !== 'string' || key.length === 0 || key.length > 1024) {
        verifyNothing(typeof key === 'string' ? key.slice(0, 1024) : '');
        return undefined;
      }
      const row = findByKey(key);
      return row ? toRecord(row) : undefined;
    },

    verifyPassword(name, password) {
      const stored = typeof name === 'string' ? passwordOf.get(name)?.password_hash : undefined;
      if (typeof password !== 'string' || password.length > 1024 || !stored)
        return verifyNothing(typeof password === 'string' ? password.slice(0, 1024) : '');
      return verifySecret(password, stored);
    },

    ownerOf(name) {
      return typeof name === 'string' ? owner.get(name)?.name : undefined;
    },
    ownedBy(userId) {
      return owned.get(userId)?.name;
    },
    markLive(name, at) {
      if (!Number.isFinite(at))
        throw new HubError('INVALID_VALUE', 'markLive: time must be a number', { streamer: name });
      if (setLive.run(Math.round(at), name).changes === 0)
        throw new HubError('UNKNOWN_NAME', 'no such streamer', { streamer: name });
    },
  };
}
