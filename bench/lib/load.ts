/**
 * Controller of the load-generator processes (load-worker.ts): fork, request/response over IPC, close.
 * `LoadGen` is one process; `LoadPool` spreads a group's clients over several, since one Node process
 * reading ~2,500 viewers' bytes is close to a core by itself.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { onCleanup } from './procs.js';

export interface LoadStats {
  bytes: number;
  messages: number;
  chunks: number;
  gaps: number;
  skipped: number;
  closed: number;
  errors: number;
  segments: number;
  notFound: number;
  connected: number;
  latency: { n: number; p50: number; p95: number; p99: number };
  edgeLatency: { n: number; p50: number; p95: number; p99: number };
  cpuSeconds: number;
  /** Fewest and most media chunks one WebSocket viewer of the group got since the last reset (NaN: none). */
  minChunks: number;
  maxChunks: number;
  /** WebSocket viewers with clearly fewer chunks than the process's median viewer (stalled or starved). */
  short: number;
  /** Date.now() when the counters were read. */
  at: number;
  /** HTTP requests made, and bytes of playlist responses (LL-HLS, also in `bytes`). */
  requests: number;
  playlistBytes: number;
}

export class LoadGen {
  private readonly proc: ChildProcess;
  private seq = 0;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  constructor() {
    this.proc = fork(join(import.meta.dirname, 'load-worker.ts'), [], {
      execArgv: ['--import', 'tsx', '--max-old-space-size=2048'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.proc.on('message', (m: { id: number; ok: boolean; result?: unknown; error?: string }) => {
      const w = this.waiting.get(m.id);
      if (!w) return;
      this.waiting.delete(m.id);
      if (m.ok) w.resolve(m.result);
      else w.reject(new Error(`load generator: ${m.error}`));
    });
    this.proc.on('exit', () => {
      for (const w of this.waiting.values()) w.reject(new Error('load generator exited'));
      this.waiting.clear();
    });
    onCleanup(() => this.close());
  }

  get pid(): number {
    return this.proc.pid!;
  }

  request<T>(cmd: string, args: Record<string, unknown> = {}): Promise<T> {
    const id = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.proc.send({ id, cmd, ...args });
    });
  }

  stats(group?: string, reset = false): Promise<LoadStats> {
    return this.request<LoadStats>('stats', { group, reset });
  }

  async close(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const done = new Promise<void>((r) => this.proc.once('exit', () => r()));
    this.proc.disconnect();
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 3000);
    await done;
    clearTimeout(t);
  }
}

/** What a pool reports: each worker's counters (with its pid) for the group. */
export type PoolStats = Array<LoadStats & { pid: number }>;

/**
 * Load-generator processes forked as needed; a group's clients are split evenly over the first `procs`
 * of them. The first worker is the rig's `LoadGen`, so other sections keep using one process.
 */
export class LoadPool {
  private readonly gens: LoadGen[];
  private readonly placed = new Map<string, LoadGen[]>();

  constructor(first: LoadGen) {
    this.gens = [first];
  }

  /** `cmd` with `args.count` clients in group `args.group`, spread over `procs` processes. */
  async open(
    cmd: string,
    args: { group: string; count: number } & Record<string, unknown>,
    procs: number,
  ): Promise<Array<Record<string, number>>> {
    const k = Math.max(1, Math.min(procs, args.count));
    while (this.gens.length < k) this.gens.push(new LoadGen());
    const used = this.gens.slice(0, k);
    this.placed.set(args.group, used);
    return Promise.all(
      used.map((g, i) =>
        g.request<Record<string, number>>(cmd, {
          ...args,
          count: Math.floor(args.count / k) + (i < args.count % k ? 1 : 0),
        }),
      ),
    );
  }

  async stats(group: string, reset = false): Promise<PoolStats> {
    const used = this.placed.get(group) ?? [];
    return Promise.all(used.map(async (g) => ({ ...(await g.stats(group, reset)), pid: g.pid })));
  }

  async closeGroup(group: string): Promise<void> {
    const used = this.placed.get(group) ?? [];
    this.placed.delete(group);
    await Promise.all(used.map((g) => g.request('close', { group })));
  }

  /** Closes the workers it forked (the first belongs to the rig). */
  async close(): Promise<void> {
    await Promise.all(this.gens.slice(1).map((g) => g.close()));
    this.gens.splice(1);
  }
}
