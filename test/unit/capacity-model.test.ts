import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  addedLatency,
  allPlans,
  bandwidthPerTier,
  bindingLimit,
  cpuPerReceiver,
  defaultInputs,
  edgeLimits,
  edgesNeeded,
  firstBottleneck,
  meanViewerBitrate,
  relayLimits,
  relayTiers,
  replaceBlock,
  sendSpreadMs,
  streamBitrate,
  type Limit,
  type Machine,
  type StreamShape,
} from '../../bench/capacity-model.js';
import { readMeasuredFigures } from '../../bench/lib/capacity-inputs.js';

// Round numbers so every expected value can be checked by hand.
const stream: StreamShape = {
  rungs: [
    { id: 'hi', videoKbps: 900, share: 0.5 },
    { id: 'lo', videoKbps: 400, share: 0.5 },
  ],
  audioKbps: 100,
  wireOverhead: 1,
  chunkMs: 200,
};
const box: Machine = { name: 'test box', cores: 4, reservedCores: 1, nicGbps: 1, ramGiB: 1 };

describe('capacity model: bitrates', () => {
  test('a viewer gets one rung plus audio; a relay gets every rung plus audio once', () => {
    assert.equal(meanViewerBitrate(stream), 0.5 * 1_000_000 + 0.5 * 500_000); // 750 kbit/s
    assert.equal(streamBitrate(stream), 1_400_000);
    assert.equal(streamBitrate({ ...stream, wireOverhead: 1.5 }), 2_100_000);
  });

  test('viewer shares that do not add up to 1 are refused', () => {
    const bad = { ...stream, rungs: [{ id: 'hi', videoKbps: 900, share: 0.6 }] };
    assert.throws(() => meanViewerBitrate(bad), /shares must add up to 1 \(got 0\.6\)/);
  });

  test('CPU per receiver scales with bytes above the measured bitrate, never below it', () => {
    const cost = { bytesPerCpuSecond: 1_000_000, measuredViewerBitrate: 800_000 };
    // 800 kbit/s = 100 kB/s at 1 MB per CPU-second: 0.1 of a core.
    assert.equal(cpuPerReceiver(400_000, cost), 0.1);
    assert.equal(cpuPerReceiver(1_600_000, cost), 0.2);
  });
});

describe('capacity model: the tree', () => {
  test('100 viewers at 10 per edge: 10 edges; an ingress fan-out of 10 takes them without a relay tier', () => {
    const edges = edgesNeeded(100, 10);
    assert.equal(edges, 10);
    assert.deepEqual(relayTiers(edges, 10, 10), []);
  });

  test('an ingress that takes fewer children than there are edges needs one relay tier', () => {
    assert.deepEqual(relayTiers(10, 2, 10), [{ nodes: 1, children: 10, maxChildrenPerNode: 10 }]);
  });

  test('1,000 edges, ingress fan-out 10, relay fan-out 10: two tiers of 10 and 100 relays', () => {
    assert.deepEqual(relayTiers(1000, 10, 10), [
      { nodes: 10, children: 100, maxChildrenPerNode: 10 },
      { nodes: 100, children: 1000, maxChildrenPerNode: 10 },
    ]);
    // With an ingress fan-out of 5, the 10 relays need one more above them.
    assert.deepEqual(
      relayTiers(1000, 5, 10).map((t) => t.nodes),
      [1, 10, 100],
    );
  });

  test('a partly filled tier spreads its children: 101 edges over 11 relays, at most 10 each', () => {
    assert.deepEqual(relayTiers(101, 20, 10), [{ nodes: 11, children: 101, maxChildrenPerNode: 10 }]);
    assert.equal(edgesNeeded(101, 10), 11);
  });

  test('a relay fan-out of 1, or of 0 viewers per edge, is refused with the reason', () => {
    assert.throws(() => relayTiers(10, 2, 1), /relay fan-out must be a whole number ≥ 2 \(got 1\)/);
    assert.throws(() => edgesNeeded(100, 0), /viewers per edge must be a whole number ≥ 1 \(got 0\)/);
    assert.throws(() => edgesNeeded(0, 10), /viewers must be a whole number ≥ 1/);
    assert.throws(() => relayTiers(10, 0, 10), /ingress fan-out must be a whole number ≥ 1/);
  });

  test('bandwidth per tier: whole stream between tiers, one rung per viewer at the edge', () => {
    const tiers = relayTiers(10, 2, 10); // 1 relay with 10 edges
    const loads = bandwidthPerTier(tiers, 10, 100, 1_400_000, 750_000);
    assert.deepEqual(
      loads.map((l) => [l.tier, l.nodes, l.receiversPerNode, l.outPerNodeBps, l.outTotalBps]),
      [
        ['ingress', 1, 1, 1_400_000, 1_400_000],
        ['relay tier 1', 1, 10, 14_000_000, 14_000_000],
        ['edges', 10, 10, 7_500_000, 75_000_000],
      ],
    );
    assert.equal(loads[1]!.inPerNodeBps, 1_400_000);
  });

  test('added latency is the per-tier figure times the tiers; no tier adds nothing', () => {
    assert.deepEqual(addedLatency(3, { p50Ms: 0.5, p99Ms: 4 }), { p50Ms: 1.5, p99Ms: 12 });
    assert.deepEqual(addedLatency(0, { p50Ms: 0.5, p99Ms: 4 }), { p50Ms: 0, p99Ms: 0 });
    assert.throws(() => addedLatency(-1, { p50Ms: 0.5, p99Ms: 4 }), /tiers must be a whole number ≥ 0/);
  });

  test('send spread: 100 receivers of 10 kB at 1 MB per CPU-second is one second', () => {
    assert.equal(sendSpreadMs(100, 10_000, 1_000_000), 1000);
  });
});

describe('capacity model: limits', () => {
  const delivery = { bytesPerCpuSecond: 1_000_000, measuredViewerBitrate: 800_000 };
  const edgeInputs = { delivery, largestCleanN: 1000, rssPerViewerBytes: 1000, baseRssBytes: 0 };

  test('edge: 3 processes at 0.1 core per viewer and 70 %: 21 viewers, CPU binds before the NIC', () => {
    const edge = bindingLimit('edge', edgeLimits(box, edgeInputs, 750_000), 0.7);
    assert.equal(edge.binding.name, 'CPU');
    assert.equal(edge.capacity, 21);
    // NIC: 1 Gbit/s × 0.7 ÷ 750 kbit/s = 933.
    const nic = bindingLimit('edge', edgeLimits({ ...box, cores: 1000 }, edgeInputs, 750_000), 0.7);
    assert.deepEqual([nic.binding.name, nic.capacity], ['NIC', 933]);
  });

  test('a cap is not scaled by the headroom; a config cap binds relays below their resources', () => {
    const relay = bindingLimit('relay', relayLimits(box, 1_400_000, delivery, 3), 0.7);
    assert.deepEqual([relay.binding.name, relay.capacity], ['maxChildren', 3]);
  });

  test('the ingress loses what its own process and ffmpeg use before it sends', () => {
    // Machine: 3 cores × 0.7 − 2 cores of ffmpeg = 0.1 core; 0.175 core per child (1.4 Mbit/s): none fits.
    assert.throws(
      () =>
        bindingLimit(
          'ingress',
          relayLimits(box, 1_400_000, delivery, 200, { nodeCpu: 0, machineCpu: 2 }),
          0.7,
        ),
      /ingress: CPU \(machine\) leaves room for no receiver/,
    );
  });

  test('an edge machine with every core reserved is refused', () => {
    assert.throws(
      () => edgeLimits({ ...box, reservedCores: 4 }, edgeInputs, 750_000),
      /leave no core for an edge/,
    );
  });

  test('what fails first is the most used resource, not a cap', () => {
    const lim = (name: string, kind: Limit['kind']): Limit => ({
      name,
      kind,
      available: 10,
      fixed: 0,
      perUnit: 1,
    });
    const first = firstBottleneck([
      { tier: 'relay', limit: lim('maxChildren', 'cap'), load: 10, utilisation: 1 },
      { tier: 'edges', limit: lim('NIC', 'resource'), load: 7, utilisation: 0.7 },
      { tier: 'edges', limit: lim('CPU', 'resource'), load: 7, utilisation: 0.2 },
    ]);
    assert.deepEqual([first.tier, first.limit.name], ['edges', 'NIC']);
  });
});

describe('capacity model: inputs from docs/benchmarks.md', () => {
  const page = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'benchmarks.md'), 'utf8');

  test('every figure is read from the committed page, with its row named', () => {
    const f = readMeasuredFigures(page);
    assert.ok(f.ws.bytesPerCpuSecond.value > 1e8, 'WebSocket bytes per CPU-second');
    assert.match(f.ws.bytesPerCpuSecond.source, /fan-out: WebSocket: bytes per server CPU-second/);
    assert.ok(f.tierP99Ms.value >= f.tierP50Ms.value);
    assert.ok(f.p2pOffload.value > 0 && f.p2pOffload.value < 1);
    // The whole model runs on them.
    const plans = allPlans(defaultInputs(f));
    assert.ok(plans.headline.edges >= 1);
  });

  test('a missing row fails with its label', () => {
    const without = page
      .split('\n')
      .filter((l) => !l.startsWith('| fan-out: WebSocket: largest N with no drop'))
      .join('\n');
    assert.throws(
      () => readMeasuredFigures(without),
      /no results-table row starting "fan-out: WebSocket: largest N with no drop"/,
    );
  });

  test('the generated block replaces only what is between the markers', () => {
    const doc = 'intro\n<!-- capacity:begin -->\nold\n<!-- capacity:end -->\noutro\n';
    assert.equal(
      replaceBlock(doc, 'new'),
      'intro\n<!-- capacity:begin -->\nnew\n<!-- capacity:end -->\noutro\n',
    );
    assert.throws(() => replaceBlock('no markers', 'new'), /expected one/);
  });
});
