-- Restream outputs (issue 16, ADR 0021): where a channel's stream is also pushed (an RTMP(S) server of
-- YouTube, Twitch, Kick or anyone). `key_sealed` is the third party's stream key sealed with AES-256-GCM
-- (src/hub/restream/sealed-keys.ts): never stored, returned or logged in the clear.
CREATE TABLE restream_outputs (
  id           TEXT    NOT NULL PRIMARY KEY,
  streamer_id  INTEGER NOT NULL REFERENCES streamers (id) ON DELETE CASCADE,
  name         TEXT    NOT NULL,
  url          TEXT    NOT NULL,
  key_sealed   TEXT    NOT NULL,
  rendition    TEXT    NOT NULL,
  created_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX restream_outputs_streamer ON restream_outputs (streamer_id);
