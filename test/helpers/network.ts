/**
 * Starts a real tiercast tree in this process on loopback with port 0: ingress → N intermediates → edge,
 * and a real ffmpeg publishing over RTMP. Everything is closed by `close()`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { edgeSchema, hubSchema, ingressSchema, intermediateSchema } from '../../src/common/config/index.js';
import { startHub, type HubNode } from '../../src/hub/main.js';
import { startEdge, type EdgeNode } from '../../src/edge/main.js';
import { startIngress, type IngressNode } from '../../src/ingress/main.js';
import { startIntermediate, type IntermediateNode } from '../../src/intermediate/main.js';
import { sourceEncodeArgs } from '../../src/ingress/source-encode.js';

export const SECRET = 'test-cluster-secret-0123456789';
export const KEY = 'live_test_key_123456';
export const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

export interface TestNetwork {
  hub?: HubNode;
  ingress: IngressNode;
  intermediates: IntermediateNode[];
  edge: EdgeNode;
  edgeUrl: string;
  rtmpUrl: string;
  close(): Promise<void>;
}

export function startTestHub(
  opts: {
    dataDir?: string;
    port?: number;
    chat?: Record<string, unknown>;
    logger?: typeof logger;
    /** More hub configuration (e.g. `{ recordings: {…} }`). */
    extra?: Record<string, unknown>;
  } = {},
): Promise<HubNode> {
  return startHub(
    hubSchema.parse({
      nodeId: 'hub-t',
      clusterSecret: SECRET,
      http: { host: '127.0.0.1', port: opts.port ?? 0 },
      dataDir: opts.dataDir ?? mkdtempSync(join(tmpdir(), 'tiercast-hub-')),
      ...(opts.chat ? { chat: opts.chat } : {}),
      ...opts.extra,
    }),
    opts.logger ?? logger,
  );
}

export async function startNetwork(
  opts: {
    intermediates?: number;
    ladder?: Array<{ id: string; height: number; videoBitrateKbps: number }>;
    segments?: number;
    /** transcode.chunkDurationMs (default 200). */
    chunkDurationMs?: number;
    hub?: HubNode;
    hubUrl?: string;
    /** Where the nodes log (default: the silent test logger). */
    logger?: typeof logger;
    /** More edge configuration (e.g. `{ p2p: { enabled: true } }`). */
    edge?: Record<string, unknown>;
    /** More ingress configuration (e.g. `{ rtmps: {…} }`). */
    ingress?: Record<string, unknown>;
    /** More configuration for every intermediate (e.g. `{ tls: {…} }`). */
    intermediate?: Record<string, unknown>;
    /** `upstream.ca` of the intermediates and the edge (a tree over wss:// with a private CA). */
    upstreamCa?: string;
  } = {},
): Promise<TestNetwork> {
  const log = opts.logger ?? logger;
  const hubUrl = opts.hubUrl ?? opts.hub?.url;
  const hubLink = hubUrl ? { hub: { url: hubUrl, reconnectBackoffMaxMs: 300 } } : {};
  const ingress = await startIngress(
    ingressSchema.parse({
      nodeId: 'ingress-t',
      clusterSecret: SECRET,
      rtmp: { host: '127.0.0.1', port: 0 },
      http: { host: '127.0.0.1', port: 0 },
      streamers: [{ name: 'cam', key: KEY, title: 'Test cam', category: 'Testing' }],
      transcode: {
        preset: 'ultrafast',
        ladder: opts.ladder ?? [
          { id: 'v360', height: 360, videoBitrateKbps: 600 },
          { id: 'v240', height: 240, videoBitrateKbps: 300 },
        ],
        restartBackoffMs: 100,
        ...(opts.chunkDurationMs ? { chunkDurationMs: opts.chunkDurationMs } : {}),
      },
      cache: { segments: opts.segments ?? 8 },
      thumbnailIntervalMs: 1000,
      ...hubLink,
      ...opts.ingress,
    }),
    log,
  );
  const intermediates: IntermediateNode[] = [];
  let parent = ingress.url;
  for (let i = 0; i < (opts.intermediates ?? 1); i++) {
    const n = await startIntermediate(
      intermediateSchema.parse({
        nodeId: `inter-${i}`,
        clusterSecret: SECRET,
        http: { host: '127.0.0.1', port: 0 },
        upstream: {
          parents: [parent],
          idleUnsubscribeMs: 2000,
          ...(opts.upstreamCa ? { ca: opts.upstreamCa } : {}),
        },
        ...opts.intermediate,
      }),
      log,
    );
    intermediates.push(n);
    parent = n.url;
  }
  const edge = await startEdge(
    edgeSchema.parse({
      nodeId: 'edge-t',
      clusterSecret: SECRET,
      http: { host: '127.0.0.1', port: 0 },
      upstream: {
        parents: [parent],
        idleUnsubscribeMs: 2000,
        ...(opts.upstreamCa ? { ca: opts.upstreamCa } : {}),
      },
      broadcast: { ingestUrl: `${ingress.url}/publish/ws` },
      ...hubLink,
      ...opts.edge,
    }),
    log,
  );
  return {
    hub: opts.hub,
    ingress,
    intermediates,
    edge,
    edgeUrl: edge.url,
    rtmpUrl: `rtmp://127.0.0.1:${ingress.rtmpPort}/live`,
    close: async () => {
      await edge.close();
      for (const n of intermediates.reverse()) await n.close();
      await ingress.close();
    },
  };
}

/** Waits until the edge's /api/streams lists `name` (it is live there). */
export function waitListed(edgeUrl: string, name = 'cam'): Promise<true> {
  return waitFor('stream live at the edge', async () => {
    const list = (await (await fetch(`${edgeUrl}/api/streams`)).json()) as Array<{ name: string }>;
    return list.some((s) => s.name === name) || undefined;
  });
}

/**
 * Publishes 'cam' for `seconds` and waits until the edge lists it; then `more` (e.g. launching a browser).
 * On a failure the publisher and the network are stopped before the error is thrown.
 */
export async function publishLive<T>(
  net: TestNetwork,
  seconds: number,
  more: () => Promise<T> | T,
): Promise<{ pub: ReturnType<typeof publish>; more: T }> {
  const pub = publish(net.rtmpUrl, undefined, seconds);
  try {
    await waitListed(net.edgeUrl);
    return { pub, more: await more() };
  } catch (e) {
    await stop(pub);
    await net.close();
    throw e;
  }
}

/** A real ffmpeg publishing a 640x360 test pattern with a tone over RTMP. */
export function publish(
  rtmpUrl: string,
  key = KEY,
  seconds = 60,
): ChildProcess & { stderrText: () => string } {
  const p = spawn(
    'ffmpeg',
    [
      '-hide_banner',
      '-loglevel',
      'error',
      '-nostdin',
      '-re',
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=640x360:rate=30',
      '-re',
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=440:sample_rate=48000',
      '-t',
      String(seconds),
      ...sourceEncodeArgs(),
      `${rtmpUrl}/${key}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let err = '';
  p.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return Object.assign(p, { stderrText: () => err });
}

export function exited(p: ChildProcess): Promise<number | null> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve(p.exitCode);
  return new Promise((resolve) => p.once('exit', (code) => resolve(code)));
}

export async function stop(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  p.kill('SIGKILL');
  await exited(p);
}

export async function waitFor<T>(
  what: string,
  fn: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 20_000,
  everyMs = 100,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Runs a command, resolving with its exit code, stdout and stderr. */
export function run(
  cmd: string,
  args: string[],
  timeoutMs = 30_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('exit', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Waits until an edge's stream list says `name` is (or is not) password-protected: the hub's directory arrived. */
export function waitForProtection(
  edgeUrl: string,
  name: string,
  protectedNow: boolean,
  timeoutMs = 15_000,
): Promise<true> {
  return waitFor(
    `the edge lists ${name} as ${protectedNow ? 'protected' : 'open'}`,
    async () => {
      const list = (await (await fetch(`${edgeUrl}/api/streams`)).json()) as Array<{
        name: string;
        protected?: boolean;
      }>;
      return list.find((s) => s.name === name)?.protected === protectedNow;
    },
    timeoutMs,
  );
}
