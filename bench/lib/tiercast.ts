/**
 * tiercast nodes as separate processes (`node bin/node-role.js ROLE --config FILE`), so that each one's
 * CPU and memory can be read from /proc, on loopback ports chosen by the kernel (port 0; the banner says
 * which). Configs are written as JSON under bench/out/run/.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_OUT } from './media-files.js';
import { start, stop, type Spawned } from './procs.js';
import { freePort } from './peer.js';

export const CLUSTER_SECRET = 'bench-cluster-secret-0123456789abcdef';
export const STREAM_KEY = 'bench_stream_key_0123456789';
export const STREAM = 'bench';
let ROOT = join(import.meta.dirname, '..', '..');

/** Runs nodes from another copy of the tree (a patched src/ under bench/out, to try a proposed fix). */
export function useTree(root: string): void {
  ROOT = root;
}
const RUN_DIR = join(BENCH_OUT, 'run');

export interface NodeProc {
  role: string;
  proc: Spawned;
  pid: number;
  /** HTTP (edge) or cluster (ingress, intermediate) port. */
  port: number;
  rtmpPort?: number;
  /** ws://… for relays (a child's parent URL); http://… for an edge. */
  url: string;
  close(): Promise<void>;
}

export type Rung = { id: string; height: number; videoBitrateKbps: number };

let seq = 0;

function nodeEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  // TIERCAST_* variables map onto config keys: pass none but the secret.
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('TIERCAST_')) env[k] = v;
  env.TIERCAST_CLUSTER_SECRET = CLUSTER_SECRET;
  return env;
}

async function startNode(
  role: 'ingress' | 'intermediate' | 'edge',
  config: Record<string, unknown>,
  nodeArgs: string[] = [],
): Promise<NodeProc> {
  mkdirSync(RUN_DIR, { recursive: true });
  const id = `${role}-${++seq}`;
  const file = join(RUN_DIR, `${id}.json`);
  writeFileSync(file, JSON.stringify({ nodeId: id, logLevel: 'warn', ...config }, null, 2));
  const proc = start('node', [...nodeArgs, join(ROOT, 'bin', 'node-role.js'), role, '--config', file], {
    env: nodeEnv(),
    cwd: ROOT,
  });
  const banner = await new Promise<string>((resolve, reject) => {
    let out = '';
    const t = setTimeout(() => reject(new Error(`${id} did not start in 30 s:\n${proc.output()}`)), 30_000);
    // The start-up banner is on stderr (stdout carries only the JSON log lines).
    const onData = (d: Buffer) => {
      out += d.toString();
      const done =
        role === 'ingress'
          ? /relays:\s+\S+/.test(out) && /publish:/.test(out)
          : role === 'edge'
            ? /viewers:\s+\S+/.test(out)
            : /relays:\s+\S+/.test(out);
      if (done) {
        clearTimeout(t);
        resolve(out);
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    void proc.exited.then((code) => {
      clearTimeout(t);
      reject(new Error(`${id} exited (${code}) while starting:\n${proc.output()}`));
    });
  });
  const port = (re: RegExp): number => Number(re.exec(banner)?.[1] ?? NaN);
  const node: NodeProc = {
    role,
    proc,
    pid: proc.pid!,
    port: role === 'edge' ? port(/viewers:\s+http:\/\/[^:]+:(\d+)/) : port(/relays:\s+ws:\/\/[^:]+:(\d+)/),
    url: '',
    close: () => stop(proc, 5000),
  };
  if (role === 'ingress') node.rtmpPort = port(/publish:\s+rtmp:\/\/[^:]+:(\d+)/);
  node.url = role === 'edge' ? `http://127.0.0.1:${node.port}` : `ws://127.0.0.1:${node.port}`;
  return node;
}

const chunkMs = (asked: number | undefined): number | undefined =>
  asked ?? (Number(process.env.TIERCAST_BENCH_CHUNK_MS) || undefined);

/** Ports may be chosen beforehand (freePort) so that a whole tree starts at once, children retrying. */
export function startIngressProc(o: {
  ladder?: Rung[];
  preset?: string;
  /** transcode.mode: ladder (default), passthrough, off. */
  mode?: 'ladder' | 'passthrough' | 'off';
  /** transcode.chunkDurationMs (default: `--chunk-ms` of bench/run.ts, else the product's 200). */
  chunkDurationMs?: number;
  nodeArgs?: string[];
  segments?: number;
  port?: number;
  /** The ingress's `recording` section (e.g. `{ enabled: true, storage: { kind: 'local', dir } }`). */
  recording?: Record<string, unknown>;
}): Promise<NodeProc> {
  return startNode(
    'ingress',
    {
      rtmp: { host: '127.0.0.1', port: 0 },
      http: { host: '127.0.0.1', port: o.port ?? 0 },
      streamers: [{ name: STREAM, key: STREAM_KEY, title: 'bench' }],
      transcode: {
        ...(o.ladder ? { ladder: o.ladder } : {}),
        ...(o.preset ? { preset: o.preset } : {}),
        ...(o.mode ? { mode: o.mode } : {}),
        ...(chunkMs(o.chunkDurationMs) ? { chunkDurationMs: chunkMs(o.chunkDurationMs) } : {}),
      },
      cache: { segments: o.segments ?? 8 },
      ...(o.recording ? { recording: o.recording } : {}),
    },
    o.nodeArgs,
  );
}

// A parent still starting is retried every 300 ms at most (the default backs off to 5 s).
const upstream = (parent: string) => ({ parents: [parent], backoffMaxMs: 300 });

export function startIntermediateProc(
  parent: string,
  o: { port?: number; nodeArgs?: string[] } = {},
): Promise<NodeProc> {
  return startNode(
    'intermediate',
    { http: { host: '127.0.0.1', port: o.port ?? 0 }, upstream: upstream(parent) },
    o.nodeArgs,
  );
}

export function startEdgeProc(
  parent: string,
  o: {
    nodeArgs?: string[];
    viewer?: Record<string, unknown>;
    port?: number;
    edgeSelection?: Record<string, unknown>;
    /** The /broadcast page's ingress (`{ ingestUrl: 'ws://…/publish/ws' }`). */
    broadcast?: Record<string, unknown>;
    /** Peer-assisted delivery (`{ enabled: true }`). */
    p2p?: Record<string, unknown>;
  } = {},
): Promise<NodeProc> {
  return startNode(
    'edge',
    {
      http: { host: '127.0.0.1', port: o.port ?? 0 },
      upstream: upstream(parent),
      ...(o.viewer ? { viewer: o.viewer } : {}),
      ...(o.edgeSelection ? { edgeSelection: o.edgeSelection } : {}),
      ...(o.broadcast ? { broadcast: o.broadcast } : {}),
      ...(o.p2p ? { p2p: o.p2p } : {}),
    },
    o.nodeArgs,
  );
}

/**
 * The whole network in one process (`node bin/node-role.js all --demo`): hub (SQLite and recordings in
 * `dataDir`), ingress (recording), intermediate, edge, and the demo publisher (stream "demo", 1280x720
 * test pattern with a tone), on free loopback ports. Resolves once its banner is out.
 */
export async function startAllProc(o: {
  dataDir: string;
  ladder?: Rung[];
  /** Publish the demo stream (default true). */
  demo?: boolean;
  /** More hub configuration (e.g. `{ restream: {…} }`). */
  hub?: Record<string, unknown>;
}): Promise<{
  proc: Spawned;
  pid: number;
  edgeUrl: string;
  hubUrl: string;
  rtmpUrl: string;
  close(): Promise<void>;
}> {
  mkdirSync(RUN_DIR, { recursive: true });
  const file = join(RUN_DIR, `all-${++seq}.json`);
  const listen = async () => ({ host: '127.0.0.1', port: await freePort() });
  const edge = await listen();
  const rtmp = await listen();
  const config = {
    clusterSecret: CLUSTER_SECRET,
    logLevel: 'warn',
    hub: { http: await listen(), dataDir: o.dataDir, ...o.hub },
    // No SRT (its UDP port 9000 is fixed and may be taken by someone else's run).
    ingress: {
      http: await listen(),
      rtmp,
      srt: { enabled: false },
      ...(o.ladder ? { transcode: { ladder: o.ladder } } : {}),
    },
    intermediate: { http: await listen() },
    edge: { http: edge },
  };
  writeFileSync(file, JSON.stringify(config, null, 2));
  const args = ['all', ...(o.demo === false ? [] : ['--demo']), '--config', file];
  const proc = start('node', [join(ROOT, 'bin', 'node-role.js'), ...args], {
    env: nodeEnv(),
    cwd: ROOT,
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const t = setTimeout(
      () => reject(new Error(`node-role all did not start in 60 s:\n${proc.output()}`)),
      60_000,
    );
    proc.stderr!.on('data', (d: Buffer) => {
      out += d.toString();
      if (/metrics:\s+http/.test(out)) {
        clearTimeout(t);
        resolve();
      }
    });
    void proc.exited.then((code) => {
      clearTimeout(t);
      reject(new Error(`node-role all exited (${code}) while starting:\n${proc.output()}`));
    });
  });
  return {
    proc,
    pid: proc.pid!,
    edgeUrl: `http://127.0.0.1:${edge.port}`,
    hubUrl: `http://127.0.0.1:${config.hub.http.port}`,
    rtmpUrl: `rtmp://127.0.0.1:${rtmp.port}/live`,
    close: () => stop(proc, 10_000),
  };
}

/** An ingress and an edge on it, started together. */
export async function startPair(
  o: Parameters<typeof startIngressProc>[0],
  edge: Parameters<typeof startEdgeProc>[1] = {},
): Promise<{ ingress: NodeProc; edge: NodeProc }> {
  const port = await freePort();
  const [ingress, e] = await Promise.all([
    startIngressProc({ ...o, port }),
    startEdgeProc(`ws://127.0.0.1:${port}`, edge),
  ]);
  return { ingress, edge: e };
}

export function rtmpPublishUrl(ingress: NodeProc): string {
  return `rtmp://127.0.0.1:${ingress.rtmpPort}/live/${STREAM_KEY}`;
}

/** The ffmpeg transcoder an ingress process spawned (its child named ffmpeg). */
export { childPids } from './procs.js';

/** Resolves once the edge serves the stream's manifest (the stream is live through the tree). */
export async function waitLive(edgeUrl: string, timeoutMs = 30_000, stream = STREAM): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      const r = await fetch(`${edgeUrl}/live/${stream}/manifest.mpd`);
      if (r.ok) return;
    } catch {
      // not yet
    }
    if (Date.now() > end) throw new Error(`stream ${stream} not live at ${edgeUrl} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
