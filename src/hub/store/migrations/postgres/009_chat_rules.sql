-- The moderation a busy chat needs (issue 16, ADR 0021). `chat_rules`: one row per channel that changed its
-- rules from the defaults (slow mode off, everyone may chat, links allowed, no words of its own); lists are
-- JSON arrays. `chat_regulars`: who has had a message accepted in a channel (a first-time chatter's links
-- can be held for review). `moderation_log`: who did what, when, per channel.
CREATE TABLE chat_rules (
  streamer_id    BIGINT  PRIMARY KEY REFERENCES streamers (id) ON DELETE CASCADE,
  slow_mode_s    INTEGER NOT NULL DEFAULT 0,
  who            TEXT    NOT NULL DEFAULT 'everyone' CHECK (who IN ('everyone', 'accounts', 'followers')),
  links          TEXT    NOT NULL DEFAULT 'allow' CHECK (links IN ('allow', 'review', 'block')),
  link_allow     TEXT    NOT NULL DEFAULT '[]',
  blocked_words  TEXT    NOT NULL DEFAULT '[]',
  updated_at     BIGINT  NOT NULL
);
CREATE TABLE chat_regulars (
  streamer_id  BIGINT  NOT NULL REFERENCES streamers (id) ON DELETE CASCADE,
  who          TEXT    NOT NULL,
  since        BIGINT  NOT NULL,
  PRIMARY KEY (streamer_id, who)
);
CREATE TABLE moderation_log (
  id           BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  streamer_id  BIGINT  NOT NULL REFERENCES streamers (id) ON DELETE CASCADE,
  at           BIGINT  NOT NULL,
  actor        TEXT    NOT NULL,
  action       TEXT    NOT NULL,
  target       TEXT,
  details      TEXT
);
CREATE INDEX moderation_log_channel ON moderation_log (streamer_id, id);
