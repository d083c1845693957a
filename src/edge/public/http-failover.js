// Moving the HTTP players (hls.js, dash.js) to another edge without a reload. Every edge serves the same
// stream under the same paths, numbered the same (its chunks come from the same tree), so the player is
// never told: its requests for this edge's /live/… and /time are sent to the edge in use instead, and when
// that edge stops answering the next request goes to the next edge of the list (edge-list.js). The
// player's buffer, its position and its segment numbering stay as they were: it continues with the next
// part or segment, from the other edge.
//
// An edge that nobody watched the stream on gets it from its parent when first asked, from the newest
// segment start on: the parts the player still needs may be older. So the first request to the new edge is
// for a document that names where the player is (`resume=v360:10.0,a0:10.0`, as the WebSocket player
// does), and the player's own requests follow once that was answered.
//
// "Stopped answering" is a request with no HTTP answer (connection refused or reset, a timeout) whose edge
// does not answer a probe either, or a 5xx. A 4xx is the stream not being there (or not that far yet):
// the player's own business, except from an edge just moved to, which may still be subscribing to the
// stream; `warmed()` says when to ask again. Only the public, unprotected streams move: a protected one is
// unlocked by a cookie of this edge's origin, which the others do not see (the page does not create
// this for them).

/** After a move, the new edge may still be subscribing: its 4xx are asked again once it answered the warm-up. */
const GRACE_MS = 5_000;
/** Once every edge was tried, they are tried again after this long (the player retries meanwhile). */
const TRY_AGAIN_MS = 10_000;
/** An edge that does not answer a probe in this time is taken as gone. */
const PROBE_TIMEOUT_MS = 1_500;
/** How long the player's requests wait for the new edge's first answer before they go anyway. */
const WARM_UP_TIMEOUT_MS = 3_000;
/** The renditions asked for this recently are the ones the player is on (a resume names at most 4). */
const POSITION_FRESH_MS = 10_000;
const MAX_RESUME = 4;
/** The documents a viewer enters at: the edge may redirect them to a better edge, which must not happen here. */
const ENTRY_RE = /\/(?:manifest\.mpd|master\.m3u8)$/;
/** A part (N.P.m4s), a segment (N.m4s) or a blocking playlist reload (_HLS_msn=N) of a rendition. */
const POSITION_RE =
  /^\/live\/[^/]+\/([A-Za-z0-9_-]{1,64})\/(?:(\d{1,10})(?:\.\d{1,5})?\.m4s|playlist\.m3u8)$/;

/**
 * The rendition and segment number a request is for, or null.
 * @param {URL} u
 * @returns {{ rendition: string, segment: number } | null}
 */
export function requestPosition(u) {
  const m = POSITION_RE.exec(u.pathname);
  if (!m?.[1]) return null;
  const n = m[2] ?? u.searchParams.get('_HLS_msn');
  return n && /^\d{1,10}$/.test(n) ? { rendition: m[1], segment: Number(n) } : null;
}

/**
 * Whether an HTTP status (0: no answer) may mean the edge is gone or broken rather than the stream absent.
 * @param {number} status
 */
export function edgeTrouble(status) {
  return status === 0 || status >= 500;
}

export class EdgeFailover {
  /**
   * @param {{ own: string, others: () => string[], warmPath: string,
   *   fetch?: (url: string, init: RequestInit) => Promise<unknown>, now?: () => number }} params
   *   own: this page's edge (its origin); others: the other edges' base URLs, best first; warmPath: a
   *   document whose request makes an edge subscribe to the stream (`/live/NAME/master.m3u8`).
   */
  constructor({ own, others, warmPath, fetch: fetchFn, now = () => performance.now() }) {
    this.own = own;
    this.others = others;
    this.warmPath = warmPath;
    this.fetch = fetchFn ?? ((url, init) => fetch(url, init));
    this.now = now;
    /** @type {Set<(base: string) => void>} */
    this.moveListeners = new Set();
    this.base = own;
    /** Moves so far (the page's edgeMoves()). */
    this.moves = 0;
    /** Edges tried since a request last succeeded: once all were, requests fail as they would without this. */
    this.tried = 0;
    this.lastMoveAt = -Infinity;
    /** @type {{ base: string, at: number, done: Promise<void> } | null} */
    this.warming = null;
    /** @type {Map<string, Promise<boolean>>} a decision under way per edge (many requests fail at once) */
    this.deciding = new Map();
    /** @type {Map<string, { segment: number, at: number }>} per rendition, the newest segment asked for */
    this.positions = new Map();
  }

  /**
   * Calls `listener` with the new edge's base URL after every move.
   * @param {(base: string) => void} listener
   */
  onMoved(listener) {
    this.moveListeners.add(listener);
  }

  /** The base URL of the edge in use. */
  current() {
    return this.base;
  }

  /**
   * A URL of this page's edge as it is at `base`: `/live/…` and `/time` move, anything else (another
   * origin, the page's API) stays. An entry document says it was redirected already, so that the edge
   * serves it rather than sending it on. The player's requests pass here: their segment numbers are where
   * it is, for the next move's resume.
   * @param {string} url
   * @param {string} [base]
   */
  rewrite(url, base = this.base) {
    let u;
    try {
      u = new URL(url, this.own);
    } catch {
      return url;
    }
    const at = u.origin === this.own ? requestPosition(u) : null;
    if (at) {
      const known = this.positions.get(at.rendition);
      if (!known || known.segment <= at.segment) this.positions.set(at.rendition, { ...at, at: this.now() });
    }
    if (base === this.own) return url;
    if (u.origin !== this.own || !(u.pathname.startsWith('/live/') || u.pathname === '/time')) return url;
    if (ENTRY_RE.test(u.pathname)) u.searchParams.set('redirected', '1');
    return `${base}${u.pathname}${u.search}`;
  }

  /**
   * A request to `base` was answered: the edges are worth trying again.
   * @param {string} base
   */
  ok(base) {
    if (base === this.base) this.tried = 0;
  }

  /**
   * A request to `base` failed with `status` (0: no answer). Resolves true when it should be sent again,
   * to `current()`: another edge is in use now (this call moved, or an earlier one did). False: let the
   * player handle the failure as usual (the edge is there, or every edge was tried).
   * @param {string} base
   * @param {number} status
   * @returns {Promise<boolean>}
   */
  failed(base, status) {
    if (base !== this.base) return this.afterWarmUp();
    if (!edgeTrouble(status)) return Promise.resolve(false);
    let decision = this.deciding.get(base);
    if (!decision) {
      decision = (status === 0 ? this.answers(base) : Promise.resolve(false))
        .then((alive) => {
          if (base !== this.base) return true;
          if (alive || !this.moveOn()) return false;
          return this.afterWarmUp();
        })
        // A request waiting on this must get an answer whatever happened here: the player's own handling.
        .catch(() => false)
        .finally(() => this.deciding.delete(base));
      this.deciding.set(base, decision);
    }
    return decision;
  }

  /**
   * True once the edge moved to has the stream from where the player is (its warm-up answered, or timed
   * out): requests sent before would subscribe it from the newest segment start instead.
   * @returns {Promise<boolean>}
   */
  afterWarmUp() {
    return (this.warming?.done ?? Promise.resolve()).then(() => true);
  }

  /**
   * While a request to the edge just moved to may still find the stream missing there, the wait for its
   * warm-up request; null otherwise.
   * @param {string} base
   * @returns {Promise<void> | null}
   */
  warmed(base) {
    const w = this.warming;
    return w && w.base === base && this.now() - w.at < GRACE_MS ? w.done : null;
  }

  /** Whether `base` answers at all (any HTTP answer; an opaque one is enough). @param {string} base */
  async answers(base) {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), PROBE_TIMEOUT_MS);
    try {
      await this.fetch(`${base}/healthz`, { mode: 'no-cors', cache: 'no-store', signal: ctl.signal });
      return true;
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  /** To the edge after the current one in [own, ...others]; false once every edge was tried. */
  moveOn() {
    const list = [this.own, ...this.others().filter((b) => b !== this.own)];
    if (this.now() - this.lastMoveAt > TRY_AGAIN_MS) this.tried = 0;
    if (list.length < 2 || this.tried >= list.length - 1) return false;
    const next = list[(list.indexOf(this.base) + 1) % list.length] ?? this.own;
    this.base = next;
    this.tried++;
    this.moves++;
    this.lastMoveAt = this.now();
    // The new edge subscribes to the stream on the first document asked of it: ask for one now, naming
    // where the player is, so that the parts and segments asked next are there.
    const warm = new URL(this.rewrite(new URL(this.warmPath, this.own).href, next));
    const resume = this.resume();
    if (resume) warm.searchParams.set('resume', resume);
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), WARM_UP_TIMEOUT_MS);
    const done = this.fetch(warm.href, { cache: 'no-store', signal: ctl.signal })
      .then(
        () => undefined,
        () => undefined,
      )
      .finally(() => clearTimeout(timer));
    this.warming = { base: next, at: this.now(), done };
    for (const listener of this.moveListeners) listener(next);
    return true;
  }

  /**
   * Where the player is, as an edge takes it (`v360:10.0,a0:10.0`): per rendition asked for lately, the
   * first chunk of the segment two before the newest one asked for. The edge's parent sends what follows:
   * the segment before the newest, whole, which the edge's playlist then starts with (hls.js lines up
   * the new playlist with the old by a segment both list), and the newest, which the player is in.
   */
  resume() {
    const now = this.now();
    return [...this.positions]
      .filter(([, p]) => now - p.at < POSITION_FRESH_MS && p.segment > 1)
      .sort(([, a], [, b]) => b.at - a.at)
      .slice(0, MAX_RESUME)
      .map(([id, p]) => `${id}:${p.segment - 2}.0`)
      .join(',');
  }
}
