-- Chat messages an edge may send twice (ADR 0018): the edge numbers each viewer action (`origin`:
-- edge id, boot, counter) and resends what no hub acknowledged when its link comes back, perhaps to another
-- hub. The message's origin is stored with it in one transaction, so a resent action is recognised: it is
-- not posted again, and the message it posted is sent to the edges again (viewers ignore a seq they have).
-- Kept for an hour: far longer than any resend.
CREATE TABLE chat_origins (
  origin      TEXT   PRIMARY KEY,
  streamer_id INTEGER NOT NULL REFERENCES streamers (id) ON DELETE CASCADE,
  seq         INTEGER NOT NULL,
  at          INTEGER NOT NULL
);
CREATE INDEX chat_origins_at ON chat_origins (at);
