/**
 * The inter-tier protocol between real nodes: authentication on upgrade, version refusal, malformed frames,
 * failover between parents without gap or duplicate, and a transcoder crash that viewers ride through.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { edgeSchema } from '../../src/common/config/index.js';
import {
  createClusterToken,
  decodeFrame,
  encodeSubscribe,
  FrameType,
  SUBPROTOCOL,
  AUTH_HEADER,
} from '../../src/common/protocol/index.js';
import { startEdge, type EdgeNode } from '../../src/edge/main.js';
import {
  publish,
  run,
  startNetwork,
  stop,
  waitFor,
  logger,
  SECRET,
  type TestNetwork,
} from '../helpers/network.js';
import { TestViewer } from '../helpers/viewer.js';
import { startIntermediate } from '../../src/intermediate/main.js';
import { intermediateSchema } from '../../src/common/config/index.js';

let net: TestNetwork;
let pub: ReturnType<typeof publish>;

before(async () => {
  net = await startNetwork({ intermediates: 1 });
  pub = publish(net.rtmpUrl, undefined, 120);
  await waitFor('stream live at the ingress', () => net.ingress.relay.get('cam')?.state === 'live');
});

after(async () => {
  await stop(pub);
  await net.close();
});

function upgrade(
  url: string,
  opts: { token?: string; protocol?: string },
): Promise<{ status?: number; error?: string; ws?: WebSocket }> {
  return new Promise((resolve) => {
    const headers: Record<string, string> = {};
    if (opts.token) headers[AUTH_HEADER] = opts.token;
    const ws = new WebSocket(`${url}/cluster`, opts.protocol ?? SUBPROTOCOL, { headers });
    ws.on('unexpected-response', (_req, res) =>
      resolve({ status: res.statusCode, error: String(res.headers['x-tiercast-error']) }),
    );
    ws.on('open', () => resolve({ ws }));
    ws.on('error', () => undefined);
  });
}

test('a subscriber without the cluster secret is refused on upgrade', async () => {
  assert.deepEqual(await upgrade(net.ingress.url, {}), { status: 401, error: 'CLUSTER_AUTH_FAILED' });
  assert.deepEqual(
    await upgrade(net.ingress.url, { token: createClusterToken('wrong-secret-wrong-secret', 'x', 'relay') }),
    {
      status: 401,
      error: 'CLUSTER_AUTH_FAILED',
    },
  );
});

test('a node speaking another protocol version is refused clearly', async () => {
  const r = await upgrade(net.ingress.url, {
    token: createClusterToken(SECRET, 'x', 'relay'),
    protocol: 'tiercast.v2',
  });
  assert.deepEqual(r, { status: 426, error: 'PROTOCOL_VERSION_MISMATCH' });
});

test('a malformed frame closes only that child with a reason; others keep receiving', async () => {
  const viewer = new TestViewer(`${net.edgeUrl.replace('http', 'ws')}/live/cam/ws`);
  await viewer.opened;
  await waitFor('viewer chunks', () => viewer.chunks.length > 5);
  const r = await upgrade(net.ingress.url, { token: createClusterToken(SECRET, 'rogue', 'relay') });
  const ws = r.ws!;
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  ws.send(Buffer.from('this is not a tiercast frame'));
  const c = await closed;
  assert.equal(c.code, 4003);
  assert.match(c.reason, /PROTOCOL_MALFORMED_FRAME/);
  const before = viewer.chunks.length;
  await waitFor('viewer still receiving', () => viewer.chunks.length > before + 5);
  assert.equal(viewer.closed, undefined);
  viewer.close();
});

test('an authenticated subscriber receives STREAM_START, inits and chunks', async () => {
  const r = await upgrade(net.ingress.url, { token: createClusterToken(SECRET, 'probe', 'relay') });
  const got: number[] = [];
  r.ws!.on('message', (d: Buffer) => got.push(d[3]!));
  r.ws!.send(encodeSubscribe('cam'));
  await waitFor('frames', () => got.includes(6));
  assert.ok(got.includes(3) && got.includes(5), `types ${[...new Set(got)].join(',')}`);
  r.ws!.terminate();
});

test('chunks replayed from the cache to a new subscriber carry the time they were sent, not their age', async () => {
  // A child measures its hop latency from the frame's sent time; an unstamped replay would count the
  // seconds a chunk waited in the parent's cache as time on the wire (and trip the hop-latency alert).
  const r = await upgrade(net.ingress.url, { token: createClusterToken(SECRET, 'probe-replay', 'relay') });
  const chunks: Array<{ sent: number; ingress: number }> = [];
  r.ws!.on('message', (d: Buffer) => {
    const f = decodeFrame(d, { maxFrameBytes: 1 << 26 });
    if (f.type === FrameType.MEDIA_CHUNK)
      chunks.push({ sent: f.chunk.sentTime, ingress: f.chunk.ingressTime });
  });
  const subscribedAt = Date.now();
  r.ws!.send(encodeSubscribe('cam'));
  await waitFor('backlog and live chunks', () => chunks.some((c) => c.ingress >= subscribedAt));
  r.ws!.terminate();
  const backlog = chunks.filter((c) => c.ingress < subscribedAt);
  assert.ok(backlog.length > 0, 'the subscriber was brought up to date from the cache');
  const early = chunks.filter((c) => c.sent < subscribedAt);
  assert.deepEqual(early, [], 'every chunk is stamped when it was sent to this subscriber');
});

test('failover: an edge whose parent dies moves to the next parent with no gap, no duplicate, no disconnect', async () => {
  const extra = await startIntermediate(
    intermediateSchema.parse({
      nodeId: 'inter-b',
      clusterSecret: SECRET,
      http: { host: '127.0.0.1', port: 0 },
      upstream: { parents: [net.ingress.url] },
    }),
    logger,
  );
  const interA = await startIntermediate(
    intermediateSchema.parse({
      nodeId: 'inter-a',
      clusterSecret: SECRET,
      http: { host: '127.0.0.1', port: 0 },
      upstream: { parents: [net.ingress.url] },
    }),
    logger,
  );
  let edge: EdgeNode | undefined;
  try {
    edge = await startEdge(
      edgeSchema.parse({
        nodeId: 'edge-f',
        clusterSecret: SECRET,
        http: { host: '127.0.0.1', port: 0 },
        upstream: { parents: [interA.url, extra.url], heartbeatTimeoutMs: 500 },
      }),
      logger,
    );
    // inter-b must already hold the stream in its cache for a gapless resume: warm it like a sibling would.
    const warm = new TestViewer(`${edge.url.replace('http', 'ws')}/live/cam/ws`);
    const probe = await upgrade(extra.url, { token: createClusterToken(SECRET, 'warm', 'relay') });
    probe.ws!.send(encodeSubscribe('cam'));
    await warm.opened;
    await waitFor('chunks before failover', () => warm.of('a0').length > 10 && warm.of('v360').length > 10);
    await interA.close();
    const n = warm.chunks.length;
    await waitFor('chunks after failover', () => warm.chunks.length > n + 40, 15_000);
    assert.equal(warm.closed, undefined, 'viewer stayed connected');
    assert.deepEqual(warm.continuityProblems('v360'), []);
    assert.deepEqual(warm.continuityProblems('a0'), []);
    warm.close();
    probe.ws!.terminate();
  } finally {
    await edge?.close();
    await interA.close();
    await extra.close();
  }
});

test('ffmpeg killed mid-stream: the transcoder restarts and viewers ride through on the same socket', async () => {
  const viewer = new TestViewer(`${net.edgeUrl.replace('http', 'ws')}/live/cam/ws`);
  await viewer.opened;
  await waitFor('chunks', () => viewer.of('v360').length > 10);
  const pid = net.ingress.live.get('cam')!.transcoderPid!;
  process.kill(pid, 'SIGKILL');
  await waitFor('restarted transcoder', () => {
    const p = net.ingress.live.get('cam')?.transcoderPid;
    return p !== undefined && p !== pid;
  });
  const n = viewer.of('v360').length;
  await waitFor('chunks after restart', () => viewer.of('v360').length > n + 15, 20_000);
  assert.equal(viewer.closed, undefined);
  assert.deepEqual(
    viewer.continuityProblems('v360'),
    [],
    'restart is a marked discontinuity, never a duplicate',
  );
  assert.ok(
    viewer.of('v360').some((c) => (c.flags & 8) !== 0),
    'the restart is flagged as a discontinuity',
  );
  assert.ok(viewer.texts.filter((t) => t.type === 'info').length >= 2, 'a new epoch was announced');
  viewer.close();
  const r = await run(
    'ffmpeg',
    [
      '-v',
      'error',
      '-i',
      `${net.edgeUrl}/live/cam/manifest.mpd`,
      '-map',
      '0:v:0',
      '-frames:v',
      '60',
      '-f',
      'null',
      '-',
    ],
    40_000,
  );
  assert.equal(r.code, 0, r.stderr);
});
