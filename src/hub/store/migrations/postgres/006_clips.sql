-- Clips (issue 15, ADR 0020): a part of a broadcast cut at keyframes into one MP4, kept in the recording
-- storage beside the broadcast (`<stream>/<broadcast>/clips/<id>.mp4`) and deleted with it.
CREATE TABLE clips (
  id           TEXT    PRIMARY KEY,
  broadcast_id TEXT    NOT NULL REFERENCES broadcasts (id) ON DELETE CASCADE,
  title        TEXT    NOT NULL DEFAULT '',
  created_by   TEXT    NOT NULL,
  created_at   BIGINT  NOT NULL,
  start_ms     BIGINT  NOT NULL,
  duration_ms  BIGINT  NOT NULL,
  bytes        BIGINT  NOT NULL
);
CREATE INDEX clips_broadcast ON clips (broadcast_id, created_at);
