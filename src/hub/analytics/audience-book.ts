/**
 * What the edges last said of their audience (issue 16): per edge and stream, viewers by transport, and the
 * viewer keys that arrived since the recorder last took them. A stream an edge has not mentioned for
 * `staleMs` has no viewers there (an edge reports every 2 s, and names only streams with viewers).
 */
import type { EdgeToHub } from '../../common/protocol/index.js';
import { HyperLogLog } from './hyperloglog.js';

type AudienceMessage = Extract<EdgeToHub, { t: 'audience' }>;

interface EdgeAudience {
  region: string;
  streams: Map<string, { transports: Record<string, number>; at: number }>;
}

export interface AudienceRow {
  edge: string;
  region: string;
  transport: string;
  viewers: number;
}

export class AudienceBook {
  private readonly edges = new Map<string, EdgeAudience>();
  /** Per stream, the viewers who joined since the last take: a sketch, 4 KiB however many (hyperloglog.ts). */
  private readonly pending = new Map<string, HyperLogLog>();

  constructor(
    private readonly staleMs = 6000,
    private readonly now: () => number = Date.now,
  ) {}

  report(edge: string, m: AudienceMessage): void {
    let e = this.edges.get(edge);
    if (!e) {
      e = { region: m.region, streams: new Map() };
      this.edges.set(edge, e);
    }
    e.region = m.region;
    const at = this.now();
    for (const [stream, s] of Object.entries(m.streams)) {
      const transports: Record<string, number> = {};
      for (const [t, n] of Object.entries(s.transports)) if (n !== undefined && n > 0) transports[t] = n;
      e.streams.set(stream, { transports, at });
      if (s.joined.length === 0) continue;
      let keys = this.pending.get(stream);
      if (!keys) {
        keys = new HyperLogLog();
        this.pending.set(stream, keys);
      }
      for (const k of s.joined) keys.add(k);
    }
  }

  dropEdge(edge: string): void {
    this.edges.delete(edge);
  }

  /** One stream's viewers now, per edge and transport (rows with viewers only). */
  rows(stream: string): AudienceRow[] {
    const now = this.now();
    const out: AudienceRow[] = [];
    for (const [edge, e] of this.edges) {
      const s = e.streams.get(stream);
      if (!s) continue;
      if (now - s.at > this.staleMs) {
        e.streams.delete(stream);
        continue;
      }
      for (const [transport, viewers] of Object.entries(s.transports))
        out.push({ edge, region: e.region, transport, viewers });
    }
    return out;
  }

  /** The viewers of a stream who joined since the last call, as a sketch (undefined: none). */
  takeKeys(stream: string): HyperLogLog | undefined {
    const keys = this.pending.get(stream);
    this.pending.delete(stream);
    return keys;
  }

  /** Drops pending keys of streams no longer live (they would otherwise wait for a live that never comes). */
  keepKeysOf(live: ReadonlySet<string>): void {
    for (const stream of [...this.pending.keys()]) if (!live.has(stream)) this.pending.delete(stream);
  }
}
