-- Names are compared by their skeleton (src/common/names.ts): DEMO, dem0 and a Cyrillic demo are one name.
-- name_key holds it; src/hub/store/name-registry.ts recomputes every key at start-up, so a change in the
-- skeleton rules applies to old rows too. Not UNIQUE: rows from before this migration may collide, and the
-- registry (not the index) decides who holds a name.
ALTER TABLE streamers ADD COLUMN name_key TEXT;
ALTER TABLE users ADD COLUMN name_key TEXT;
ALTER TABLE emoji ADD COLUMN name_key TEXT;
CREATE INDEX streamers_name_key ON streamers (name_key);
CREATE INDEX users_name_key ON users (name_key);
CREATE INDEX emoji_name_key ON emoji (name_key);

-- The streamer's own account: set only when someone proven to hold the stream key registers it. The host
-- badge and the dashboard follow this link, never a name match.
ALTER TABLE streamers ADD COLUMN owner_user_id BIGINT REFERENCES users (id) ON DELETE SET NULL;
-- PostgreSQL does not index a referencing column by itself; removing an account looks its streamer up here.
CREATE INDEX streamers_owner_user ON streamers (owner_user_id);
