// Reading JSON from the network: every field is `unknown` until checked, so a page never trusts the shape
// of what an edge, the hub or a socket sent.

/**
 * A JSON value as an object whose fields can be checked one by one, or null.
 * @param {unknown} v
 * @returns {Record<string, unknown> | null}
 */
export function asRecord(v) {
  return v && typeof v === 'object' ? /** @type {Record<string, unknown>} */ (v) : null;
}

/**
 * A JSON value as an array (of unchecked items), or an empty one.
 * @param {unknown} v
 * @returns {unknown[]}
 */
export function asArray(v) {
  return Array.isArray(v) ? v : [];
}
