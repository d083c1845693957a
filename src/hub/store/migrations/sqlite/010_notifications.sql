-- Go-live notifications (issue 16, ADR 0021): one row per follower when a channel they follow goes live, for
-- the bell on every page (unread until the follower opens it). `title` is the stream's title at that moment.
-- Kept 30 days.
CREATE TABLE notifications (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  streamer_id  INTEGER NOT NULL REFERENCES streamers (id) ON DELETE CASCADE,
  kind         TEXT    NOT NULL CHECK (kind IN ('golive')),
  title        TEXT    NOT NULL,
  at           INTEGER NOT NULL,
  read_at      INTEGER
) STRICT;
CREATE INDEX notifications_user ON notifications (user_id, id);
CREATE INDEX notifications_streamer ON notifications (streamer_id);
CREATE INDEX notifications_at ON notifications (at);
