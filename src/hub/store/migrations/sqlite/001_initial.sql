-- tiercast hub schema, version 1. Applied by src/hub/store/migrations.ts inside one transaction.
-- Secrets are scrypt hashes (`scrypt$N$r$p$salt$hash`); nothing here can be turned back into a key or password.
-- AUTOINCREMENT where ids are handed out (sessions carry `u:<id>`): a deleted account's id is never reused,
-- so an old session cannot become someone else's.

CREATE TABLE streamers (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  name          TEXT    NOT NULL,
  key_hash      TEXT    NOT NULL,
  -- First 8 hex chars of SHA-256(key): narrows verifyKey to a candidate or two without revealing the key.
  key_hint      TEXT    NOT NULL,
  password_hash TEXT,
  title         TEXT    NOT NULL DEFAULT '',
  description   TEXT    NOT NULL DEFAULT '',
  category      TEXT    NOT NULL DEFAULT '',
  created_at    INTEGER NOT NULL,
  last_live_at  INTEGER
) STRICT;
-- Unique regardless of case (alice and Alice would be the same chat host); looked up exactly (URL paths).
CREATE UNIQUE INDEX streamers_name ON streamers (name COLLATE NOCASE);
CREATE INDEX streamers_key_hint ON streamers (key_hint);

CREATE TABLE users (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  name          TEXT    NOT NULL COLLATE NOCASE UNIQUE,
  password_hash TEXT    NOT NULL,
  role          TEXT    NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
  created_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE moderators (
  streamer_id INTEGER NOT NULL REFERENCES streamers (id) ON DELETE CASCADE,
  user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  added_at    INTEGER NOT NULL,
  PRIMARY KEY (streamer_id, user_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX moderators_user ON moderators (user_id);

CREATE TABLE sanctions (
  id           INTEGER PRIMARY KEY,
  streamer_id  INTEGER NOT NULL REFERENCES streamers (id) ON DELETE CASCADE,
  kind         TEXT    NOT NULL CHECK (kind IN ('mute', 'ban')),
  target_type  TEXT    NOT NULL CHECK (target_type IN ('user', 'name', 'ip')),
  target_value TEXT    NOT NULL COLLATE NOCASE,
  until        INTEGER,
  issued_by    TEXT    NOT NULL,
  at           INTEGER NOT NULL
) STRICT;
-- One sanction per kind and target in a channel: sanctioning again replaces it (new expiry).
CREATE UNIQUE INDEX sanctions_target ON sanctions (streamer_id, kind, target_type, target_value);

CREATE TABLE emoji (
  name       TEXT    PRIMARY KEY,
  mime       TEXT    NOT NULL CHECK (mime IN ('image/png', 'image/gif', 'image/webp')),
  data       BLOB    NOT NULL CHECK (length(data) BETWEEN 1 AND 65536),
  created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE follows (
  user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  streamer_id INTEGER NOT NULL REFERENCES streamers (id) ON DELETE CASCADE,
  at          INTEGER NOT NULL,
  PRIMARY KEY (user_id, streamer_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX follows_streamer ON follows (streamer_id);

-- The last sequence number handed out per channel, kept apart from the messages so that trimming,
-- deleting or clearing history never lets numbering go backwards after a restart.
CREATE TABLE chat_channels (
  streamer_id INTEGER PRIMARY KEY REFERENCES streamers (id) ON DELETE CASCADE,
  last_seq    INTEGER NOT NULL
) STRICT;

-- A rowid table (not WITHOUT ROWID): drawings make rows up to ~100 kB.
CREATE TABLE chat_messages (
  id          INTEGER PRIMARY KEY,
  streamer_id INTEGER NOT NULL REFERENCES streamers (id) ON DELETE CASCADE,
  seq         INTEGER NOT NULL,
  kind        TEXT    NOT NULL CHECK (kind IN ('text', 'me', 'system', 'drawing')),
  author      TEXT    NOT NULL,
  color       TEXT    NOT NULL,
  badge       TEXT    NOT NULL CHECK (badge IN ('host', 'moderator', 'user', 'guest', 'system')),
  text        TEXT    NOT NULL,
  image       TEXT,
  at          INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX chat_messages_seq ON chat_messages (streamer_id, seq);
