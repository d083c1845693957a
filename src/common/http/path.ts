/**
 * Request-path normalisation for anything that routes or forwards a path it did not build itself.
 * A path is reduced to one canonical form before it is matched, so that every spelling a server, proxy or
 * URL parser downstream might treat as equal is compared as equal here: percent-encoding, dot segments,
 * repeated slashes, backslashes and `;` parameters. Whatever cannot be reduced safely is refused.
 */
import { TiercastError } from '../errors/index.js';

/** Why a path was refused; the caller answers 400/404 and logs it with the code. */
export class UnsafePath extends TiercastError {
  declare readonly code: 'BAD_REQUEST';

  constructor(message: string) {
    super('BAD_REQUEST', message);
    this.name = 'UnsafePath';
  }
}

/**
 * Canonical form of a raw request path (no query): segments decoded once, `;params` dropped, empty and `.`
 * segments removed, `..` applied (never above the root). Returns the segments. Refuses encodings that decode
 * to another encoding (double encoding), control characters, and `/` or `\` hidden inside a segment.
 */
export function canonicalSegments(rawPath: string): string[] {
  if (rawPath.length > 2048) throw new UnsafePath('path too long');
  const out: string[] = [];
  // Backslashes are separators to WHATWG URL parsers (and so to fetch): treat them as such here too.
  for (const rawSegment of rawPath.replace(/\\/g, '/').split('/')) {
    const withoutParams = rawSegment.split(';', 1)[0] ?? '';
    let seg: string;
    try {
      seg = decodeURIComponent(withoutParams);
    } catch {
      throw new UnsafePath('bad percent-encoding');
    }
    // A segment that still holds an escape after one decoding was encoded twice: a later hop could decode it
    // again into a separator or a dot segment. A decoded separator in a segment is refused for the same reason.
    if (/%[0-9A-Fa-f]{2}/.test(seg) || /[/\\;]/.test(seg))
      throw new UnsafePath('encoded separator or double encoding');
    if (/[\u0000-\u001f\u007f]/.test(seg)) throw new UnsafePath('control character in path');
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      out.pop();
      continue;
    }
    out.push(seg);
  }
  return out;
}

/** `/` + canonical segments joined, e.g. `/api//x/../y;a=b` → `/api/y`. */
export function canonicalPath(rawPath: string): string {
  return `/${canonicalSegments(rawPath).join('/')}`;
}
