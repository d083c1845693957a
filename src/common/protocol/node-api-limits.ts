/**
 * Limits on what an ingress forwards to the hub's internal API, shared by both sides so the first hop
 * refuses what the hub would refuse, with the right code. A stream key of the wrong shape is an invalid
 * key (BAD_STREAM_KEY where it arrives): it must not cost a hub round trip, nor turn into "the hub is
 * unavailable" because the hub refused the request's size.
 */

/** Largest thumbnail the hub stores; the ingress skips larger stills instead of sending them. */
export const MAX_THUMBNAIL_BYTES = 512 * 1024;

/**
 * Longest key accepted anywhere: the hub's key check refuses longer bodies. Generated keys are 32
 * characters and configured ones are short passwords, so 512 leaves room without inviting abuse.
 */
export const MAX_STREAM_KEY_CHARS = 512;

/** Control characters (C0, DEL, C1) never appear in a key an encoder sends; some can corrupt logs. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

export function isWellFormedStreamKey(key: unknown): key is string {
  return (
    typeof key === 'string' && key.length > 0 && key.length <= MAX_STREAM_KEY_CHARS && !CONTROL.test(key)
  );
}
