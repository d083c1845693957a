/**
 * Viewers per stream at this edge: WebSocket viewers are counted exactly; HTTP (dash.js) viewers are
 * estimated as distinct client addresses that fetched a segment in the last `windowMs`.
 */
export class ViewerCounter {
  private readonly ws = new Map<string, number>();
  private readonly http = new Map<string, Map<string, number>>();

  constructor(private readonly windowMs = 10_000) {}

  wsJoin(stream: string): void {
    this.ws.set(stream, (this.ws.get(stream) ?? 0) + 1);
  }

  wsLeave(stream: string): void {
    const n = (this.ws.get(stream) ?? 1) - 1;
    if (n <= 0) this.ws.delete(stream);
    else this.ws.set(stream, n);
  }

  httpSeen(stream: string, client: string, now = Date.now()): void {
    let m = this.http.get(stream);
    if (!m) {
      m = new Map<string, number>();
      this.http.set(stream, m);
    }
    m.set(client, now);
  }

  /** Viewers of every stream at this edge. */
  total(now = Date.now()): number {
    let n = 0;
    for (const stream of new Set([...this.ws.keys(), ...this.http.keys()])) n += this.count(stream, now);
    return n;
  }

  count(stream: string, now = Date.now()): number {
    let n = this.ws.get(stream) ?? 0;
    const m = this.http.get(stream);
    if (m) {
      for (const [client, seen] of m) {
        if (now - seen > this.windowMs) m.delete(client);
        else n++;
      }
      if (m.size === 0) this.http.delete(stream);
    }
    return n;
  }
}
