/**
 * A tree found through Consul (the test double of its HTTP API, test/consul-double): two ingresses, two
 * tier-1 intermediates and an edge, all registered; a viewer's request travels up to the ingress carrying
 * the stream; exactly one ingress may carry a name; a dead relay is replaced through discovery with no gap;
 * Consul going away leaves the tree serving; the stream comes back on the other ingress on the same socket.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { edgeSchema, ingressSchema, intermediateSchema } from '../../src/common/config/index.js';
import { startEdge, type EdgeNode } from '../../src/edge/main.js';
import { startIngress, type IngressNode } from '../../src/ingress/main.js';
import { startIntermediate, type IntermediateNode } from '../../src/intermediate/main.js';
import { ConsulDouble } from '../consul-double/consul-double.js';
import { KEY, SECRET, exited, logger, publish, stop, waitFor } from '../helpers/network.js';
import { TestViewer } from '../helpers/viewer.js';

let consul: ConsulDouble;
let ingA: IngressNode;
let ingB: IngressNode;
let inters: IntermediateNode[] = [];
let edge: EdgeNode;
const publishers: Array<ReturnType<typeof publish>> = [];

const discovery = () => ({
  backend: 'consul',
  region: 'eu',
  consul: {
    address: consul.address,
    ttlMs: 1000,
    watchWaitS: 2,
    sessionTtlMs: 10_000,
    lockDelayMs: 0,
    retryInitialMs: 50,
    retryMaxMs: 500,
  },
});
const transcode = {
  preset: 'ultrafast',
  ladder: [{ id: 'v240', height: 240, videoBitrateKbps: 300 }],
  restartBackoffMs: 100,
};
const upstream = {
  heartbeatTimeoutMs: 600,
  backoffInitialMs: 50,
  backoffMaxMs: 500,
  idleUnsubscribeMs: 20_000,
};

async function ingress(id: string): Promise<IngressNode> {
  return startIngress(
    ingressSchema.parse({
      nodeId: id,
      clusterSecret: SECRET,
      rtmp: { host: '127.0.0.1', port: 0 },
      http: { host: '127.0.0.1', port: 0 },
      streamers: [{ name: 'cam', key: KEY }],
      transcode,
      discovery: discovery(),
    }),
    logger,
  );
}

async function intermediate(id: string): Promise<IntermediateNode> {
  return startIntermediate(
    intermediateSchema.parse({
      nodeId: id,
      clusterSecret: SECRET,
      http: { host: '127.0.0.1', port: 0 },
      upstream,
      discovery: { ...discovery(), tier: 1 },
    }),
    logger,
  );
}

before(async () => {
  consul = await ConsulDouble.create();
  ingA = await ingress('ingress-a');
  ingB = await ingress('ingress-b');
  inters = [await intermediate('inter-1a'), await intermediate('inter-1b')];
  edge = await startEdge(
    edgeSchema.parse({
      nodeId: 'edge-c',
      clusterSecret: SECRET,
      http: { host: '127.0.0.1', port: 0 },
      upstream,
      discovery: discovery(),
    }),
    logger,
  );
});

after(async () => {
  for (const p of publishers) await stop(p);
  await edge?.close();
  for (const n of inters) await n.close();
  await ingB?.close();
  await ingA?.close();
  await consul?.close();
});

const rtmp = (n: IngressNode) => `rtmp://127.0.0.1:${n.rtmpPort}/live`;

test(
  'through Consul: the request travels up to the ingress with the stream; one ingress per name; failover; Consul outage; the stream moves to the other ingress',
  { timeout: 120_000 },
  async () => {
    const pubA = publish(rtmp(ingA), KEY, 120);
    publishers.push(pubA);
    await waitFor('ingress-a live', () => ingA.live.has('cam'), 20_000);

    // Exactly one ingress carries a name: the second publish is refused with a reason.
    const pubB = publish(rtmp(ingB), KEY, 10);
    assert.notEqual(await exited(pubB), 0);
    assert.match(pubB.stderrText(), /already publishing|BadName|error/i);
    assert.ok(!ingB.live.has('cam'));

    const viewer = new TestViewer(`${edge.url.replace('http', 'ws')}/live/cam/ws`);
    await viewer.opened;
    await waitFor('viewer receives through the tree', () => viewer.of('v240').length > 10, 30_000);
    const via = inters.find((n) => n.relay.get('cam'));
    assert.ok(via, 'the edge pulled through a tier-1 intermediate');

    // Kill the relay the edge uses: discovery offers the other one, and the viewer sees no gap.
    const before = viewer.of('v240').length;
    await via.close();
    inters = inters.filter((n) => n !== via);
    await waitFor('chunks after the relay died', () => viewer.of('v240').length > before + 15, 20_000);
    assert.deepEqual(viewer.continuityProblems('v240'), []);
    assert.deepEqual(viewer.continuityProblems('a0'), []);

    // Consul goes away: the tree keeps serving with what it knows, and says so in its metrics.
    await consul.stop();
    const n = viewer.of('v240').length;
    await waitFor('still serving without Consul', () => viewer.of('v240').length > n + 10, 20_000);
    await waitFor(
      'edge reports Consul down',
      async () =>
        /tiercast_discovery_consul_up\{[^}]*\} 0/.test(await (await fetch(`${edge.url}/metrics`)).text()),
      20_000,
    );
    await consul.start();
    await waitFor(
      'edge reports Consul back',
      async () =>
        /tiercast_discovery_consul_up\{[^}]*\} 1/.test(await (await fetch(`${edge.url}/metrics`)).text()),
      20_000,
    );

    // The publisher moves to the other ingress: the viewer keeps its socket and gets the stream again.
    await stop(pubA);
    await waitFor('end announced', () => viewer.texts.some((t) => t.type === 'end'), 15_000);
    await waitFor('claim released', () => !ingA.live.has('cam'));
    const pubB2 = publish(rtmp(ingB), KEY, 120);
    publishers.push(pubB2);
    await waitFor('ingress-b live', () => ingB.live.has('cam'), 20_000);
    const m = viewer.of('v240').length;
    await waitFor('stream back through ingress-b', () => viewer.of('v240').length > m + 10, 40_000);
    assert.equal(viewer.closed, undefined, 'the viewer stayed connected throughout');
    viewer.close();
  },
);
