/**
 * Which netns test run owns what, and removing what crashed runs left behind. A run is named by its test
 * process's pid in base 36; everything it creates starts with `tcns-<run>`; it records its owner in
 * /run/tcns-<run>.owner (pid and start time, so that a reused pid does not look alive; /run is cleared at
 * boot, like the namespaces).
 */
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { IP, sh } from './shell.js';

export const PREFIX = 'tcns-';

/** This process's run. */
export const runId = process.pid.toString(36);

function runOf(name: string): string | undefined {
  return /^tcns-([0-9a-z]+)(?:-|$)/.exec(name)?.[1];
}

/**
 * A live process's start time (clock ticks since boot): with the pid, it names the process even across pid
 * reuse. Undefined for a process that is gone or a zombie (killed, not yet reaped).
 */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] === 'Z' || fields[0] === 'X' ? undefined : fields[19];
  } catch {
    return undefined;
  }
}

function ownerFile(run: string): string {
  return `/run/${PREFIX}${run}.owner`;
}

/** A run is alive while the process that created it is: same pid, same start time. */
function runAlive(run: string): boolean {
  if (run === runId) return true;
  try {
    const [pid, started] = readFileSync(ownerFile(run), 'utf8').trim().split(' ');
    return started !== undefined && startTime(Number(pid)) === started;
  } catch {
    return false;
  }
}

function listNamespaces(): string[] {
  const r = sh(IP, ['netns', 'list'], { allowFail: true });
  return r.stdout
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(PREFIX));
}

function listRootLinks(): string[] {
  const r = sh(IP, ['-o', 'link', 'show'], { allowFail: true });
  return r.stdout
    .split('\n')
    .map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1] ?? '')
    .filter((n) => n.startsWith(PREFIX));
}

export function killNamespace(ns: string): void {
  const pids = sh(IP, ['netns', 'pids', ns], { allowFail: true }).stdout.split(/\s+/).filter(Boolean);
  for (const pid of pids) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // already gone
    }
  }
  sh(IP, ['netns', 'del', ns], { allowFail: true });
}

/** Removes namespaces and links left by earlier runs whose test process is gone. Returns what it removed. */
export function cleanupLeftovers(): string[] {
  const removed: string[] = [];
  for (const ns of listNamespaces()) {
    const run = runOf(ns);
    if (run && !runAlive(run)) {
      killNamespace(ns);
      removed.push(ns);
    }
  }
  for (const link of listRootLinks()) {
    const run = runOf(link);
    if (run && !runAlive(run)) {
      sh(IP, ['link', 'del', link], { allowFail: true });
      removed.push(link);
    }
  }
  for (const file of readdirSync('/run')) {
    const run = /^tcns-([0-9a-z]+)\.owner$/.exec(file)?.[1];
    if (run && !runAlive(run)) rmSync(`/run/${file}`, { force: true });
  }
  return removed;
}

/** Another live run owns the subnet: two runs at once would fight over the gateway address. */
export function otherLiveRun(): string | undefined {
  for (const name of [...listNamespaces(), ...listRootLinks()]) {
    const run = runOf(name);
    if (run && run !== runId && runAlive(run)) return `pid ${parseInt(run, 36)}`;
  }
  return undefined;
}

/** Records this process as the owner of its run (before creating anything). */
export function claimRun(): void {
  writeFileSync(ownerFile(runId), `${process.pid} ${startTime(process.pid)}\n`);
}

export function releaseRun(): void {
  rmSync(ownerFile(runId), { force: true });
}
