/**
 * Recent chat per channel, for viewers who join late and for continuity across hub restarts. Each channel
 * keeps its newest `historySize` messages; the highest seq ever stored is kept separately (chat_channels)
 * so numbering continues after a restart even if history was trimmed, deleted or cleared.
 */
import { HubError } from './errors.js';
import { Lookups, type RepoContext } from './repo-context.js';
import type { ChatBadge, ChatHistoryRepo, ChatKind, StoredChatMessage } from './types.js';

/** How long an action's origin is remembered (an edge resends within seconds of its link coming back). */
const ORIGIN_KEPT_MS = 3600_000;
const KINDS: ReadonlySet<string> = new Set<ChatKind>(['text', 'me', 'system', 'drawing']);
const BADGES: ReadonlySet<string> = new Set<ChatBadge>(['host', 'moderator', 'user', 'guest', 'system']);

interface Row {
  seq: number;
  kind: ChatKind;
  author: string;
  color: string;
  badge: ChatBadge;
  text: string;
  image: string | null;
  at: number;
  text_key: string | null;
  text_params: string | null;
}

/** A line's params as stored; anything unreadable is dropped (the page then shows the English text). */
function readParams(json: string): Record<string, string | number> | undefined {
  try {
    const v: unknown = JSON.parse(json);
    if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined;
    const out: Record<string, string | number> = {};
    for (const [k, x] of Object.entries(v)) if (typeof x === 'string' || typeof x === 'number') out[k] = x;
    return out;
  } catch {
    return undefined;
  }
}

const LINE_KEY = /^[A-Za-z0-9_.]{1,128}$/;

function fromRow(channel: string, r: Row): StoredChatMessage {
  const m: StoredChatMessage = {
    channel,
    seq: r.seq,
    kind: r.kind,
    author: r.author,
    color: r.color,
    badge: r.badge,
    text: r.text,
    at: r.at,
  };
  if (r.image !== null) m.image = r.image;
  if (r.text_key !== null) {
    m.key = r.text_key;
    const params = r.text_params === null ? undefined : readParams(r.text_params);
    if (params) m.params = params;
  }
  return m;
}

export function createChatHistoryRepo(
  ctx: RepoContext,
  lookups: Lookups,
  historySize: number,
): ChatHistoryRepo {
  const { db } = ctx;
  const lastSeqStmt = db.prepare<[string], { last_seq: number }>(
    'SELECT c.last_seq FROM chat_channels c JOIN streamers s ON s.id = c.streamer_id WHERE s.name = ?',
  );
  const lastSeqById = db.prepare<[number], { last_seq: number }>(
    'SELECT last_seq FROM chat_channels WHERE streamer_id = ?',
  );
  const insert = db.prepare(
    `INSERT INTO chat_messages (streamer_id, seq, kind, author, color, badge, text, image, at, text_key, text_params)
     VALUES (@streamerId, @seq, @kind, @author, @color, @badge, @text, @image, @at, @textKey, @textParams)`,
  );
  const bump = db.prepare<[{ id: number; seq: number }]>(
    'INSERT INTO chat_channels (streamer_id, last_seq) VALUES (@id, @seq) ON CONFLICT (streamer_id) DO UPDATE SET last_seq = @seq',
  );
  // Everything older than the historySize-th newest message (NULL, so nothing, while there are fewer).
  const trim = db.prepare<[{ id: number; keep: number }]>(
    `DELETE FROM chat_messages WHERE streamer_id = @id AND seq <
       (SELECT seq FROM chat_messages WHERE streamer_id = @id ORDER BY seq DESC LIMIT 1 OFFSET @keep - 1)`,
  );
  const clearById = db.prepare<[number]>('DELETE FROM chat_messages WHERE streamer_id = ?');
  const recent = db.prepare<[string, number], Row>(
    `SELECT * FROM (
       SELECT m.seq, m.kind, m.author, m.color, m.badge, m.text, m.image, m.at, m.text_key, m.text_params
       FROM chat_messages m JOIN streamers s ON s.id = m.streamer_id
       WHERE s.name = ? ORDER BY m.seq DESC LIMIT ?
     ) AS newest ORDER BY seq`,
  );
  const seenOrigin = db.prepare<[string], { n: number }>('SELECT 1 AS n FROM chat_origins WHERE origin = ?');
  const addOrigin = db.prepare<[string, number, number, number]>(
    'INSERT INTO chat_origins (origin, streamer_id, seq, at) VALUES (?, ?, ?, ?)',
  );
  const originSeq = db.prepare<[string], { seq: number; name: string }>(
    'SELECT o.seq, s.name FROM chat_origins o JOIN streamers s ON s.id = o.streamer_id WHERE o.origin = ?',
  );
  const oneBySeq = db.prepare<[number, string], Row>(
    `SELECT m.seq, m.kind, m.author, m.color, m.badge, m.text, m.image, m.at, m.text_key, m.text_params
     FROM chat_messages m JOIN streamers s ON s.id = m.streamer_id WHERE m.seq = ? AND s.name = ?`,
  );
  const pruneOrigins = db.prepare<[number]>('DELETE FROM chat_origins WHERE at < ?');
  let originsAdded = 0;
  const delOne = db.prepare<[number, number]>('DELETE FROM chat_messages WHERE streamer_id = ? AND seq = ?');

  const append = db.transaction((msg: StoredChatMessage, origin: string | undefined) => {
    const streamerId = lookups.requireStreamerId(msg.channel);
    const ctxt = { streamer: msg.channel, seq: msg.seq };
    const last = lastSeqById.get(streamerId)?.last_seq ?? 0;
    if (msg.seq <= last)
      throw new HubError('INVALID_VALUE', `chat seq must increase (last stored ${last})`, ctxt);
    bump.run({ id: streamerId, seq: msg.seq });
    if (origin !== undefined) {
      addOrigin.run(origin, streamerId, msg.seq, Math.round(msg.at));
      if (++originsAdded % 100 === 0) pruneOrigins.run(Math.round(msg.at) - ORIGIN_KEPT_MS);
    }
    if (historySize === 0) return;
    insert.run({
      streamerId,
      seq: msg.seq,
      kind: msg.kind,
      author: msg.author,
      color: msg.color,
      badge: msg.badge,
      text: msg.text,
      image: msg.image ?? null,
      at: Math.round(msg.at),
      textKey: msg.key ?? null,
      textParams: msg.key !== undefined && msg.params !== undefined ? JSON.stringify(msg.params) : null,
    });
    trim.run({ id: streamerId, keep: historySize });
  });

  const removeMany = db.transaction((streamerId: number, seqs: number[]) => {
    for (const seq of seqs) delOne.run(streamerId, seq);
  });

  return {
    append(msg, origin) {
      const ctxt = { streamer: msg.channel, seq: msg.seq };
      if (!Number.isSafeInteger(msg.seq) || msg.seq < 1)
        throw new HubError('INVALID_VALUE', 'chat seq must be a positive integer', ctxt);
      if (!KINDS.has(msg.kind)) throw new HubError('INVALID_VALUE', 'unknown chat message kind', ctxt);
      if (!BADGES.has(msg.badge)) throw new HubError('INVALID_VALUE', 'unknown chat badge', ctxt);
      if (typeof msg.author !== 'string' || typeof msg.color !== 'string' || typeof msg.text !== 'string') {
        throw new HubError('INVALID_VALUE', 'chat author, color and text must be strings', ctxt);
      }
      if (msg.image !== undefined && typeof msg.image !== 'string')
        throw new HubError('INVALID_VALUE', 'chat image must be a data URL', ctxt);
      if (msg.key !== undefined && (typeof msg.key !== 'string' || !LINE_KEY.test(msg.key)))
        throw new HubError('INVALID_VALUE', 'chat line key must be a catalogue key', ctxt);
      if (
        msg.params !== undefined &&
        (typeof msg.params !== 'object' ||
          msg.params === null ||
          Array.isArray(msg.params) ||
          !Object.values(msg.params).every(
            (v) => typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v)),
          ))
      )
        throw new HubError('INVALID_VALUE', 'chat line params must be strings and numbers', ctxt);
      if (!Number.isFinite(msg.at))
        throw new HubError('INVALID_VALUE', 'chat message time must be a number', ctxt);
      if (origin !== undefined && (typeof origin !== 'string' || origin.length === 0 || origin.length > 128))
        throw new HubError('INVALID_VALUE', 'chat origin must be a string of 1 to 128 characters', ctxt);
      append(msg, origin);
    },

    hasOrigin(origin) {
      return seenOrigin.get(origin) !== undefined;
    },

    byOrigin(origin) {
      const o = originSeq.get(origin);
      const r = o && oneBySeq.get(o.seq, o.name);
      return r ? fromRow(o.name, r) : undefined;
    },

    recent(channel, limit) {
      if (!Number.isFinite(limit) || limit <= 0) return [];
      return recent.all(channel, Math.floor(limit)).map((r) => fromRow(channel, r));
    },

    lastSeq(channel) {
      return lastSeqStmt.get(channel)?.last_seq ?? 0;
    },

    remove(channel, seqs) {
      const id = lookups.streamerId(channel);
      if (id === undefined) return;
      removeMany(
        id,
        seqs.filter((s) => Number.isSafeInteger(s)),
      );
    },

    clear(channel) {
      const id = lookups.streamerId(channel);
      if (id !== undefined) clearById.run(id);
    },
  };
}
