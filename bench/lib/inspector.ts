/** A minimal Chrome DevTools Protocol client for a node started with --inspect: full GC and heap usage. */
import WebSocket from 'ws';

export class Inspector {
  private seq = 0;
  private readonly waiting = new Map<number, (r: unknown) => void>();
  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (d: Buffer) => {
      const m = JSON.parse(d.toString()) as { id?: number; result?: unknown };
      if (m.id !== undefined) this.waiting.get(m.id)?.(m.result);
    });
  }

  /** Waits for "Debugger listening on ws://…" in the process output and connects. */
  static async attach(output: () => string, timeoutMs = 15_000): Promise<Inspector> {
    const end = Date.now() + timeoutMs;
    let url: string | undefined;
    while (!(url = /Debugger listening on (ws:\/\/\S+)/.exec(output())?.[1])) {
      if (Date.now() > end) throw new Error('no inspector URL in the process output');
      await new Promise((r) => setTimeout(r, 100));
    }
    const ws = new WebSocket(url);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    return new Inspector(ws);
  }

  call<T>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = ++this.seq;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve as (r: unknown) => void);
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  async gcAndHeap(): Promise<{ usedSize: number; totalSize: number }> {
    await this.call('HeapProfiler.enable');
    await this.call('HeapProfiler.collectGarbage');
    return this.call('Runtime.getHeapUsage');
  }

  close(): void {
    this.ws.close();
  }
}
