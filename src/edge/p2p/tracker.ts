/**
 * Service: the edge as tracker for peer-assisted delivery (issue 13, seed 003). Viewers of one stream, video
 * rendition and region on this edge form a swarm; the tracker plans who supplies whom (swarm-plan.ts), relays
 * WebRTC signalling between planned partners only, and decides per chunk whether the edge sends it or only
 * announces its digest (a peer carries it). It sends a chunk itself until the receiver has told it that the
 * planned supplier's data channel is open, and again as soon as the link or the supplier goes away; a chunk a
 * peer has not delivered by the deadline is fetched from the edge's cache (`p2p-fetch`).
 *
 * Trust: the edge is the only source of digests, so a peer cannot make another accept forged or replayed
 * media; a receiver that reports a digest mismatch loses that link at once, and a supplier reported by two
 * receivers (or by its only one) is taken out of P2P (it keeps watching from the edge). Peers know each other
 * by a random id, never by account or stream key; what they do learn is each other's IP address, which is why
 * P2P is off unless the operator enables it and the viewer has not switched it off.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import type { P2pConfig } from '../../common/config/index.js';
import type { Logger } from '../../common/logging/index.js';
import type { Metrics } from '../../common/metrics/index.js';
import type { CachedChunk } from '../../common/relay/rendition-cache.js';
import { createLogRateLimiter } from '../../common/logging/rate-limit.js';
import {
  STRIPES,
  homeForNewcomer,
  planSwarm,
  rebalanceHomes,
  removeMember,
  stripeOf,
  type MemberPlan,
} from './swarm-plan.js';
import type { P2pMessage } from './messages.js';

/** What the tracker needs of one viewer socket. */
export interface P2pViewer {
  readonly stream: string;
  readonly region: string;
  sendText(text: string): void;
  /** Sends one chunk of the stream from the edge's cache; its size in bytes, or 0 if it is gone. */
  sendCached(rendition: string, segment: number, chunk: number): number;
}

/** Missed deadlines (`p2p-miss`) blamed on one supplier within MISS_WINDOW_MS that make it a leaf. */
const MISS_LIMIT = 30;
const MISS_WINDOW_MS = 5000;

class Member {
  readonly id = randomBytes(6).toString('base64url');
  video: string | undefined;
  /** The viewer's switch (the page asks for P2P, or has it switched off). */
  wanted = false;
  /** Taken out by the edge (bad data): stays out for the life of the socket. */
  removed = false;
  swarm: Swarm | undefined;
  home = 0;
  lagging = false;
  plan: MemberPlan | undefined;
  /** Stripes whose planned supplier's data channel the viewer reported open: peers carry them. */
  readonly open = new Set<number>();
  tokens: number;
  refilledAt = Date.now();
  lastRefusalNote = 0;
  misses: number[] = [];
  readonly reportedBy = new Set<string>();

  constructor(
    readonly viewer: P2pViewer,
    burst: number,
  ) {
    this.tokens = burst;
  }
}

class Swarm {
  readonly members: Member[] = [];
  constructor(readonly key: string) {}
}

export class P2pTracker {
  private readonly members = new Map<string, Member>();
  private readonly swarms = new Map<string, Swarm>();
  /** The digest message of each chunk frame, made once per frame however many viewers it is announced to. */
  private readonly digests = new WeakMap<Buffer, string>();
  private readonly refusalLog;

  constructor(
    private readonly config: P2pConfig,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
  ) {
    this.refusalLog = createLogRateLimiter(logger, {
      maxPerWindow: 10,
      windowMs: 10_000,
      what: 'p2p refusals',
    });
  }

  /** Whether the operator allows P2P for this stream (edge-wide `p2p.enabled`, or listed in `p2p.streams`). */
  enabledFor(stream: string): boolean {
    return this.config.enabled || this.config.streams.includes(stream);
  }

  /** A viewer socket opened; it takes part once its page asks for P2P. Returns its id among peers. */
  add(viewer: P2pViewer): string {
    const m = new Member(viewer, this.config.messagesPerSecond * 2);
    this.members.set(m.id, m);
    return m.id;
  }

  remove(id: string): void {
    const m = this.members.get(id);
    if (!m) return;
    this.members.delete(id);
    this.leave(m);
  }

  /** The video rendition the viewer now receives (a quality switch moves it to that rendition's swarm). */
  setVideo(id: string, video: string | undefined): void {
    const m = this.members.get(id);
    if (!m || m.video === video) return;
    m.video = video;
    this.place(m);
  }

  /**
   * Whether a peer carries this chunk to the viewer; if so, the announcement the edge sends instead of it.
   * Counts the bytes by who carried them.
   */
  announcement(id: string, c: CachedChunk): string | undefined {
    const m = this.members.get(id);
    if (!m?.swarm) return undefined;
    if (!m.open.has(stripeOf(c.meta.segment, c.meta.chunk))) {
      this.metrics.p2pBytes.inc({ stream: m.viewer.stream, source: 'edge' }, c.frame.length);
      return undefined;
    }
    this.metrics.p2pBytes.inc({ stream: m.viewer.stream, source: 'peer' }, c.frame.length);
    return this.digestMessage(c);
  }

  private digestMessage(c: CachedChunk): string {
    let text = this.digests.get(c.frame);
    if (text === undefined) {
      const h = createHash('sha256').update(c.frame).digest('base64url');
      const { rendition, segment, chunk } = c.meta;
      text = JSON.stringify({ type: 'p2p-digest', r: rendition, s: segment, c: chunk, h });
      this.digests.set(c.frame, text);
    }
    return text;
  }

  /** One P2P message from a viewer (already validated against messages.ts). */
  handle(id: string, msg: P2pMessage): void {
    const m = this.members.get(id);
    if (!m) return;
    if (!this.takeToken(m)) {
      this.refuse(m, 'P2P_RATE_LIMITED', 'too many P2P messages; slow down');
      return;
    }
    switch (msg.type) {
      case 'p2p':
        m.wanted = msg.on;
        this.place(m);
        if (!msg.on || m.removed || !this.enabledFor(m.viewer.stream)) this.sendState(m);
        return;
      case 'p2p-signal': {
        const to = this.members.get(msg.to);
        if (!to || !m.swarm || to.swarm !== m.swarm || !partners(m, msg.to)) {
          this.refuse(m, 'P2P_NOT_YOUR_PEER', 'signalling is only relayed between planned partners');
          return;
        }
        to.viewer.sendText(JSON.stringify({ type: 'p2p-signal', from: m.id, data: msg.data }));
        return;
      }
      case 'p2p-link':
        this.onLink(m, msg.peer, msg.open);
        return;
      case 'p2p-fetch':
        this.onFetch(m, msg.r, msg.s, msg.c);
        return;
      case 'p2p-miss':
        this.onMiss(m, msg.s, msg.c);
        return;
      case 'p2p-bad':
        this.onBadData(m, msg.peer);
        return;
    }
  }

  private onLink(m: Member, peer: string, open: boolean): void {
    if (!m.plan) return;
    for (let s = 0; s < STRIPES; s++) {
      if (m.plan.suppliers[s] !== peer) continue;
      if (open) m.open.add(s);
      else m.open.delete(s);
    }
  }

  private onFetch(m: Member, rendition: string, segment: number, chunk: number): void {
    // Only a viewer the stream was described to gets media: it passed the access gate (a protected stream's
    // socket is held, without a video rendition, until it has). It may have left its swarm since (switched
    // off, or a quality switch) and still be owed announced chunks.
    if (m.video === undefined) {
      this.refuse(m, 'P2P_NOT_ADMITTED', 'nothing of this stream has been sent to this socket');
      return;
    }
    const bytes = m.viewer.sendCached(rendition, segment, chunk);
    if (bytes === 0) return;
    const stream = m.viewer.stream;
    this.metrics.p2pRefetches.inc({ stream });
    this.metrics.p2pBytes.inc({ stream, source: 'refetch' }, bytes);
  }

  /**
   * A receiver's planned supplier missed a chunk's deadline. A fetch alone blames nobody: a page whose player
   * is short of media fetches before the deadline, from a supplier that may still be in time.
   */
  private onMiss(m: Member, segment: number, chunk: number): void {
    // Only a member of a swarm has a supplier to blame: the planned supplier of that stripe, in its swarm.
    const supplierId = m.swarm ? m.plan?.suppliers[stripeOf(segment, chunk)] : undefined;
    const supplier = supplierId ? this.members.get(supplierId) : undefined;
    if (!supplier || supplier.swarm !== m.swarm) return;
    const stream = m.viewer.stream;
    this.metrics.p2pMisses.inc({ stream });
    // One that misses often becomes a leaf.
    if (supplier.lagging) return;
    const now = Date.now();
    supplier.misses = supplier.misses.filter((t) => now - t < MISS_WINDOW_MS);
    supplier.misses.push(now);
    if (supplier.misses.length >= MISS_LIMIT) {
      supplier.lagging = true;
      supplier.misses = [];
      this.logger.info(
        { stream, viewer: supplier.id, code: 'P2P_SUPPLIER_LATE' },
        'P2P supplier misses its deadlines: moved to the edge of its swarm',
      );
      this.metrics.p2pRemoved.inc({ stream, reason: 'late' });
      if (supplier.swarm) {
        // Inner nodes stay within one home group: the groups are counted again without it.
        while (rebalanceHomes(supplier.swarm.members));
        this.replan(supplier.swarm);
      }
    }
  }

  private onBadData(m: Member, peer: string): void {
    const stream = m.viewer.stream;
    this.metrics.p2pBadChunks.inc({ stream });
    const supplier = this.members.get(peer);
    if (!supplier || !m.plan?.suppliers.includes(peer)) return;
    // The link is dropped at once; the supplier is removed on two reports (or its only receiver's).
    this.onLink(m, peer, false);
    supplier.reportedBy.add(m.id);
    const receivers = supplier.plan?.receivers.length ?? 1;
    this.logger.warn(
      { stream, viewer: m.id, peer, code: 'P2P_BAD_DATA' },
      'a viewer received media from a peer that did not match its digest',
    );
    if (supplier.reportedBy.size >= Math.min(2, receivers)) {
      supplier.removed = true;
      this.metrics.p2pRemoved.inc({ stream, reason: 'bad_data' });
      this.logger.warn(
        { stream, viewer: supplier.id, reports: supplier.reportedBy.size, code: 'P2P_BAD_DATA' },
        'P2P supplier sent media that did not match its digests: removed from its swarm',
      );
      this.place(supplier);
      this.sendState(supplier, 'P2P_BAD_DATA: media from this page did not match; P2P is off for it');
    }
  }

  /** Puts a member in the swarm it belongs to now (or none), replanning the swarms it left and joined. */
  private place(m: Member): void {
    const stream = m.viewer.stream;
    const want =
      m.wanted && !m.removed && m.video !== undefined && this.enabledFor(stream)
        ? `${stream}|${m.video}|${m.viewer.region}`
        : undefined;
    if (m.swarm?.key === want) return;
    this.leave(m);
    if (!want) return;
    let swarm = this.swarms.get(want);
    if (!swarm) {
      swarm = new Swarm(want);
      this.swarms.set(want, swarm);
      this.metrics.p2pSwarms.inc({ stream });
    }
    m.home = homeForNewcomer(swarm.members);
    m.lagging = false;
    swarm.members.push(m);
    m.swarm = swarm;
    this.metrics.p2pMembers.inc({ stream });
    this.sendState(m);
    this.replan(swarm);
  }

  private leave(m: Member): void {
    const swarm = m.swarm;
    if (!swarm) return;
    const stream = m.viewer.stream;
    removeMember(swarm.members, m.id);
    m.swarm = undefined;
    m.open.clear();
    this.metrics.p2pMembers.dec({ stream });
    if (m.plan && this.members.has(m.id)) m.viewer.sendText(planMessage({ suppliers: [], receivers: [] }));
    m.plan = undefined;
    if (swarm.members.length === 0) {
      this.swarms.delete(swarm.key);
      this.metrics.p2pSwarms.dec({ stream });
      return;
    }
    this.replan(swarm);
  }

  /** Plans the swarm again, keeping what links it can, and tells every member whose links changed. */
  private replan(swarm: Swarm): void {
    const plans = planSwarm(
      swarm.members,
      this.config.fanout,
      (id, stripe) => this.members.get(id)?.plan?.suppliers[stripe],
    );
    for (const m of swarm.members) {
      const next = plans.get(m.id)!;
      const before = m.plan;
      if (before && samePlan(before, next)) continue;
      // A stripe whose supplier changed is the edge's until the receiver reports the new link open.
      for (let s = 0; s < STRIPES; s++) if (before?.suppliers[s] !== next.suppliers[s]) m.open.delete(s);
      m.plan = next;
      m.viewer.sendText(planMessage(next));
    }
  }

  private sendState(m: Member, reason?: string): void {
    if (m.swarm) {
      m.viewer.sendText(
        JSON.stringify({
          type: 'p2p',
          state: 'on',
          id: m.id,
          deadlineFrames: this.config.deadlineFrames,
          iceServers: this.iceServers(m.id),
        }),
      );
      return;
    }
    const why =
      reason ??
      (m.removed
        ? 'P2P_BAD_DATA: P2P is off for this page'
        : !this.enabledFor(m.viewer.stream)
          ? 'P2P_DISABLED: this edge does not use P2P for this stream'
          : 'switched off');
    m.viewer.sendText(JSON.stringify({ type: 'p2p', state: 'off', reason: why }));
  }

  /** STUN as configured; TURN with a credential for this viewer that expires (coturn's TURN REST scheme). */
  private iceServers(id: string): Array<{ urls: string[]; username?: string; credential?: string }> {
    const out: Array<{ urls: string[]; username?: string; credential?: string }> = [];
    if (this.config.stun.length) out.push({ urls: this.config.stun });
    const turn = this.config.turn;
    if (turn) {
      const username = `${Math.floor(Date.now() / 1000) + turn.ttlS}:${id}`;
      const credential = createHmac('sha1', turn.secret).update(username).digest('base64');
      out.push({ urls: turn.urls, username, credential });
    }
    return out;
  }

  private takeToken(m: Member): boolean {
    const now = Date.now();
    const rate = this.config.messagesPerSecond;
    m.tokens = Math.min(rate * 2, m.tokens + ((now - m.refilledAt) / 1000) * rate);
    m.refilledAt = now;
    if (m.tokens < 1) return false;
    m.tokens -= 1;
    return true;
  }

  private refuse(m: Member, code: string, message: string): void {
    this.metrics.p2pRefused.inc({ code });
    if (this.refusalLog.allow(`${m.id}:${code}`))
      this.logger.info({ stream: m.viewer.stream, viewer: m.id, code }, `P2P message refused: ${message}`);
    // One error a second at most: a flood is not answered with a flood.
    const now = Date.now();
    if (now - m.lastRefusalNote < 1000) return;
    m.lastRefusalNote = now;
    m.viewer.sendText(JSON.stringify({ type: 'error', code, message }));
  }

  /** For tests and the admin view: the members of a stream's swarms, by swarm key. */
  swarmsOf(stream: string): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const s of this.swarms.values())
      if (s.key.startsWith(`${stream}|`))
        out.set(
          s.key,
          s.members.map((m) => m.id),
        );
    return out;
  }
}

function partners(m: Member, other: string): boolean {
  const p = m.plan;
  return !!p && (p.suppliers.includes(other) || p.receivers.some((r) => r.peer === other));
}

function samePlan(a: MemberPlan, b: MemberPlan): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function planMessage(p: MemberPlan): string {
  return JSON.stringify({ type: 'p2p-plan', suppliers: p.suppliers, receivers: p.receivers });
}
