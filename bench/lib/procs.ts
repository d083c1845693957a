/**
 * Child processes of the bench and their accounting. Every process started here is registered and
 * killed on exit (normal, failure or signal). CPU time comes from /proc/<pid>/stat (utime + stime,
 * the process and its reaped children excluded), RSS from /proc/<pid>/status.
 */
import { spawn, execFileSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const running = new Set<ChildProcess>();
const cleanups: Array<() => Promise<void> | void> = [];

export const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

export interface Spawned extends ChildProcess {
  output(): string;
  exited: Promise<number | null>;
}

/** Spawns a registered child; stdout/stderr are kept (last 64 KB) for error reports. */
export function start(cmd: string, args: string[], opts: SpawnOptions & { label?: string } = {}): Spawned {
  const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts }) as Spawned;
  running.add(p);
  let out = '';
  const keep = (d: Buffer) => {
    out += d.toString();
    if (out.length > 65536) out = out.slice(-65536);
  };
  p.stdout?.on('data', keep);
  p.stderr?.on('data', keep);
  p.output = () => out;
  p.exited = new Promise((resolve) => {
    p.once('exit', (code) => {
      running.delete(p);
      resolve(code);
    });
    p.once('error', (err) => {
      out += `\nspawn error: ${err.message}`;
      running.delete(p);
      resolve(null);
    });
  });
  return p;
}

/** SIGTERM, then SIGKILL after `graceMs`. */
export async function stop(p: ChildProcess | undefined, graceMs = 3000): Promise<void> {
  if (!p || p.exitCode !== null || p.signalCode !== null || p.pid === undefined) return;
  const done = new Promise<void>((r) => p.once('exit', () => r()));
  p.kill('SIGTERM');
  const t = setTimeout(() => p.kill('SIGKILL'), graceMs);
  await done;
  clearTimeout(t);
}

export function onCleanup(fn: () => Promise<void> | void): void {
  cleanups.push(fn);
}

/** Runs registered clean-ups (newest first), then kills whatever is still running. */
export async function cleanupAll(): Promise<void> {
  while (cleanups.length) {
    const fn = cleanups.pop()!;
    try {
      await fn();
    } catch {
      // keep cleaning
    }
  }
  await Promise.all([...running].map((p) => stop(p, 1500)));
}

export function killAllSync(): void {
  for (const p of running) {
    try {
      p.kill('SIGKILL');
    } catch {
      // gone
    }
  }
}

/** utime + stime of one process in seconds (threads included, children not). */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields after "(comm)": state(3) ... utime(14) stime(15) → indexes 11 and 12 here
    return (Number(rest[11]) + Number(rest[12])) / CLK_TCK;
  } catch {
    return NaN;
  }
}

export function rssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** Direct children of a process (e.g. the ffmpeg an ingress node spawned). */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const c = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
      if (c) out.push(...c.split(/\s+/).map(Number));
    }
  } catch {
    // gone
  }
  return out;
}

export function commOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

/** CPU seconds of a process and all its live descendants. */
export function treeCpuSeconds(pid: number): number {
  let total = cpuSeconds(pid);
  for (const c of childPids(pid)) total += treeCpuSeconds(c);
  return total;
}

/** Measures CPU seconds used by a set of processes between start() and stop(). */
export class CpuMeter {
  private begin = new Map<number, number>();
  private t0 = 0;
  constructor(private readonly pids: () => number[]) {}
  start(): void {
    this.t0 = performance.now();
    this.begin = new Map(this.pids().map((p) => [p, cpuSeconds(p)]));
  }
  /** CPU seconds since start() and the wall seconds elapsed. */
  read(): { cpu: number; wall: number } {
    let cpu = 0;
    for (const p of this.pids()) {
      const now = cpuSeconds(p);
      if (Number.isFinite(now)) cpu += now - (this.begin.get(p) ?? now);
    }
    return { cpu, wall: (performance.now() - this.t0) / 1000 };
  }
}

/** Machine-wide busy fraction over an interval from /proc/stat, to report how loaded the box was. */
export function systemCpuTicks(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = (line[3] ?? 0) + (line[4] ?? 0);
  const total = line.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/**
 * Starts the clock publisher (publisher-worker.ts, a process of its own) sending one encode to every URL;
 * stopped at cleanup.
 */
export function startClockPublisher(
  o: { width: number; height: number; fps: number; kbps: number; preset: string },
  urls: string[],
): Spawned {
  const pub = start('node', [
    '--import',
    'tsx',
    join(import.meta.dirname, 'publisher-worker.ts'),
    JSON.stringify({ ...o, urls }),
  ]);
  onCleanup(() => stop(pub));
  return pub;
}

/**
 * CPU seconds of every running Chromium process, by pid, with its role (`--type=` of its command line:
 * renderer, utility for the network service, gpu-process, zygote; browser without one). Read before and after
 * a window, the difference over the processes alive at both ends is what the browser spent in it.
 */
export function chromiumCpu(): Map<number, { type: string; cpu: number }> {
  const out = new Map<number, { type: string; cpu: number }>();
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || !commOf(pid).startsWith('chrom')) continue;
    let type = 'browser';
    try {
      // A zygote's child rewrites its command line into one string: match, do not split.
      type = /--type=([a-z-]+)/.exec(readFileSync(`/proc/${pid}/cmdline`, 'utf8'))?.[1] ?? 'browser';
    } catch {
      continue;
    }
    const cpu = cpuSeconds(pid);
    if (Number.isFinite(cpu)) out.set(pid, { type, cpu });
  }
  return out;
}

/** What chromiumCpu() grew by between two readings, in CPU seconds per role (processes alive at both). */
export function chromiumCpuSpent(
  before: ReturnType<typeof chromiumCpu>,
  after: ReturnType<typeof chromiumCpu>,
): Record<string, number> {
  const spent: Record<string, number> = {};
  for (const [pid, a] of after) {
    const b = before.get(pid);
    if (b) spent[a.type] = (spent[a.type] ?? 0) + a.cpu - b.cpu;
  }
  return spent;
}
