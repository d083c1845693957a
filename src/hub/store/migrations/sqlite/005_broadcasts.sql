-- Past broadcasts (issue 15, ADR 0020): one row per recorded broadcast, reported by the ingress that
-- recorded it. The media lives in the recording storage under `<stream>/<id>/`; `stream` is the folder (the
-- channel's name when it was recorded). Deleting a row is done with its media (src/hub/broadcasts.ts).
CREATE TABLE broadcasts (
  id           TEXT    PRIMARY KEY,
  streamer_id  INTEGER NOT NULL REFERENCES streamers (id) ON DELETE CASCADE,
  stream       TEXT    NOT NULL,
  title        TEXT    NOT NULL DEFAULT '',
  category     TEXT    NOT NULL DEFAULT '',
  started_at   INTEGER NOT NULL,
  ended_at     INTEGER,
  duration_ms  INTEGER NOT NULL DEFAULT 0,
  bytes        INTEGER NOT NULL DEFAULT 0,
  peak_viewers INTEGER NOT NULL DEFAULT 0,
  hidden       INTEGER NOT NULL DEFAULT 0 CHECK (hidden IN (0, 1))
) STRICT;
CREATE INDEX broadcasts_streamer ON broadcasts (streamer_id, started_at);
