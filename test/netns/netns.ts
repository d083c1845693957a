/**
 * Test hosts of their own: one Linux network namespace per host, each with its own address on a private
 * subnet (10.77.0.0/24), links that can be delayed, made lossy or cut, and processes started inside a host.
 * The test process itself is on the subnet as the gateway (10.77.0.1), so viewers, publishers and (later) a
 * Consul double run there and every host reaches them.
 *
 * Links (see link-backends.ts): a kernel bridge with `tc netem` on each host's veth where the kernel has
 * sch_netem; otherwise a userspace switch over TUN devices (tun-switch.py) that applies the same egress
 * delay, loss and cut. Override with TIERCAST_TEST_NETNS_LINKS=bridge|tun.
 *
 * Names: everything this module creates starts with `tcns-<run>-` (runs.ts). `cleanup()` removes one run's
 * namespaces (killing whatever runs in them), links and switch; it is idempotent and also runs at process
 * exit and on SIGINT/SIGTERM. Every `createHosts` first removes what crashed runs left behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { BridgeLinks, TunLinks, type Impairment, type Links } from './link-backends.js';
import { IP, TC, sh } from './shell.js';
import {
  PREFIX,
  claimRun,
  cleanupLeftovers,
  killNamespace,
  otherLiveRun,
  releaseRun,
  runId,
} from './runs.js';

export type { Impairment } from './link-backends.js';
export { PREFIX, cleanupLeftovers } from './runs.js';

export const SUBNET = '10.77.0';
export const GATEWAY = `${SUBNET}.1`;
const FIRST_HOST_OCTET = 10;

export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface Host {
  readonly name: string;
  /** The network namespace (`ip netns`) the host lives in. */
  readonly ns: string;
  readonly address: string;
  readonly index: number;
  /** Runs a command inside the host and waits for it. */
  exec(cmd: string, args: string[], timeoutMs?: number): Promise<ExecResult>;
  /** Starts a long-running process inside the host; its stdout and stderr go to `logFile` when given. */
  spawn(
    cmd: string,
    args: string[],
    opts?: { env?: NodeJS.ProcessEnv; cwd?: string; logFile?: string },
  ): HostProcess;
}

export interface HostProcess {
  readonly host: Host;
  readonly child: ChildProcess;
  readonly pid: number;
  readonly logFile: string | undefined;
  /** Resolves with the exit code, or the signal's name, once the process has exited. */
  readonly exited: Promise<number | string | null>;
  alive(): boolean;
  /** The last `lines` lines of its log file. */
  logTail(lines?: number): string;
}

export interface NetnsSupport {
  ok: boolean;
  /** Why hosts cannot be created here (for a skip message). */
  reason?: string;
  /** Whether the kernel has sch_netem (the bridge backend can delay and drop). */
  netem: boolean;
}

/** Whether this process can create hosts: root, `ip netns`, and netem or a TUN device with python3. */
export function checkNetnsSupport(): NetnsSupport {
  if (process.platform !== 'linux')
    return { ok: false, netem: false, reason: 'network namespaces need Linux' };
  if (process.getuid?.() !== 0)
    return { ok: false, netem: false, reason: 'network namespaces need root (CI runs as root)' };
  if (sh(IP, ['netns', 'list'], { allowFail: true }).code !== 0)
    return { ok: false, netem: false, reason: '`ip netns` is unavailable (install iproute2)' };
  const probe = `${PREFIX}${runId}-probe`;
  if (sh(IP, ['netns', 'add', probe], { allowFail: true }).code !== 0) {
    return {
      ok: false,
      netem: false,
      reason: '`ip netns add` failed: no permission to create network namespaces here',
    };
  }
  try {
    sh(IP, ['-n', probe, 'link', 'set', 'lo', 'up']);
    const netem =
      sh(TC, ['-n', probe, 'qdisc', 'add', 'dev', 'lo', 'root', 'netem', 'delay', '1ms'], { allowFail: true })
        .code === 0;
    if (
      !netem &&
      !(existsSync('/dev/net/tun') && sh('python3', ['-c', 'import fcntl'], { allowFail: true }).code === 0)
    ) {
      return {
        ok: false,
        netem,
        reason: 'the kernel has no sch_netem, and the fallback needs /dev/net/tun and python3',
      };
    }
    return { ok: true, netem };
  } finally {
    sh(IP, ['netns', 'del', probe], { allowFail: true });
  }
}

export interface CreateHostsOptions {
  /** 'auto' (default; or TIERCAST_TEST_NETNS_LINKS): the bridge with netem when the kernel has it, else TUN. */
  links?: 'auto' | 'bridge' | 'tun';
}

export class HostNetwork {
  readonly hosts: Host[] = [];
  readonly gateway = GATEWAY;
  private readonly processes = new Set<HostProcess>();
  private readonly namespaces: string[] = [];
  private links: Links | undefined;
  private closed = false;
  private readonly onExit = () => this.cleanup();
  private readonly onSignal = (signal: NodeJS.Signals) => {
    this.cleanup();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };

  private constructor() {
    process.on('exit', this.onExit);
    process.once('SIGINT', this.onSignal);
    process.once('SIGTERM', this.onSignal);
  }

  /** 'bridge' (kernel bridge, veth, tc netem) or 'tun' (userspace switch, tun-switch.py). */
  get mode(): 'bridge' | 'tun' {
    return this.links?.kind ?? 'bridge';
  }

  /** Whether delay and loss can be applied (always with TUN; with the bridge only where netem exists). */
  get canImpair(): boolean {
    return this.links?.canImpair ?? false;
  }

  static async create(names: string[], opts: CreateHostsOptions = {}): Promise<HostNetwork> {
    if (new Set(names).size !== names.length || names.some((n) => !/^[a-z0-9][a-z0-9-]{0,30}$/.test(n))) {
      throw new Error(
        `netns: host names must be unique, lowercase letters, digits and '-': ${names.join(', ')}`,
      );
    }
    if (names.length > 200) throw new Error('netns: at most 200 hosts on one /24');
    cleanupLeftovers();
    const other = otherLiveRun();
    if (other)
      throw new Error(
        `netns: another netns test run (${other}) is using ${SUBNET}.0/24; wait for it or kill it`,
      );
    const support = checkNetnsSupport();
    if (!support.ok) throw new Error(`netns: ${support.reason}`);
    const net = new HostNetwork();
    try {
      claimRun();
      const base = `${PREFIX}${runId}`;
      for (const [index, name] of names.entries()) {
        const ns = `${base}-${name}`;
        sh(IP, ['netns', 'add', ns]);
        net.namespaces.push(ns);
        sh(IP, ['-n', ns, 'link', 'set', 'lo', 'up']);
        net.hosts.push(net.makeHost(name, ns, index));
      }
      // TIERCAST_TEST_* variables are reserved for test harnesses (docs/configuration.md).
      const wanted = opts.links ?? process.env.TIERCAST_TEST_NETNS_LINKS ?? 'auto';
      if (wanted !== 'auto' && wanted !== 'bridge' && wanted !== 'tun')
        throw new Error(`netns: links must be auto, bridge or tun, not ${wanted}`);
      const kind = wanted === 'auto' ? (support.netem ? 'bridge' : 'tun') : wanted;
      const spec = {
        base,
        gateway: GATEWAY,
        prefixLen: 24,
        hosts: net.hosts.map((h) => ({ ns: h.ns, address: h.address, index: h.index })),
      };
      net.links = kind === 'bridge' ? new BridgeLinks(spec, support.netem) : new TunLinks(spec);
      if (net.links instanceof BridgeLinks) net.namespaces.push(net.links.switchNs);
      await net.links.setUp();
      return net;
    } catch (err) {
      net.cleanup();
      throw err;
    }
  }

  host(name: string): Host {
    const h = this.hosts.find((x) => x.name === name);
    if (!h) throw new Error(`netns: no host named ${name}`);
    return h;
  }

  /** Delay and loss on everything the host sends (its egress), like `tc netem` on its interface. */
  async netem(host: Host, imp: Impairment): Promise<void> {
    await this.requireLinks().impair(host.index, imp);
  }

  /** Cuts the host's link: nothing goes in or out until `restore`. Its processes keep running. */
  async cut(host: Host): Promise<void> {
    await this.requireLinks().cut(host.index, true);
  }

  async restore(host: Host): Promise<void> {
    await this.requireLinks().cut(host.index, false);
  }

  /** Sends `signal` (default SIGKILL) and waits up to `timeoutMs` for the process to exit. */
  async kill(p: HostProcess, signal: NodeJS.Signals = 'SIGKILL', timeoutMs = 5000): Promise<void> {
    if (!p.alive()) return;
    p.child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>(
      (resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)),
    );
    const r = await Promise.race([p.exited, timedOut]);
    clearTimeout(timer);
    if (r === 'timeout') {
      if (signal === 'SIGKILL')
        throw new Error(`netns: ${p.host.name} pid ${p.pid} did not exit after SIGKILL`);
      await this.kill(p, 'SIGKILL', timeoutMs);
    }
  }

  /** Link counters of the TUN switch (forwarded, lost, cut…); undefined with the bridge. */
  async switchStats(): Promise<Record<string, number> | undefined> {
    return this.links?.stats();
  }

  /** Kills every process in every host, deletes the namespaces, links and switch. Idempotent, synchronous. */
  cleanup(): void {
    if (this.closed) return;
    this.closed = true;
    process.off('exit', this.onExit);
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
    for (const p of this.processes) if (p.alive()) p.child.kill('SIGKILL');
    this.links?.close();
    for (const ns of this.namespaces) killNamespace(ns);
    releaseRun();
  }

  private requireLinks(): Links {
    if (!this.links || this.closed)
      throw new Error('netns: the network is not set up (or already cleaned up)');
    return this.links;
  }

  private makeHost(name: string, ns: string, index: number): Host {
    const address = `${SUBNET}.${FIRST_HOST_OCTET + index}`;
    const host: Host = {
      name,
      ns,
      address,
      index,
      exec: (cmd, args, timeoutMs = 30_000) => execIn(ns, cmd, args, timeoutMs),
      spawn: (cmd, args, opts = {}) => {
        const p = spawnIn(host, cmd, args, opts);
        this.processes.add(p);
        void p.exited.then(() => this.processes.delete(p));
        return p;
      },
    };
    return host;
  }
}

/** Creates one namespace per name, linked on 10.77.0.0/24 (hosts from .10 in order; the test process is .1). */
export function createHosts(names: string[], opts?: CreateHostsOptions): Promise<HostNetwork> {
  return HostNetwork.create(names, opts);
}

function execIn(ns: string, cmd: string, args: string[], timeoutMs: number): Promise<ExecResult> {
  return new Promise((resolve) => {
    const p = spawn(IP, ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('error', (err) => (stderr += err.message));
    p.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

function spawnIn(
  host: Host,
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; logFile?: string },
): HostProcess {
  // `ip netns exec` execs the command (no fork), so the child's pid is the command's own pid: signals reach it.
  const fd = opts.logFile ? openSync(opts.logFile, 'a') : undefined;
  const child = spawn(IP, ['netns', 'exec', host.ns, cmd, ...args], {
    env: opts.env,
    cwd: opts.cwd,
    stdio: ['ignore', fd ?? 'ignore', fd ?? 'ignore'],
  });
  if (fd !== undefined) closeSync(fd);
  if (child.pid === undefined) throw new Error(`netns: could not start ${cmd} in ${host.name}`);
  const exited = new Promise<number | string | null>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal));
    child.once('error', () => resolve(null));
  });
  return {
    host,
    child,
    pid: child.pid,
    logFile: opts.logFile,
    exited,
    alive: () => child.exitCode === null && child.signalCode === null,
    logTail: (lines = 20) => {
      if (!opts.logFile) return '';
      try {
        return readFileSync(opts.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
      } catch {
        return '';
      }
    },
  };
}
