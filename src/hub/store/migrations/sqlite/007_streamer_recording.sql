-- Whether and what the ingress records of this streamer (issue 15): 'off', or which renditions ('all',
-- 'source', 'top-and-lowest'). NULL: the ingress's own `recording` settings.
ALTER TABLE streamers ADD COLUMN recording TEXT CHECK (recording IN ('off', 'all', 'source', 'top-and-lowest'));
