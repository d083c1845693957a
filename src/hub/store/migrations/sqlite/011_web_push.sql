-- Web Push (issue 16, ADR 0021). `hub_settings`: values every hub on this store shares, written once (the VAPID
-- key pair the push services know this site by: a subscription made with one public key only accepts pushes
-- signed by its private key, so every hub must sign with the same). `push_subscriptions`: one row per browser
-- an account allowed to be told when a followed channel goes live; an endpoint belongs to one account.
CREATE TABLE hub_settings (
  name   TEXT NOT NULL PRIMARY KEY,
  value  TEXT NOT NULL
) STRICT;
CREATE TABLE push_subscriptions (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  endpoint    TEXT    NOT NULL UNIQUE,
  p256dh      TEXT    NOT NULL,
  auth        TEXT    NOT NULL,
  created_at  INTEGER NOT NULL,
  failures    INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX push_subscriptions_user ON push_subscriptions (user_id);
