/**
 * Real tiercast nodes on netns hosts: each is `node bin/node-role.js ROLE --config FILE` started inside its
 * host, on the role's default ports (every host has an address of its own, so no port is shared), with the
 * cluster secret in TIERCAST_CLUSTER_SECRET and its log in `<logDir>/<host>.log`.
 *
 * Config is passed through as given, on top of a few defaults (nodeId = host name, listen on 0.0.0.0), so a
 * test can add any role key, e.g. a discovery section pointing at a Consul double served by the test process
 * on the gateway address (`net.gateway`), once the roles have one.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Host, HostNetwork, HostProcess } from './netns.js';

export type Role = 'ingress' | 'intermediate' | 'edge';

/** The roles' default HTTP ports (README, "Ports and URLs"). */
export const ROLE_PORT: Record<Role, number> = { ingress: 8090, intermediate: 8091, edge: 8080 };
export const RTMP_PORT = 1935;

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NODE_ROLE = join(ROOT, 'bin', 'node-role.js');

export interface TiercastNode {
  readonly host: Host;
  readonly role: Role;
  readonly port: number;
  /** The parent URL children list in `upstream.parents`. */
  readonly clusterUrl: string;
  readonly httpUrl: string;
  readonly proc: HostProcess;
}

type Plain = Record<string, unknown>;

function isPlain(v: unknown): v is Plain {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function merge(a: Plain, b: Plain): Plain {
  const out: Plain = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = isPlain(v) && isPlain(out[k]) ? merge(out[k], v) : v;
  return out;
}

export interface StartNodeOptions {
  secret: string;
  logDir: string;
  /** How long to wait for /healthz. */
  readyTimeoutMs?: number;
}

/** Starts a node and resolves once its /healthz answers from the test process (through the links). */
export async function startNode(
  host: Host,
  role: Role,
  config: Plain,
  opts: StartNodeOptions,
): Promise<TiercastNode> {
  const port = ROLE_PORT[role];
  const full = merge({ nodeId: host.name, logLevel: 'info', http: { host: '0.0.0.0', port } }, config);
  const file = join(opts.logDir, `${host.name}.json`);
  writeFileSync(file, JSON.stringify(full, null, 2));
  // The runner's own variables must not leak into a node (NODE_TEST_CONTEXT makes node:test report over IPC).
  const env: NodeJS.ProcessEnv = { ...process.env, TIERCAST_CLUSTER_SECRET: opts.secret };
  delete env.NODE_TEST_CONTEXT;
  delete env.NODE_OPTIONS;
  const proc = host.spawn(process.execPath, [NODE_ROLE, role, '--config', file], {
    env,
    cwd: ROOT,
    logFile: join(opts.logDir, `${host.name}.log`),
  });
  const node: TiercastNode = {
    host,
    role,
    port,
    clusterUrl: `ws://${host.address}:${port}`,
    httpUrl: `http://${host.address}:${port}`,
    proc,
  };
  const end = Date.now() + (opts.readyTimeoutMs ?? 30_000);
  for (;;) {
    if (!proc.alive())
      throw new Error(
        `${role} on ${host.name} exited (${String(await proc.exited)}) before it was ready:\n${proc.logTail(30)}`,
      );
    if (await healthy(node)) return node;
    if (Date.now() > end)
      throw new Error(
        `${role} on ${host.name} not ready after ${opts.readyTimeoutMs ?? 30_000} ms:\n${proc.logTail(30)}`,
      );
    await new Promise((r) => setTimeout(r, 150));
  }
}

async function healthy(node: TiercastNode): Promise<boolean> {
  try {
    const res = await fetch(`${node.httpUrl}/healthz`, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

/** A node's Prometheus text, parsed into `name{labels}` → value. Empty when the node does not answer. */
export async function scrape(node: TiercastNode): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  try {
    const res = await fetch(`${node.httpUrl}/metrics`, { signal: AbortSignal.timeout(2000) });
    for (const line of (await res.text()).split('\n')) {
      if (!line || line.startsWith('#')) continue;
      const i = line.lastIndexOf(' ');
      out.set(line.slice(0, i), Number(line.slice(i + 1)));
    }
  } catch {
    // a killed or cut-off node has no metrics
  }
  return out;
}

/** Sum of a metric over all its label sets matching `labelFilter` (a substring of the label text). */
export function metricSum(m: Map<string, number>, name: string, labelFilter = ''): number {
  let sum = 0;
  for (const [k, v] of m) if ((k === name || k.startsWith(`${name}{`)) && k.includes(labelFilter)) sum += v;
  return sum;
}

/**
 * The ingress's transcoder: its ffmpeg child reading FLV on stdin (`-f flv -i pipe:0`). Found through /proc
 * because the ingress does not publish the pid.
 */
export function transcoderPid(ingress: TiercastNode): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = readFileSync(`/proc/${entry}/status`, 'utf8');
      if (!new RegExp(`^PPid:\\s+${ingress.proc.pid}$`, 'm').test(status)) continue;
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (/ffmpeg/.test(argv[0] ?? '') && argv.includes('pipe:0')) return Number(entry);
    } catch {
      // the process ended while we looked
    }
  }
  return undefined;
}

/**
 * A real ffmpeg on `host` publishing a 640x360 test pattern with a 440 Hz tone over RTMP, as OBS would
 * (the same input as test/helpers/network.ts's `publish`, but inside a host, so cleanup reaches it).
 */
export function startPublisher(
  host: Host,
  rtmpUrl: string,
  key: string,
  seconds: number,
  logFile: string,
): HostProcess {
  // prettier-ignore
  return host.spawn('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-nostdin',
    '-re', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30',
    '-re', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', String(seconds),
    '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '30', '-pix_fmt', 'yuv420p',
    '-c:a', 'aac', '-ar', '48000',
    '-f', 'flv', `${rtmpUrl}/${key}`,
  ], { logFile });
}

/** Stops a node politely (SIGTERM: it closes children, upstream and caches), SIGKILL after 3 s. */
export async function stopNode(net: HostNetwork, node: TiercastNode): Promise<void> {
  await net.kill(node.proc, 'SIGTERM', 3000);
}
