-- Analytics (issue 16, ADR 0021). `analytics_lives`: each time a channel was live (the unit "per broadcast"
-- means, recorded or not). `analytics_samples`: viewers at one moment per edge, region and transport; a row
-- stands for `span_s` seconds (one sampling period; 600 once folded into 10-minute rows), so viewer-seconds
-- are viewers × span_s whatever the row's age. `analytics_activity`: chat messages and follows per period.
-- `analytics_uniques`: who watched or chatted in a live, as a sketch (src/hub/analytics/hyperloglog.ts) of
-- day-salted hashes (viewers) or hashed account names (chatters): exact up to 1024 keys, then a HyperLogLog of
-- 4096 one-byte registers (4 KiB however many came); sketches of several lives merge into their union.
CREATE TABLE analytics_lives (
  id           TEXT    NOT NULL PRIMARY KEY,
  streamer_id  INTEGER NOT NULL REFERENCES streamers (id) ON DELETE CASCADE,
  started_at   INTEGER NOT NULL,
  ended_at     INTEGER
) STRICT;
CREATE INDEX analytics_lives_streamer ON analytics_lives (streamer_id, started_at);
CREATE TABLE analytics_samples (
  streamer_id  INTEGER NOT NULL REFERENCES streamers (id) ON DELETE CASCADE,
  at           INTEGER NOT NULL,
  span_s       INTEGER NOT NULL,
  edge         TEXT    NOT NULL,
  region       TEXT    NOT NULL,
  transport    TEXT    NOT NULL,
  viewers      REAL    NOT NULL
) STRICT;
CREATE INDEX analytics_samples_streamer ON analytics_samples (streamer_id, at);
CREATE INDEX analytics_samples_at ON analytics_samples (at);
CREATE TABLE analytics_activity (
  streamer_id  INTEGER NOT NULL REFERENCES streamers (id) ON DELETE CASCADE,
  at           INTEGER NOT NULL,
  span_s       INTEGER NOT NULL,
  messages     INTEGER NOT NULL,
  follows      INTEGER NOT NULL
) STRICT;
CREATE INDEX analytics_activity_streamer ON analytics_activity (streamer_id, at);
CREATE TABLE analytics_uniques (
  live_id      TEXT    NOT NULL REFERENCES analytics_lives (id) ON DELETE CASCADE,
  kind         TEXT    NOT NULL,
  registers    BLOB    NOT NULL,
  PRIMARY KEY (live_id, kind)
) STRICT;
