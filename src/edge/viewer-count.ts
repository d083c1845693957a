/**
 * Viewers per stream at this edge: WebSocket viewers are counted exactly; HTTP viewers (dash.js, hls.js, a
 * native HLS player) are estimated as distinct client addresses that fetched a manifest, playlist or segment
 * in the last `windowMs`, each under the transport its last manifest or playlist named.
 *
 * For analytics (issue 16) the counter also keeps, per stream, the client addresses that began watching since
 * the last report (`drainJoined`): the report turns them into day-salted hashes (audience-report.ts), so no
 * address leaves the edge.
 */
import type { AudienceTransport } from '../common/protocol/index.js';

/** Addresses kept per stream between two reports; more are dropped (the hub counts uniques approximately then). */
const MAX_JOINED_PER_STREAM = 10_000;

interface HttpClient {
  seen: number;
  transport: AudienceTransport;
}

export class ViewerCounter {
  /** stream → transport → WebSocket viewers */
  private readonly ws = new Map<string, number>();
  private readonly http = new Map<string, Map<string, HttpClient>>();
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

  /**
   * An HTTP request of a viewer. `transport` when the request says which player it is (a DASH manifest, an
   * HLS playlist); a segment keeps what the client's manifest said (`http` if it never fetched one here).
   */
  httpSeen(stream: string, client: string, transport?: AudienceTransport, now = Date.now()): void {
    let m = this.http.get(stream);
    if (!m) {
      m = new Map<string, HttpClient>();
      this.http.set(stream, m);
    }
    const known = m.get(client);
    if (known && now - known.seen <= this.windowMs) {
      known.seen = now;
      if (transport) known.transport = transport;
      return;
    }
    m.set(client, { seen: now, transport: transport ?? known?.transport ?? 'http' });
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
