-- How the ingress treats this streamer's video (ADR 0010): 'ladder', 'passthrough' (Source plus the
-- ladder) or 'off' (Source only). NULL: the ingress's own `transcode.mode`.
ALTER TABLE streamers ADD COLUMN transcode TEXT CHECK (transcode IN ('ladder', 'passthrough', 'off'));
