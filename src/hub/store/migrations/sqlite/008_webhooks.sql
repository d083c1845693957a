-- Webhooks (issue 16, ADR 0021). A hook belongs to a channel's streamer (streamer_id) or, with NULL, to the
-- operator (every channel). `events` is a JSON array of event names; `secret` signs each body (it is shown
-- once, when the hook is made). Deliveries are the delivery log and the queue a new leader resumes: one row
-- per event per hook, updated at each attempt, kept 7 days; `seq` keeps the order they were queued in.
CREATE TABLE webhooks (
  id           TEXT    PRIMARY KEY,
  streamer_id  INTEGER REFERENCES streamers (id) ON DELETE CASCADE,
  url          TEXT    NOT NULL,
  secret       TEXT    NOT NULL,
  format       TEXT    NOT NULL CHECK (format IN ('json', 'discord')),
  events       TEXT    NOT NULL,
  created_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX webhooks_streamer ON webhooks (streamer_id);
CREATE TABLE webhook_deliveries (
  seq          INTEGER PRIMARY KEY AUTOINCREMENT,
  id           TEXT    NOT NULL UNIQUE,
  hook_id      TEXT    NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
  event        TEXT    NOT NULL,
  channel      TEXT    NOT NULL,
  payload      TEXT    NOT NULL,
  created_at   INTEGER NOT NULL,
  attempts     INTEGER NOT NULL DEFAULT 0,
  last_status  INTEGER,
  last_error   TEXT,
  retry_at     INTEGER,
  state        TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'given_up'))
) STRICT;
CREATE INDEX webhook_deliveries_hook ON webhook_deliveries (hook_id, seq);
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (state, seq);
