/** Controller of the load-generator process (load-worker.ts): fork, request/response over IPC, close. */
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
