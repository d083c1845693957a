/**
 * Which edge a viewer should watch from (domain, no sockets): the viewer's region from their address (the
 * configured CIDR map first, then the optional GeoIP database, else this edge's own region), then the
 * edges of that region that have room, least loaded first (load ÷ capacity, from discovery); where that
 * region has no edge with room, edges of other regions with room. An edge at capacity is never offered.
 *
 * A viewer who reached an edge of their region that has room stays there (no redirect churn between
 * equally good edges); otherwise they are sent to the first edge of the ranking. The ranked list also
 * feeds the player's failover: when its edge dies it moves to the next one without a reload.
 */
import type { NodeInfo } from '../common/discovery/index.js';
import type { RegionMap } from './region-map.js';

/** An edge as a viewer sees it: where to reach it, and how full it is. */
export interface EdgeCandidate {
  id: string;
  region: string;
  /** http(s) base URL, no trailing slash. */
  url: string;
  load: number;
  capacity: number;
}

export interface RegionLookup {
  region(address: string): string | undefined;
}

export interface EdgeSelectorDeps {
  /** This edge, with its load now. */
  self: () => EdgeCandidate;
  /** The other edges known (discovery, static peers); may include this one (it is skipped by id). */
  others: () => EdgeCandidate[];
  regions: RegionMap;
  geoip?: RegionLookup | undefined;
}

export interface Ranking {
  /** The viewer's region as decided (CIDR map, GeoIP, or this edge's region). */
  region: string;
  /** Edges with room, best first: the viewer's region, then the rest. */
  edges: EdgeCandidate[];
}

export class EdgeSelector {
  constructor(private readonly deps: EdgeSelectorDeps) {}

  selfId(): string {
    return this.deps.self().id;
  }

  regionOf(address: string): string {
    return this.deps.regions.regionOf(address) ?? this.deps.geoip?.region(address) ?? this.deps.self().region;
  }

  rank(address: string): Ranking {
    const region = this.regionOf(address);
    const self = this.deps.self();
    const all = [self, ...this.deps.others().filter((e) => e.id !== self.id)];
    return { region, edges: rankEdges(region, all) };
  }

  /** Where to send a viewer entering here, or undefined to serve them here. */
  redirectFor(address: string): EdgeCandidate | undefined {
    const self = this.deps.self();
    const { region, edges } = this.rank(address);
    const best = edges[0];
    if (!best || best.id === self.id) return undefined;
    const selfHasRoom = edges.some((e) => e.id === self.id);
    if (selfHasRoom && self.region === region) return undefined;
    // Out of region with no edge of the region available: staying beats moving to another stranger.
    if (selfHasRoom && best.region !== region) return undefined;
    return best;
  }

  /** Whether this edge has no room for one more viewer. */
  atCapacity(): boolean {
    const self = this.deps.self();
    return self.load >= self.capacity;
  }
}

/** Edges with room, the viewer's region first, each group least loaded first (ties by id: stable). */
export function rankEdges(region: string, edges: readonly EdgeCandidate[]): EdgeCandidate[] {
  const withRoom = edges.filter((e) => e.load < e.capacity);
  const fill = (e: EdgeCandidate) => e.load / Math.max(1, e.capacity);
  return withRoom.sort(
    (a, b) =>
      Number(b.region === region) - Number(a.region === region) ||
      fill(a) - fill(b) ||
      (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
}

/** A discovered edge as a candidate: its public URL, or its own address over http(s). */
export function candidateFromNode(n: NodeInfo): EdgeCandidate {
  return {
    id: n.id,
    region: n.region,
    url: (n.publicUrl ?? n.wsUrl.replace(/^ws/, 'http')).replace(/\/+$/, ''),
    load: n.load,
    capacity: n.capacity,
  };
}
