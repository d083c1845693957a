// Peer-assisted delivery, the page's side (issue 13; the edge's side is src/edge/p2p/tracker.ts).
//
// The edge plans who supplies whom; this module keeps the WebRTC data channels of that plan, forwards the
// chunks of the stripe it supplies to its receivers as soon as it has them, and hands the player every chunk
// in the order the edge announced it, whoever carried it. For a chunk a peer carries, the edge sends a digest
// (SHA-256) instead: bytes from a peer are accepted only if they match, so a peer cannot forge or replay
// media. A chunk no peer delivered within the deadline (a few frame times) is fetched from the edge; a peer
// whose bytes do not match is reported and dropped.
//
// The player calls fromEdge() for every chunk frame from the socket and gets them back through deliver(),
// in order per kind (video, audio): while P2P is off that is immediate.

import { decodeFrame } from './frames.js';
import { asRecord } from './json.js';

/** @import { ChunkFrame } from './frames.js' */

/** Stripes the stream is cut into: the same as src/edge/p2p/swarm-plan.ts. */
export const STRIPES = 2;

/** How often a chunk whose peer copy is being verified is looked at again, instead of fetched (ms). */
const CHECKING_RETRY_MS = 20;

/** Delivery events kept for diagnosis (PeerAssist.events()). */
const EVENT_LOG = 400;

/** The stripe a chunk belongs to (consecutive chunks of a rendition alternate). @param {number} segment @param {number} chunk */
export function stripeOf(segment, chunk) {
  return (segment + chunk) % STRIPES;
}

export const PEER_DEFAULTS = Object.freeze({
  /** A chunk fetched from the edge and still not here after this long is given up (a gap; ms). */
  giveUpMs: 1500,
  /** Peer bytes that came before their digest, kept at most this long (ms) and this many. */
  earlyMs: 2000,
  maxEarly: 256,
  /** A data channel holding more than this is not sent to (its receiver fetches from the edge). */
  maxChannelBuffer: 1024 * 1024,
  /** Reliable and unordered: no head-of-line blocking inside a stripe, nothing silently lost. */
  ordered: false,
  /** What a fetch from the edge is assumed to take before any has been timed (ms). */
  fetchGuessMs: 60,
  /** Room kept beyond a fetch's round trip when the picture is about to need a chunk (ms). */
  fetchSafetyMs: 40,
  /**
   * How long a page plays from the edge before it asks to join its swarm (ms): a viewer who leaves within
   * seconds (zapping) never moves the swarm, and a page's WebRTC set-up does not add to its own load.
   */
  joinAfterMs: 3000,
  /**
   * A planned link whose data channel is not open this long after it was begun is closed and begun again
   * (ms): an offer, answer or candidate lost on the way (refused while the edge re-planned, a peer's busy
   * moment) would otherwise leave the pair waiting for ever while the edge carries the stripe.
   */
  linkOpenMs: 6000,
});

/** @typedef {{ [K in keyof typeof PEER_DEFAULTS]: (typeof PEER_DEFAULTS)[K] extends boolean ? boolean : number }} PeerOptions */

/** Whether this browser can take part: WebRTC data channels, and SHA-256 (a secure context). */
export function peerAssistAvailable() {
  return 'RTCPeerConnection' in globalThis && !!globalThis.crypto?.subtle;
}

/** @param {ArrayBuffer} buf */
async function sha256(buf) {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', buf));
  let s = '';
  for (const b of d) s += String.fromCharCode(b);
  return btoa(s).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

/** @param {string} r @param {number} s @param {number} c */
const keyOf = (r, s, c) => `${r}:${s}.${c}`;

/**
 * One chunk in delivery order: here already, or announced (a digest) and waiting for its bytes.
 * `due` is when its peer's copy is late (the deadline); `fetchedAt` is when it was asked of the edge (0: not
 * asked), to time the edge's round trip; `checking` is when a peer's copy came that is being verified (0: none).
 * @typedef {{ key: string, stripe: number, buf: ArrayBuffer | null, frame: ChunkFrame | null, digest: string | null,
 *   from: string | null, since: number, due: number, fetched: boolean, fetchedAt: number, checking: number,
 *   timer: ReturnType<typeof setTimeout> | undefined }} Entry
 */
/**
 * A data channel of the plan: `up` supplies this page, `down` is supplied by it.
 * `chain` runs the link's signalling steps one after another (a candidate never overtakes its offer or answer).
 * One link per partner and direction carries every stripe the plan has between them (a viewer can supply
 * another in both stripes when the home groups are uneven).
 * `openTimer` ends a link that is not open within linkOpenMs.
 * @typedef {{ peer: string, dir: 'up' | 'down', stripes: Set<number>, pc: RTCPeerConnection, dc: RTCDataChannel | null,
 *   open: boolean, chain: Promise<void>, openTimer: ReturnType<typeof setTimeout> | undefined }} Link
 */

export class PeerAssist {
  /**
   * @param {{ send: (msg: Record<string, unknown>) => void, deliver: (f: ChunkFrame, buf: ArrayBuffer) => void,
   *   kindOf: (rendition: string) => 'video' | 'audio' | undefined, frameMs: () => number,
   *   aheadMs?: (kind: 'video' | 'audio') => number | null,
   *   onState?: (state: 'on' | 'off', detail?: string) => void, options?: Partial<PeerOptions> }} p
   *   `aheadMs`: how much media of that kind the player holds ahead of what it shows (null: unknown).
   */
  constructor({ send, deliver, kindOf, frameMs, aheadMs, onState, options = {} }) {
    this.send = send;
    this.deliver = deliver;
    this.kindOf = kindOf;
    this.frameMs = frameMs;
    this.aheadMs = aheadMs ?? (() => null);
    this.onState = onState;
    this.opts = { ...PEER_DEFAULTS, ...options };
    /** The viewer's switch. */
    this.wanted = true;
    /** @type {ReturnType<typeof setTimeout> | undefined} asking to join, once the page has played a while */
    this.joinTimer = undefined;
    /** The edge's answer: P2P is on for this page. */
    this.on = false;
    this.id = '';
    this.deadlineFrames = 3;
    /** @type {RTCIceServer[]} */
    this.iceServers = [];
    /** @type {{ suppliers: Array<string | null>, receivers: Array<{ peer: string, stripe: number }> }} */
    this.plan = { suppliers: [], receivers: [] };
    /** @type {Map<string, Link>} by `${dir}:${peer}` */
    this.links = new Map();
    /** @type {Map<string, Entry[]>} per kind, in the edge's order */
    this.queues = new Map();
    /** @type {Map<string, Entry>} waiting entries by chunk key */
    this.waiting = new Map();
    /**
     * Chunks fetched before their deadline, whose peer's copy may still come in time, by chunk key: the digest
     * (a copy that comes is still checked, so a forger is caught even when nobody waits for it) and the stripe
     * (a supplier that goes away is not reported late for what it still owed).
     * @type {Map<string, { digest: string, stripe: number }>}
     */
    this.owed = new Map();
    /** @type {Map<string, { buf: ArrayBuffer, from: string, at: number }>} */
    this.early = new Map();
    this.stats = {
      chunksFromPeers: 0,
      bytesFromPeers: 0,
      chunksFromEdge: 0,
      bytesFromEdge: 0,
      refetched: 0,
      /** Chunks whose planned supplier had not delivered by the deadline (reported to the edge). */
      missed: 0,
      /** Chunks fetched early whose edge copy came after the peer's (dropped). */
      edgeAfterPeer: 0,
      lost: 0,
      badChunks: 0,
      unexpected: 0,
      chunksForwarded: 0,
      bytesForwarded: 0,
      /** Chunks handed to the player twice (must stay 0). */
      repeated: 0,
      /** Signalling the edge refused (a partner re-planned away in the meantime, or too many messages). */
      refusals: 0,
    };
    /** The last 32 fetches from the edge: ms from asking to having it (fetchEstimateMs()). */
    this.fetchTimes = new Float64Array(32);
    this.fetchAt = 0;
    /** The last 512 peer deliveries: ms after their digest (lagSummary()). */
    this.lags = new Float64Array(512);
    this.lagAt = 0;
    /** @type {Map<string, string>} the last key delivered per kind */
    this.lastDelivered = new Map();
    /** @type {Set<string>} keys delivered recently, to count repeats */
    this.recent = new Set();
    /**
     * What happened to delivery lately, for a stall's diagnosis (events()): plans, links, fetches with their
     * reason and the media the player held, misses. Bounded: the last EVENT_LOG entries.
     * @type {Array<[number, string, string]>}
     */
    this.log = [];
  }

  /** Notes a delivery event (wall-clock ms, what, detail). @param {string} what @param {string} detail */
  note(what, detail) {
    this.log.push([Math.round(performance.timeOrigin + performance.now()), what, detail]);
    if (this.log.length > EVENT_LOG) this.log.splice(0, this.log.length - EVENT_LOG);
  }

  /** The recent delivery events, oldest first: [wall-clock ms, what, detail]. */
  events() {
    return this.log.slice();
  }

  /**
   * The socket (re)opened: ask to take part once the page has played from the edge for `joinAfterMs`, or say
   * at once that it is switched off (the edge answers either way).
   */
  start() {
    clearTimeout(this.joinTimer);
    if (!this.wanted) {
      this.send({ type: 'p2p', on: false });
      return;
    }
    this.joinTimer = setTimeout(() => {
      if (this.wanted) this.send({ type: 'p2p', on: true });
    }, this.opts.joinAfterMs);
  }

  /** The viewer's switch: at once. @param {boolean} on */
  setWanted(on) {
    clearTimeout(this.joinTimer);
    this.wanted = on;
    this.send({ type: 'p2p', on });
    if (!on) this.stop('switched off');
  }

  /** The socket closed: links and waits end with it (the edge resumes from the last chunk delivered). */
  reset() {
    clearTimeout(this.joinTimer);
    this.stop(undefined);
    for (const q of this.queues.values()) {
      for (const e of q) clearTimeout(e.timer);
      // What is here in order is handed over, and nothing past a chunk still missing: the player resumes
      // from the last chunk it has without a gap, and the edge sends the rest again (no hole).
      while (q.length && q[0]?.buf) this.hand(/** @type {Entry} */ (q.shift()));
    }
    this.queues.clear();
    this.waiting.clear();
    this.owed.clear();
    this.early.clear();
  }

  /** @param {string | undefined} detail */
  stop(detail) {
    const was = this.on;
    this.on = false;
    this.owed.clear();
    this.setPlan({ suppliers: [], receivers: [] });
    if (was || detail) this.onState?.('off', detail);
  }

  close() {
    this.reset();
  }

  /** A text message for this module (type p2p*, or an error with a P2P_ code). @param {Record<string, unknown>} msg */
  onMessage(msg) {
    switch (msg.type) {
      case 'p2p':
        if (msg.state === 'on' && typeof msg.id === 'string') {
          this.on = true;
          this.id = msg.id;
          if (typeof msg.deadlineFrames === 'number') this.deadlineFrames = msg.deadlineFrames;
          this.iceServers = Array.isArray(msg.iceServers)
            ? /** @type {RTCIceServer[]} */ (msg.iceServers)
            : [];
          this.onState?.('on');
        } else {
          this.stop(typeof msg.reason === 'string' ? msg.reason : 'off');
        }
        break;
      case 'p2p-plan':
        this.setPlan({
          suppliers: Array.isArray(msg.suppliers)
            ? msg.suppliers.map((s) => (typeof s === 'string' ? s : null))
            : [],
          receivers: Array.isArray(msg.receivers)
            ? msg.receivers.flatMap((r) => {
                const o = asRecord(r);
                return o && typeof o.peer === 'string' && typeof o.stripe === 'number'
                  ? [{ peer: o.peer, stripe: o.stripe }]
                  : [];
              })
            : [],
        });
        break;
      case 'p2p-signal':
        if (typeof msg.from === 'string') this.onSignal(msg.from, asRecord(msg.data));
        break;
      case 'p2p-digest':
        if (
          typeof msg.r === 'string' &&
          typeof msg.s === 'number' &&
          typeof msg.c === 'number' &&
          typeof msg.h === 'string'
        )
          this.onDigest(msg.r, msg.s, msg.c, msg.h);
        break;
      case 'error':
        // Signals for a partner the edge just re-planned away are refused: expected, nothing to show.
        this.stats.refusals++;
        break;
      default:
        break;
    }
  }

  // ---- delivery order -------------------------------------------------------------------------

  /** A chunk frame from the edge (sent directly, or fetched after a miss). @param {ArrayBuffer} buf @param {ChunkFrame} f */
  fromEdge(buf, f) {
    const key = keyOf(f.rendition, f.segment, f.chunk);
    const w = this.waiting.get(key);
    if (!w && this.on && this.recent.has(key)) {
      // Fetched early, and its peer's copy came first: nothing to hand over or pass on.
      this.stats.edgeAfterPeer++;
      return;
    }
    this.stats.chunksFromEdge++;
    this.stats.bytesFromEdge += buf.byteLength;
    if (w) {
      this.fill(w, buf, f, null);
      return;
    }
    const kind = this.kindOf(f.rendition);
    const q = kind ? this.queues.get(kind) : undefined;
    /** @type {Entry} */
    const e = {
      key,
      stripe: stripeOf(f.segment, f.chunk),
      buf,
      frame: f,
      digest: null,
      from: null,
      since: 0,
      due: 0,
      fetched: false,
      fetchedAt: 0,
      checking: 0,
      timer: undefined,
    };
    this.forward(buf, f);
    if (!kind || !q || q.length === 0) {
      // Nothing waiting ahead of it: straight through (the only path while P2P is off).
      this.hand(e);
      return;
    }
    q.push(e);
    this.flush(kind);
  }

  /** @param {string} r @param {number} s @param {number} c @param {string} h */
  onDigest(r, s, c, h) {
    const kind = this.kindOf(r);
    if (!kind) return;
    const key = keyOf(r, s, c);
    // Announced twice, or already here: a second entry would wait at the head of the queue for ever.
    if (this.waiting.has(key) || this.recent.has(key)) return;
    let q = this.queues.get(kind);
    if (!q) this.queues.set(kind, (q = []));
    const now = performance.now();
    /** @type {Entry} */
    const e = {
      key,
      stripe: stripeOf(s, c),
      buf: null,
      frame: null,
      digest: h,
      from: null,
      since: now,
      due: now + Math.max(1, this.deadlineFrames) * this.frameMs(),
      fetched: false,
      fetchedAt: 0,
      checking: 0,
      timer: undefined,
    };
    q.push(e);
    this.waiting.set(key, e);
    e.timer = setTimeout(() => this.missed(e, r, s, c, 'deadline'), this.waitFor(kind));
    const early = this.early.get(key);
    if (early) {
      this.early.delete(key);
      e.checking = now;
      void this.verify(e, early.buf, early.from);
    }
  }

  /**
   * How long a peer may take with a chunk just announced before it is fetched from the edge: the deadline
   * (deadlineFrames frame times), or less when the player would run out of media first. A fetch takes a round
   * trip, so it starts while the player still holds that round trip (as measured) and a margin: a late peer
   * costs the edge bytes, never a held picture. @param {'video' | 'audio'} kind
   */
  waitFor(kind) {
    const deadline = Math.max(1, this.deadlineFrames) * this.frameMs();
    const ahead = this.aheadMs(kind);
    if (ahead === null) return deadline;
    const room = ahead - this.fetchEstimateMs() - this.opts.fetchSafetyMs;
    return Math.max(0, Math.min(deadline, room));
  }

  /** A fetch's round trip to the edge: the 90th percentile of the last 32, or a guess before any. */
  fetchEstimateMs() {
    const n = Math.min(this.fetchAt, this.fetchTimes.length);
    if (n === 0) return this.opts.fetchGuessMs;
    const v = [...this.fetchTimes.subarray(0, n)].sort((a, b) => a - b);
    return v[Math.min(n - 1, Math.floor(0.9 * n))] ?? this.opts.fetchGuessMs;
  }

  /**
   * A stripe lost its supplier (the link closed, or the edge planned another): what it still owes is fetched
   * from the edge now rather than at each chunk's deadline. @param {number} stripe
   */
  supplierLost(stripe) {
    for (const [key, o] of this.owed) if (o.stripe === stripe) this.owed.delete(key);
    for (const e of this.waiting.values()) {
      if (e.stripe !== stripe || e.fetched) continue;
      this.fetchNow(e);
    }
  }

  /**
   * Fetches a waiting chunk now, outside its timer, without reporting its supplier late: the supplier went
   * away, or was reported for a bad copy. @param {Entry} e
   */
  fetchNow(e) {
    clearTimeout(e.timer);
    const [r = '', pos = ''] = e.key.split(':');
    const [s = 0, c = 0] = pos.split('.').map(Number);
    this.missed(e, r, s, c, 'supplier lost');
  }

  /**
   * The chunk is fetched from the edge (its peer is late, gone, or the player is short of media), and given up
   * if even the edge does not send it. The planned supplier is reported only once the deadline has passed
   * without its copy: a fetch made early for the player's sake says nothing against it.
   * @param {Entry} e @param {string} r @param {number} s @param {number} c
   * @param {'deadline' | 'supplier lost'} why
   */
  missed(e, r, s, c, why) {
    if (e.buf || !this.waiting.has(e.key)) return;
    if (e.checking && !e.fetched) {
      // Its peer's copy is here and being checked against the digest (a hash, one task hop; longer on a
      // starved page): neither fetched nor blamed while that lasts. A mismatch fetches at once (verify).
      e.timer = setTimeout(() => this.missed(e, r, s, c, why), CHECKING_RETRY_MS);
      return;
    }
    if (!e.fetched) {
      const now = performance.now();
      e.fetched = true;
      e.fetchedAt = now;
      this.stats.refetched++;
      this.send({ type: 'p2p-fetch', r, s, c });
      const kind = this.kindOf(r);
      const ahead = kind ? this.aheadMs(kind) : null;
      this.note(
        'fetch',
        `${e.key} ${why} after ${Math.round(now - e.since)} ms, ahead ${ahead === null ? '?' : Math.round(ahead)} ms`,
      );
      if (why === 'deadline' && now >= e.due - 1) {
        this.stats.missed++;
        this.note('miss', e.key);
        this.send({ type: 'p2p-miss', r, s, c });
      } else if (why === 'deadline') {
        const key = e.key;
        const owed = { digest: e.digest ?? '', stripe: e.stripe };
        this.owed.set(key, owed);
        setTimeout(() => {
          if (this.owed.get(key) !== owed) return;
          this.owed.delete(key);
          this.stats.missed++;
          this.note('miss', key);
          this.send({ type: 'p2p-miss', r, s, c });
        }, e.due - now);
      }
      e.timer = setTimeout(() => this.missed(e, r, s, c, why), this.opts.giveUpMs);
      return;
    }
    // Not even the edge had it any more: a gap, so that everything behind it moves on.
    this.note('lost', e.key);
    this.waiting.delete(e.key);
    this.stats.lost++;
    const kind = this.kindOf(r);
    const q = kind ? this.queues.get(kind) : undefined;
    if (q) q.splice(q.indexOf(e), 1);
    if (kind) this.flush(kind);
  }

  /** @param {Entry} e @param {ArrayBuffer} buf @param {ChunkFrame} f @param {string | null} from a peer, or null: the edge */
  fill(e, buf, f, from) {
    if (e.buf) return;
    clearTimeout(e.timer);
    this.waiting.delete(e.key);
    e.buf = buf;
    e.frame = f;
    e.from = from;
    if (from) {
      this.stats.chunksFromPeers++;
      this.stats.bytesFromPeers += buf.byteLength;
      // How much later than the edge's announcement the peer's copy was here (0: it came first).
      this.lags[this.lagAt++ % this.lags.length] = Math.max(0, performance.now() - e.since);
    } else if (e.fetchedAt) {
      const took = performance.now() - e.fetchedAt;
      this.fetchTimes[this.fetchAt++ % this.fetchTimes.length] = took;
      this.note('fetched', `${e.key} in ${Math.round(took)} ms`);
    }
    this.forward(buf, f);
    const kind = this.kindOf(f.rendition);
    if (kind) this.flush(kind);
  }

  /** Hands over everything at the head of the kind's queue that is here. @param {string} kind */
  flush(kind) {
    const q = this.queues.get(kind);
    if (!q) return;
    while (q.length && q[0]?.buf) this.hand(/** @type {Entry} */ (q.shift()));
  }

  /** @param {Entry} e */
  hand(e) {
    if (!e.buf || !e.frame) return;
    if (this.recent.has(e.key)) {
      this.stats.repeated++;
      return;
    }
    this.recent.add(e.key);
    if (this.recent.size > 2048)
      this.recent.delete(/** @type {string} */ (this.recent.values().next().value));
    this.deliver(e.frame, e.buf);
  }

  // ---- bytes from peers -----------------------------------------------------------------------

  /** @param {ArrayBuffer} buf @param {string} from */
  fromPeer(buf, from) {
    /** @type {ChunkFrame} */
    let f;
    try {
      const d = decodeFrame(buf);
      if (d.type !== 'chunk') throw new Error('not a chunk');
      f = d;
    } catch {
      this.bad(from, null);
      return;
    }
    const key = keyOf(f.rendition, f.segment, f.chunk);
    // Its peer's copy came, though the page did not wait for it: the supplier was not late (if it is honest).
    const owed = this.owed.get(key);
    this.owed.delete(key);
    const w = this.waiting.get(key);
    if (w) {
      if (!w.checking) w.checking = performance.now();
      void this.verify(w, buf, from);
      return;
    }
    if (owed !== undefined) {
      void sha256(buf).then((h) => {
        if (h !== owed.digest) this.bad(from, null, key);
      });
      return;
    }
    // Before its digest (it came round faster than the edge's socket), or old: kept a moment, bounded.
    const now = performance.now();
    for (const [k, v] of this.early)
      if (now - v.at > this.opts.earlyMs || this.early.size >= this.opts.maxEarly) {
        this.early.delete(k);
        this.stats.unexpected++;
      }
    this.early.set(key, { buf, from, at: now });
  }

  /** @param {Entry} e @param {ArrayBuffer} buf @param {string} from */
  async verify(e, buf, from) {
    const h = await sha256(buf);
    if (e.buf || !this.waiting.has(e.key)) return;
    if (h !== e.digest) {
      e.checking = 0;
      this.bad(from, e);
      // The supplier is reported for the bad copy: fetched from the edge now, not reported late as well.
      if (!e.fetched) this.fetchNow(e);
      return;
    }
    this.fill(e, buf, /** @type {ChunkFrame} */ (decodeFrame(buf)), from);
  }

  /** @param {string} from @param {Entry | null} e @param {string} [key] the chunk's, when no entry waits for it */
  bad(from, e, key) {
    this.stats.badChunks++;
    this.note('bad', `${e?.key ?? key ?? '?'} from ${from}`);
    const [r, pos] = (e?.key ?? key ?? 'x:0.0').split(':');
    const [s, c] = (pos ?? '0.0').split('.').map(Number);
    this.send({ type: 'p2p-bad', peer: from, r, s, c });
    const link = this.links.get(`up:${from}`);
    if (link) this.closeLink(link);
  }

  /** Sends a chunk on to this page's receivers of its stripe. @param {ArrayBuffer} buf @param {ChunkFrame} f */
  forward(buf, f) {
    if (!this.on) return;
    const stripe = stripeOf(f.segment, f.chunk);
    for (const l of this.links.values()) {
      if (l.dir !== 'down' || !l.stripes.has(stripe) || !l.open || !l.dc) continue;
      if (l.dc.bufferedAmount > this.opts.maxChannelBuffer) continue;
      const max = l.pc.sctp?.maxMessageSize ?? 65536;
      if (buf.byteLength > max) continue;
      try {
        l.dc.send(buf);
        this.stats.chunksForwarded++;
        this.stats.bytesForwarded += buf.byteLength;
      } catch {
        // The channel closed under us: its receiver fetches from the edge.
      }
    }
  }

  // ---- links ----------------------------------------------------------------------------------

  /** @param {{ suppliers: Array<string | null>, receivers: Array<{ peer: string, stripe: number }> }} plan */
  setPlan(plan) {
    const before = this.plan;
    this.plan = plan;
    this.note(
      'plan',
      `suppliers ${plan.suppliers.map((x) => x ?? 'edge').join(',')}; receivers ${plan.receivers.map((r) => `${r.peer}/${r.stripe}`).join(',')}`,
    );
    for (let s = 0; s < STRIPES; s++)
      if (before.suppliers[s] && before.suppliers[s] !== plan.suppliers[s]) this.supplierLost(s);
    /** @type {Map<string, Set<number>>} */
    const wantUp = new Map();
    /** @type {Map<string, Set<number>>} */
    const wantDown = new Map();
    plan.suppliers.forEach((peer, stripe) => {
      if (peer) wantUp.set(peer, (wantUp.get(peer) ?? new Set()).add(stripe));
    });
    for (const r of plan.receivers) wantDown.set(r.peer, (wantDown.get(r.peer) ?? new Set()).add(r.stripe));
    for (const l of [...this.links.values()]) {
      const stripes = (l.dir === 'up' ? wantUp : wantDown).get(l.peer);
      if (!stripes) {
        this.closeLink(l);
        continue;
      }
      const gained = [...stripes].some((x) => !l.stripes.has(x));
      l.stripes = stripes;
      // An open link from a supplier now carrying one more stripe: the edge waits to hear it is open.
      if (gained && l.open && l.dir === 'up') this.send({ type: 'p2p-link', peer: l.peer, open: true });
    }
    for (const [peer, stripes] of wantDown) if (!this.links.has(`down:${peer}`)) this.offer(peer, stripes);
  }

  /** @param {'up' | 'down'} dir @param {string} peer @param {Set<number>} stripes */
  newLink(dir, peer, stripes) {
    const pc = new RTCPeerConnection({ iceServers: this.iceServers });
    /** @type {Link} */
    const link = {
      peer,
      dir,
      stripes,
      pc,
      dc: null,
      open: false,
      chain: Promise.resolve(),
      openTimer: undefined,
    };
    this.links.set(`${dir}:${peer}`, link);
    link.openTimer = setTimeout(() => this.linkTimedOut(link), this.opts.linkOpenMs);
    pc.onicecandidate = (ev) => {
      const c = ev.candidate;
      if (!c || !c.candidate) return;
      this.step(link, () =>
        Promise.resolve(
          this.send({
            type: 'p2p-signal',
            to: peer,
            data: {
              candidate: c.candidate,
              sdpMid: c.sdpMid,
              sdpMLineIndex: c.sdpMLineIndex,
              from: dir === 'down' ? 'supplier' : 'receiver',
            },
          }),
        ),
      );
    };
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === 'failed' || pc.connectionState === 'closed') this.closeLink(link);
    };
    return link;
  }

  /** Runs a signalling step of the link after the ones before it. @param {Link} link @param {() => Promise<void>} fn */
  step(link, fn) {
    link.chain = link.chain.then(fn).catch((err) => {
      if (this.links.get(`${link.dir}:${link.peer}`) === link)
        console.warn('tiercast: P2P signalling failed', err);
    });
  }

  /** @param {Link} link @param {RTCDataChannel} dc */
  useChannel(link, dc) {
    dc.binaryType = 'arraybuffer';
    link.dc = dc;
    dc.onopen = () => {
      clearTimeout(link.openTimer);
      link.open = true;
      this.note('link open', `${link.dir} ${link.peer}`);
      if (link.dir === 'up') this.send({ type: 'p2p-link', peer: link.peer, open: true });
    };
    dc.onclose = () => this.closeLink(link);
    if (link.dir === 'up')
      dc.onmessage = (ev) => {
        if (ev.data instanceof ArrayBuffer) this.fromPeer(ev.data, link.peer);
      };
  }

  /**
   * A link still not open after linkOpenMs: closed (a receiver fetches what it owed from the edge), and begun
   * again by its supplier while the plan still wants it (the receiver takes the new offer).
   * @param {Link} link
   */
  linkTimedOut(link) {
    if (link.open || this.links.get(`${link.dir}:${link.peer}`) !== link) return;
    this.note('link timeout', `${link.dir} ${link.peer} not open after ${this.opts.linkOpenMs} ms`);
    this.closeLink(link);
    if (link.dir !== 'down') return;
    const stripes = new Set(this.plan.receivers.flatMap((r) => (r.peer === link.peer ? [r.stripe] : [])));
    if (stripes.size > 0) this.offer(link.peer, stripes);
  }

  /** @param {Link} link */
  closeLink(link) {
    const key = `${link.dir}:${link.peer}`;
    if (this.links.get(key) !== link) return;
    clearTimeout(link.openTimer);
    this.links.delete(key);
    this.note('link closed', `${link.dir} ${link.peer}${link.open ? '' : ' (never opened)'}`);
    if (link.open && link.dir === 'up') this.send({ type: 'p2p-link', peer: link.peer, open: false });
    if (link.dir === 'up') for (const stripe of link.stripes) this.supplierLost(stripe);
    link.open = false;
    try {
      link.dc?.close();
      link.pc.close();
    } catch {
      // already closed
    }
  }

  /** This page supplies `peer`: it makes the offer. @param {string} peer @param {Set<number>} stripes */
  offer(peer, stripes) {
    const link = this.newLink('down', peer, stripes);
    this.useChannel(link, link.pc.createDataChannel('media', { ordered: this.opts.ordered }));
    this.step(link, async () => {
      await link.pc.setLocalDescription(await link.pc.createOffer());
      const sdp = link.pc.localDescription?.sdp;
      if (sdp && this.links.get(`down:${peer}`) === link)
        this.send({ type: 'p2p-signal', to: peer, data: { kind: 'offer', sdp } });
    });
  }

  /** @param {string} from @param {Record<string, unknown> | null} data */
  onSignal(from, data) {
    if (!data) return;
    const sdp = typeof data.sdp === 'string' ? data.sdp : null;
    if (data.kind === 'offer' && sdp) {
      const stripes = new Set(this.plan.suppliers.flatMap((peer, stripe) => (peer === from ? [stripe] : [])));
      if (stripes.size === 0) return;
      const old = this.links.get(`up:${from}`);
      if (old) this.closeLink(old);
      const link = this.newLink('up', from, stripes);
      link.pc.ondatachannel = (ev) => this.useChannel(link, ev.channel);
      this.step(link, async () => {
        await link.pc.setRemoteDescription({ type: 'offer', sdp });
        await link.pc.setLocalDescription(await link.pc.createAnswer());
        const answer = link.pc.localDescription?.sdp;
        if (answer) this.send({ type: 'p2p-signal', to: from, data: { kind: 'answer', sdp: answer } });
      });
    } else if (data.kind === 'answer' && sdp) {
      const link = this.links.get(`down:${from}`);
      if (link) this.step(link, () => link.pc.setRemoteDescription({ type: 'answer', sdp }));
    } else if (typeof data.candidate === 'string') {
      // The sender's role in the link says which of ours it is.
      const link = this.links.get(`${data.from === 'supplier' ? 'up' : 'down'}:${from}`);
      const init = {
        candidate: data.candidate,
        sdpMid: typeof data.sdpMid === 'string' ? data.sdpMid : null,
        sdpMLineIndex: typeof data.sdpMLineIndex === 'number' ? data.sdpMLineIndex : null,
      };
      if (link) this.step(link, () => link.pc.addIceCandidate(init));
    }
  }

  /** Peer deliveries after their digest, over the last 512: p50, p95 and max (ms); null before any. */
  lagSummary() {
    const n = Math.min(this.lagAt, this.lags.length);
    if (n === 0) return null;
    const v = [...this.lags.subarray(0, n)].sort((a, b) => a - b);
    const q = (/** @type {number} */ p) => Math.round(v[Math.min(n - 1, Math.floor((p / 100) * n))] ?? 0);
    return { p50: q(50), p95: q(95), max: Math.round(v[n - 1] ?? 0) };
  }

  /** What delivery waits for: per kind, the queue's length and its head (key, ms waited, fetched). */
  waitingState() {
    /** @type {Record<string, { queued: number, head: string | null, waitedMs: number, fetched: boolean }>} */
    const out = {};
    const now = performance.now();
    for (const [kind, q] of this.queues) {
      const h = q[0];
      out[kind] = {
        queued: q.length,
        head: h ? h.key : null,
        waitedMs: h && !h.buf ? Math.round(now - h.since) : 0,
        fetched: !!h?.fetched,
      };
    }
    return out;
  }

  /** Links open now, by direction (the stats read it). */
  linkCounts() {
    let up = 0;
    let down = 0;
    for (const l of this.links.values()) {
      if (!l.open) continue;
      if (l.dir === 'up') up++;
      else down++;
    }
    return { up, down };
  }
}
