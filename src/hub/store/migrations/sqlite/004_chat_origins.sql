-- Chat messages an edge may send twice (ADR 0018): the edge numbers each viewer action (`origin`:
-- edge id, boot, counter) and resends what no hub acknowledged when its link comes back, perhaps to another
-- hub. The message and its origin are stored in one transaction, so a resent action is recognised and
-- not posted again. Kept for an hour: far longer than any resend.
CREATE TABLE chat_origins (
  origin TEXT   PRIMARY KEY,
  at     INTEGER NOT NULL
);
CREATE INDEX chat_origins_at ON chat_origins (at);
