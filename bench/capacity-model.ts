/**
 * Capacity on paper (issue 14): the tree that carries one ingress to a million viewers of one stream, computed
 * from the per-node figures the bench measured. The figures are read from docs/benchmarks.md (its results
 * table and section notes), so a new bench run changes the answer when this is rerun; what the bench did not
 * measure is an assumption, listed as such in the output. Pure model functions below, the CLI at the end.
 *
 *   node --import tsx bench/capacity-model.ts            print the generated section
 *   node --import tsx bench/capacity-model.ts --write    replace it in docs/capacity.md (between the markers)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { clusterServerSchema, transcodeSchema } from '../src/common/config/schema.js';
import {
  BENCH_DOC,
  readMeasuredFigures,
  type MeasuredFigures,
  type TransportFigures,
} from './lib/capacity-inputs.js';
import { renderCapacity, type CapacityPlans } from './lib/capacity-report.js';

// ---------------------------------------------------------------------------------------------------------
// Assumptions: what the bench did not measure

export interface Rung {
  id: string;
  videoKbps: number;
  /** Fraction of viewers watching this rung. */
  share: number;
}

export interface StreamShape {
  rungs: Rung[];
  audioKbps: number;
  /** Bytes on the wire ÷ nominal bitrate (CMAF boxes, frame headers, the encoder's own error). */
  wireOverhead: number;
  chunkMs: number;
}

export interface Machine {
  name: string;
  cores: number;
  /** Cores kept for the OS, the NIC's interrupts, the exporter: not given to a Node process. */
  reservedCores: number;
  nicGbps: number;
  ramGiB: number;
}

// ---------------------------------------------------------------------------------------------------------
// Pure model

function positive(x: number, what: string): void {
  if (!Number.isFinite(x) || x <= 0) throw new RangeError(`${what} must be a positive number (got ${x})`);
}

/** Bit/s one viewer of each rung receives: its video plus the audio track, with the wire overhead. */
export function viewerBitrates(s: StreamShape): { id: string; bps: number; share: number }[] {
  positive(s.wireOverhead, 'wire overhead');
  return s.rungs.map((r) => ({
    id: r.id,
    bps: (r.videoKbps + s.audioKbps) * 1000 * s.wireOverhead,
    share: r.share,
  }));
}

/** Mean bit/s per viewer over the viewer mix; the shares must add up to 1. */
export function meanViewerBitrate(s: StreamShape): number {
  if (s.rungs.length === 0) throw new RangeError('the stream needs at least one rung');
  if (s.rungs.some((r) => r.share < 0)) throw new RangeError('a rung share cannot be negative');
  const total = s.rungs.reduce((a, r) => a + r.share, 0);
  if (Math.abs(total - 1) > 1e-6) throw new RangeError(`viewer shares must add up to 1 (got ${total})`);
  return viewerBitrates(s).reduce((a, v) => a + v.bps * v.share, 0);
}

/** Bit/s of the whole stream (every rung and the audio): what a relay or an edge takes from its parent. */
export function streamBitrate(s: StreamShape): number {
  positive(s.wireOverhead, 'wire overhead');
  return (s.rungs.reduce((a, r) => a + r.videoKbps, 0) + s.audioKbps) * 1000 * s.wireOverhead;
}

export interface DeliveryCost {
  bytesPerCpuSecond: number;
  measuredViewerBitrate: number;
}

/**
 * CPU-seconds per second one receiver costs its sender at `bps`. Scaled by bytes above the bitrate measured;
 * below it, the measured cost stands: every rung sends the same chunks per second, and the per-send cost (one
 * `writev` per chunk) does not shrink with the chunk, so a cheaper rung is not assumed cheaper to send.
 */
export function cpuPerReceiver(bps: number, c: DeliveryCost): number {
  positive(c.bytesPerCpuSecond, 'bytes per CPU-second');
  return Math.max(bps, c.measuredViewerBitrate) / 8 / c.bytesPerCpuSecond;
}

/**
 * A node's limit, in its resource's own units: `available` of it, `fixed` already used, `perUnit` per viewer or
 * child. A `cap` (a config limit, or the range the bench covered) is not scaled by the headroom.
 */
export interface Limit {
  name: string;
  kind: 'resource' | 'cap';
  available: number;
  fixed: number;
  perUnit: number;
}

/** Receivers a limit allows when the resource runs at `headroom` of what it has. */
export function usable(l: Limit, headroom: number): number {
  const room = l.kind === 'resource' ? l.available * headroom - l.fixed : l.available - l.fixed;
  return Math.max(0, Math.floor(room / l.perUnit + 1e-9));
}

/** Fraction of the resource used with `load` receivers (1 = all of it, not of the headroom). */
export function utilisation(l: Limit, load: number): number {
  return (l.fixed + load * l.perUnit) / l.available;
}

export interface NodeCapacity {
  limits: Limit[];
  binding: Limit;
  capacity: number;
}

/** The smallest limit binds; a node that can take no receiver at all is refused, naming the limit. */
export function bindingLimit(node: string, limits: Limit[], headroom: number): NodeCapacity {
  if (!(headroom > 0 && headroom <= 1)) throw new RangeError(`headroom must be in (0, 1] (got ${headroom})`);
  if (limits.length === 0) throw new RangeError(`${node}: no limit given`);
  let binding = limits[0]!;
  for (const l of limits) if (usable(l, headroom) < usable(binding, headroom)) binding = l;
  const capacity = usable(binding, headroom);
  if (capacity < 1)
    throw new RangeError(`${node}: ${binding.name} leaves room for no receiver at this headroom`);
  return { limits, binding, capacity };
}

export interface EdgeInputs {
  delivery: DeliveryCost;
  largestCleanN: number;
  rssPerViewerBytes: number;
  baseRssBytes: number;
}

/**
 * One edge machine: one single-threaded edge process per core not reserved; viewers sent `viewerBps` each on
 * average. `cpuBps` prices their CPU, when it differs (with P2P the edge sends less but not fewer times).
 */
export function edgeLimits(m: Machine, e: EdgeInputs, viewerBps: number, cpuBps = viewerBps): Limit[] {
  const processes = m.cores - m.reservedCores;
  if (!Number.isInteger(processes) || processes < 1) {
    throw new RangeError(
      `${m.name}: ${m.cores} cores with ${m.reservedCores} reserved leave no core for an edge`,
    );
  }
  return [
    {
      name: 'CPU',
      kind: 'resource',
      available: processes,
      fixed: 0,
      perUnit: cpuPerReceiver(cpuBps, e.delivery),
    },
    { name: 'NIC', kind: 'resource', available: m.nicGbps * 1e9, fixed: 0, perUnit: viewerBps },
    {
      name: 'memory',
      kind: 'resource',
      available: m.ramGiB * 2 ** 30,
      fixed: processes * e.baseRssBytes,
      perUnit: e.rssPerViewerBytes,
    },
    {
      name: 'range measured per process',
      kind: 'cap',
      available: processes * e.largestCleanN,
      fixed: 0,
      perUnit: 1,
    },
  ];
}

/**
 * A relay (or the ingress) sends the whole stream to each child from one Node process, so one core. The cost
 * of a send to a child is taken to be the edge's cost of a send to a viewer (same uWS send of one buffer):
 * children per relay were not measured. `nodeCpu` and `machineCpu` are what the ingress spends before it
 * sends anything (its own process, and its ffmpeg on the machine's other cores).
 */
export function relayLimits(
  m: Machine,
  streamBps: number,
  delivery: DeliveryCost,
  maxChildren: number,
  busy: { nodeCpu: number; machineCpu: number } = { nodeCpu: 0, machineCpu: 0 },
): Limit[] {
  const perChild = cpuPerReceiver(streamBps, delivery);
  const limits: Limit[] = [
    { name: 'CPU', kind: 'resource', available: 1, fixed: busy.nodeCpu, perUnit: perChild },
    { name: 'NIC', kind: 'resource', available: m.nicGbps * 1e9, fixed: 0, perUnit: streamBps },
    { name: 'maxChildren', kind: 'cap', available: maxChildren, fixed: 0, perUnit: 1 },
  ];
  if (busy.machineCpu > 0) {
    const cores = m.cores - m.reservedCores;
    limits.push({
      name: 'CPU (machine)',
      kind: 'resource',
      available: cores,
      fixed: busy.machineCpu,
      perUnit: perChild,
    });
  }
  return limits;
}

/** Edges for `viewers` at `viewersPerEdge` each. */
export function edgesNeeded(viewers: number, viewersPerEdge: number): number {
  if (!Number.isInteger(viewers) || viewers < 1)
    throw new RangeError(`viewers must be a whole number ≥ 1 (got ${viewers})`);
  if (!Number.isInteger(viewersPerEdge) || viewersPerEdge < 1) {
    throw new RangeError(`viewers per edge must be a whole number ≥ 1 (got ${viewersPerEdge})`);
  }
  return Math.ceil(viewers / viewersPerEdge);
}

export interface RelayTier {
  /** Relays in this tier. */
  nodes: number;
  /** Children of the whole tier (relays of the tier below, or the edges). */
  children: number;
  /** Children of the busiest relay (children spread evenly). */
  maxChildrenPerNode: number;
}

/**
 * Relay tiers between the ingress and `edges`, top tier first: as few as the fan-outs allow. Empty when the
 * ingress can take every edge itself. A relay fan-out below 2 is refused: a tier of one-child relays adds a
 * hop and reaches no further.
 */
export function relayTiers(edges: number, ingressFanout: number, relayFanout: number): RelayTier[] {
  if (!Number.isInteger(edges) || edges < 1)
    throw new RangeError(`edges must be a whole number ≥ 1 (got ${edges})`);
  if (!Number.isInteger(ingressFanout) || ingressFanout < 1) {
    throw new RangeError(`ingress fan-out must be a whole number ≥ 1 (got ${ingressFanout})`);
  }
  if (!Number.isInteger(relayFanout) || relayFanout < 2) {
    throw new RangeError(
      `relay fan-out must be a whole number ≥ 2 (got ${relayFanout}): with one child a relay adds a tier and no reach`,
    );
  }
  const tiers: RelayTier[] = [];
  let below = edges;
  while (below > ingressFanout) {
    const nodes = Math.ceil(below / relayFanout);
    tiers.unshift({ nodes, children: below, maxChildrenPerNode: Math.ceil(below / nodes) });
    below = nodes;
  }
  return tiers;
}

export interface TierLoad {
  tier: string;
  nodes: number;
  /** Children or viewers of the busiest node. */
  receiversPerNode: number;
  inPerNodeBps: number;
  outPerNodeBps: number;
  outTotalBps: number;
}

/** What each tier takes in and sends, from the ingress down to the viewers. */
export function bandwidthPerTier(
  tiers: RelayTier[],
  edges: number,
  viewers: number,
  streamBps: number,
  edgeViewerBps: number,
): TierLoad[] {
  const ingressChildren = tiers[0]?.nodes ?? edges;
  const out: TierLoad[] = [
    {
      tier: 'ingress',
      nodes: 1,
      receiversPerNode: ingressChildren,
      inPerNodeBps: Number.NaN, // the publisher's own feed, not part of the ladder
      outPerNodeBps: ingressChildren * streamBps,
      outTotalBps: ingressChildren * streamBps,
    },
  ];
  tiers.forEach((t, i) =>
    out.push({
      tier: `relay tier ${i + 1}`,
      nodes: t.nodes,
      receiversPerNode: t.maxChildrenPerNode,
      inPerNodeBps: streamBps,
      outPerNodeBps: t.maxChildrenPerNode * streamBps,
      outTotalBps: t.children * streamBps,
    }),
  );
  const perEdge = Math.ceil(viewers / edges);
  out.push({
    tier: 'edges',
    nodes: edges,
    receiversPerNode: perEdge,
    inPerNodeBps: streamBps,
    outPerNodeBps: perEdge * edgeViewerBps,
    outTotalBps: viewers * edgeViewerBps,
  });
  return out;
}

/** Latency the relay tiers add: the measured per-tier figure times the tiers (p99s summed: an upper bound). */
export function addedLatency(
  tiers: number,
  perTier: { p50Ms: number; p99Ms: number },
): { p50Ms: number; p99Ms: number } {
  if (!Number.isInteger(tiers) || tiers < 0)
    throw new RangeError(`tiers must be a whole number ≥ 0 (got ${tiers})`);
  return { p50Ms: tiers * perTier.p50Ms, p99Ms: tiers * perTier.p99Ms };
}

/**
 * A model estimate, not a measurement: a node sends one chunk to its receivers one after the other, so the
 * last gets it this many ms after the first (receivers × bytes each ÷ bytes per CPU-second). The per-tier
 * latency above was measured with one child per relay.
 */
export function sendSpreadMs(receivers: number, bytesEach: number, bytesPerCpuSecond: number): number {
  positive(bytesPerCpuSecond, 'bytes per CPU-second');
  return ((receivers * bytesEach) / bytesPerCpuSecond) * 1000;
}

export interface TierUse {
  tier: string;
  limit: Limit;
  load: number;
  utilisation: number;
}

/**
 * The resource that runs out first if every node's load grows alike (a flash crowd before the tree grows):
 * the highest utilisation of a resource (CPU, NIC, memory) over every tier; caps are policy, not a failure.
 * Ties go to the earlier entry.
 */
export function firstBottleneck(uses: TierUse[]): TierUse {
  let worst: TierUse | undefined;
  for (const u of uses) {
    if (u.limit.kind !== 'resource') continue;
    if (!worst || u.utilisation > worst.utilisation) worst = u;
  }
  if (!worst) throw new RangeError('no resource limit to compare');
  return worst;
}

// ---------------------------------------------------------------------------------------------------------
// One plan: a machine type for every node, one viewer transport

export interface ModelInputs {
  figures: MeasuredFigures;
  stream: StreamShape;
  viewers: number;
  headroom: number;
  maxChildren: number;
}

export type TransportName = 'ws' | 'llDash' | 'llHls';

export interface Plan {
  machine: Machine;
  transport: TransportName;
  edgeUploadFactor: number;
  streamBps: number;
  edgeViewerBps: number;
  edge: NodeCapacity;
  relay: NodeCapacity;
  ingress: NodeCapacity;
  edges: number;
  tiers: RelayTier[];
  loads: TierLoad[];
  latency: { p50Ms: number; p99Ms: number };
  spreadMs: { relay: number; edge: number };
  uses: TierUse[];
  first: TierUse;
}

export function deliveryCost(t: TransportFigures): DeliveryCost {
  return {
    bytesPerCpuSecond: t.bytesPerCpuSecond.value,
    measuredViewerBitrate: t.measuredViewerBitrate.value,
  };
}

/**
 * The tree for `inputs.viewers` on `machine`s. `edgeUploadFactor` < 1 models P2P: the edge sends that share of
 * the media (its CPU per viewer is kept: the edge still sends digests and a stripe per chunk, not measured).
 */
export function planTree(
  inputs: ModelInputs,
  machine: Machine,
  transport: TransportName = 'ws',
  edgeUploadFactor = 1,
): Plan {
  const f = inputs.figures;
  const streamBps = streamBitrate(inputs.stream);
  const edgeViewerBps = meanViewerBitrate(inputs.stream) * edgeUploadFactor;
  const t = f[transport];
  const edgeIn: EdgeInputs = {
    delivery: deliveryCost(t),
    largestCleanN: t.largestCleanN.value,
    rssPerViewerBytes: f.rssPerViewerBytes.value,
    baseRssBytes: f.edgeBaseRssBytes.value,
  };
  // The CPU of a viewer is not P2P's to save (see above): priced at the full mix bitrate.
  const edgeL = edgeLimits(machine, edgeIn, edgeViewerBps, meanViewerBitrate(inputs.stream));
  const edge = bindingLimit(`edge (${machine.name})`, edgeL, inputs.headroom);
  // Relays and the ingress send over the inter-tier WebSocket, whatever the viewers use.
  const wsCost = deliveryCost(f.ws);
  const relay = bindingLimit(
    `relay (${machine.name})`,
    relayLimits(machine, streamBps, wsCost, inputs.maxChildren),
    inputs.headroom,
  );
  const ingress = bindingLimit(
    `ingress (${machine.name})`,
    relayLimits(machine, streamBps, wsCost, inputs.maxChildren, {
      nodeCpu: f.ingressNodeCpu.value,
      machineCpu: f.ingressCpuPerStream.value,
    }),
    inputs.headroom,
  );
  const edges = edgesNeeded(inputs.viewers, edge.capacity);
  const tiers = relayTiers(edges, ingress.capacity, relay.capacity);
  const loads = bandwidthPerTier(tiers, edges, inputs.viewers, streamBps, edgeViewerBps);
  const latency = addedLatency(tiers.length, { p50Ms: f.tierP50Ms.value, p99Ms: f.tierP99Ms.value });
  const chunkBytes = (bps: number) => (bps * inputs.stream.chunkMs) / 8000;
  const processes = machine.cores - machine.reservedCores;
  const spreadMs = {
    relay: sendSpreadMs(
      tiers[0] ? Math.max(...tiers.map((x) => x.maxChildrenPerNode)) : 0,
      chunkBytes(streamBps),
      wsCost.bytesPerCpuSecond,
    ),
    edge: sendSpreadMs(
      Math.ceil(loads.at(-1)!.receiversPerNode / processes),
      chunkBytes(edgeViewerBps),
      edgeIn.delivery.bytesPerCpuSecond,
    ),
  };
  const uses: TierUse[] = [];
  for (const load of loads) {
    const node = load.tier === 'edges' ? edge : load.tier === 'ingress' ? ingress : relay;
    for (const limit of node.limits) {
      uses.push({
        tier: load.tier,
        limit,
        load: load.receiversPerNode,
        utilisation: utilisation(limit, load.receiversPerNode),
      });
    }
  }
  return {
    machine,
    transport,
    edgeUploadFactor,
    streamBps,
    edgeViewerBps,
    edge,
    relay,
    ingress,
    edges,
    tiers,
    loads,
    latency,
    spreadMs,
    uses,
    first: firstBottleneck([...uses].reverse()),
  };
}

// ---------------------------------------------------------------------------------------------------------
// The assumptions of docs/capacity.md, and the CLI

export const MACHINES: Machine[] = [
  { name: '8 cores (1 for the OS), 10 Gbit/s, 32 GiB', cores: 8, reservedCores: 1, nicGbps: 10, ramGiB: 32 },
  { name: '8 cores (1 for the OS), 25 Gbit/s, 32 GiB', cores: 8, reservedCores: 1, nicGbps: 25, ramGiB: 32 },
  { name: '2 cores (1 for the OS), 10 Gbit/s, 24 GiB', cores: 2, reservedCores: 1, nicGbps: 10, ramGiB: 24 },
  { name: '2 cores (1 for the OS), 25 Gbit/s, 24 GiB', cores: 2, reservedCores: 1, nicGbps: 25, ramGiB: 24 },
];

/** The share of viewers per rung: an assumption (no audience data); the rungs are the config's defaults. */
export const VIEWER_SHARES: Record<string, number> = { v720: 0.5, v480: 0.3, v360: 0.2 };

/** What the WebSocket fan-out bench's viewers were sent (bench/fanout.ts: v720 with audio), nominal kbit/s. */
const FANOUT_VIEWER_NOMINAL_KBPS = 2500 + 128;

export function defaultInputs(figures: MeasuredFigures): ModelInputs {
  const t = transcodeSchema.parse({});
  const rungs = t.ladder
    .filter((r) => r.id in VIEWER_SHARES)
    .map((r) => ({ id: r.id, videoKbps: r.videoBitrateKbps, share: VIEWER_SHARES[r.id]! }));
  // Wire bytes ÷ nominal bitrate, from the fan-out step (never below 1).
  const wireOverhead = Math.max(
    1,
    figures.ws.measuredViewerBitrate.value / (FANOUT_VIEWER_NOMINAL_KBPS * 1000),
  );
  return {
    figures,
    stream: { rungs, audioKbps: t.audioBitrateKbps, wireOverhead, chunkMs: t.chunkDurationMs },
    viewers: 1_000_000,
    headroom: 0.7,
    maxChildren: clusterServerSchema.parse({}).maxChildren,
  };
}

export const BEGIN = '<!-- capacity:begin -->';
export const END = '<!-- capacity:end -->';

/** `doc` with the text between the markers replaced by `block`; throws if the markers are not there once. */
export function replaceBlock(doc: string, block: string): string {
  const b = doc.indexOf(BEGIN);
  const e = doc.indexOf(END);
  if (b < 0 || e < b || doc.indexOf(BEGIN, b + 1) >= 0) {
    throw new Error(`docs/capacity.md: expected one "${BEGIN}" … "${END}" pair`);
  }
  return `${doc.slice(0, b + BEGIN.length)}\n${block.trim()}\n${doc.slice(e)}`;
}

/** Every plan docs/capacity.md shows: the headline, the machines, the viewer transports, P2P at the edge. */
export function allPlans(inputs: ModelInputs): CapacityPlans {
  const [headline, ...others] = MACHINES.map((m) => planTree(inputs, m));
  const m = headline!.machine;
  return {
    inputs,
    rungs: viewerBitrates(inputs.stream),
    headline: headline!,
    machines: [headline!, ...others],
    // The viewer transports differ in CPU per viewer, which shows only where the NIC leaves room for it.
    transports: MACHINES.slice(0, 2).flatMap((machine) =>
      (['ws', 'llDash', 'llHls'] as const).map((t) => planTree(inputs, machine, t)),
    ),
    p2p: planTree(inputs, m, 'ws', 1 - inputs.figures.p2pOffload.value),
  };
}

async function main(argv: string[]): Promise<void> {
  const root = join(import.meta.dirname, '..');
  const figures = readMeasuredFigures(readFileSync(join(root, BENCH_DOC), 'utf8'));
  const block = renderCapacity(allPlans(defaultInputs(figures)));
  if (!argv.includes('--write')) {
    console.log(block);
    return;
  }
  const path = join(root, 'docs', 'capacity.md');
  // Formatted as `npm run lint` checks it (prettier --check .), so a rerun leaves nothing to fix by hand.
  const prettier = await import('prettier');
  const options = (await prettier.resolveConfig(path)) ?? {};
  const text = await prettier.format(replaceBlock(readFileSync(path, 'utf8'), block), {
    ...options,
    filepath: path,
  });
  writeFileSync(path, text);
  console.log(`docs/capacity.md: generated block replaced (${block.split('\n').length} lines)`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}
