/**
 * Viewers per stream at this edge: WebSocket viewers are counted exactly; HTTP viewers (dash.js, hls.js, a
 * native HLS player) are estimated as distinct client addresses that fetched a segment or part in the last
 * `windowMs` (a manifest alone is no viewer: edge selection counts viewers against `maxViewers`), each under
 * the transport its last manifest or playlist named (`httpLabel`).
 *
 * For analytics (issue 16) the counter also keeps, per stream, the client addresses that began watching since
 * the last report (`drainJoined`): the report turns them into day-salted hashes (audience-report.ts), so no
 * address leaves the edge.
 */
import type { AudienceTransport } from '../common/protocol/index.js';

/** Addresses kept per stream between two reports; more are dropped (the hub counts uniques approximately then). */
const MAX_JOINED_PER_STREAM = 10_000;

/** How long a manifest's label is kept for a client that has fetched no segment since. */
const LABEL_MS = 60_000;

interface HttpClient {
  seen: number;
  transport: AudienceTransport;
}

export class ViewerCounter {
  /** stream → transport → WebSocket viewers */
  private readonly ws = new Map<string, number>();
  private readonly http = new Map<string, Map<string, HttpClient>>();
  /** stream → client → the transport its last manifest or playlist named, and when */
  private readonly labels = new Map<string, Map<string, { transport: AudienceTransport; at: number }>>();
  private readonly joined = new Map<string, Set<string>>();

  constructor(private readonly windowMs = 10_000) {}

  wsJoin(stream: string, client?: string): void {
    this.ws.set(stream, (this.ws.get(stream) ?? 0) + 1);
    if (client !== undefined) this.noteJoin(stream, client);
  }

  wsLeave(stream: string): void {
    const n = (this.ws.get(stream) ?? 1) - 1;
    if (n <= 0) this.ws.delete(stream);
    else this.ws.set(stream, n);
  }

  /** A manifest or playlist request: says which player the client is (it becomes a viewer by its segments). */
  httpLabel(stream: string, client: string, transport: AudienceTransport, now = Date.now()): void {
    let m = this.labels.get(stream);
    if (!m) {
      m = new Map();
      this.labels.set(stream, m);
    }
    m.set(client, { transport, at: now });
    const known = this.http.get(stream)?.get(client);
    if (known) known.transport = transport;
  }

  /** A segment or part request: the client is a viewer, under the transport its manifest named (else `http`). */
  httpSeen(stream: string, client: string, now = Date.now()): void {
    let m = this.http.get(stream);
    if (!m) {
      m = new Map<string, HttpClient>();
      this.http.set(stream, m);
    }
    const known = m.get(client);
    if (known && now - known.seen <= this.windowMs) {
      known.seen = now;
      return;
    }
    m.set(client, { seen: now, transport: this.labels.get(stream)?.get(client)?.transport ?? 'http' });
    this.noteJoin(stream, client);
  }

  /** Viewers of every stream at this edge. */
  total(now = Date.now()): number {
    let n = 0;
    for (const stream of new Set([...this.ws.keys(), ...this.http.keys()])) n += this.count(stream, now);
    return n;
  }

  count(stream: string, now = Date.now()): number {
    let n = 0;
    for (const v of Object.values(this.byTransport(stream, now))) n += v;
    return n;
  }

  /** One stream's viewers by transport (only transports with viewers). */
  byTransport(stream: string, now = Date.now()): Partial<Record<AudienceTransport, number>> {
    const out: Partial<Record<AudienceTransport, number>> = {};
    const ws = this.ws.get(stream);
    if (ws) out.websocket = ws;
    const m = this.http.get(stream);
    if (m) {
      for (const [client, c] of m) {
        if (now - c.seen > this.windowMs) m.delete(client);
        else out[c.transport] = (out[c.transport] ?? 0) + 1;
      }
      if (m.size === 0) this.http.delete(stream);
    }
    // A label outlives its client's last request by a while (a DASH player fetches its manifest once).
    const labels = this.labels.get(stream);
    if (labels) {
      for (const [client, l] of labels)
        if (now - l.at > LABEL_MS && !this.http.get(stream)?.has(client)) labels.delete(client);
      if (labels.size === 0) this.labels.delete(stream);
    }
    return out;
  }

  /** Every stream with viewers or with viewers who joined since the last drain. */
  streams(): string[] {
    return [...new Set([...this.ws.keys(), ...this.http.keys(), ...this.joined.keys()])];
  }

  /** The client addresses that began watching each stream since the last call. */
  drainJoined(): Map<string, Set<string>> {
    const out = new Map(this.joined);
    this.joined.clear();
    return out;
  }

  private noteJoin(stream: string, client: string): void {
    let s = this.joined.get(stream);
    if (!s) {
      s = new Set<string>();
      this.joined.set(stream, s);
    }
    if (s.size < MAX_JOINED_PER_STREAM) s.add(client);
  }
}
