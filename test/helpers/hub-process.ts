/** The hub as a real child process (`node-role hub`), so tests can kill -9 it and start it again. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { SECRET, run, waitFor } from './network.js';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export const cliEnv = { ...process.env, TIERCAST_CLUSTER_SECRET: SECRET, TIERCAST_LOG_LEVEL: 'warn' };

/** `node-role <args>` as the operator would type it. */
export function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return run(process.execPath, ['bin/node-role.js', ...args], 30_000);
}

export class HubProcess {
  proc: ChildProcess | undefined;
  constructor(
    readonly port: number,
    readonly dataDir: string,
    /** More `node-role hub` arguments, e.g. `--config` for a hub on PostgreSQL. */
    readonly extraArgs: string[] = [],
    /** More environment, e.g. `TIERCAST_DIRECTORY_PUSH_INTERVAL_MS` for a test that waits on the push. */
    readonly extraEnv: Record<string, string> = {},
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.proc = spawn(
      process.execPath,
      ['bin/node-role.js', 'hub', '--port', String(this.port), '--data-dir', this.dataDir, ...this.extraArgs],
      {
        env: { ...cliEnv, TIERCAST_HTTP__HOST: '127.0.0.1', ...this.extraEnv },
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
    await waitFor(
      'hub healthy',
      async () => (await fetch(`${this.url}/healthz`).catch(() => undefined))?.ok,
      20_000,
    );
  }

  async kill(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    p.kill('SIGKILL');
    await new Promise((r) => p.once('exit', r));
  }
}

/** A hub process whose store already has the test streamer `cam` (added with the admin CLI, as an operator would). */
export async function startHubWithCam(
  dataDir: string,
  key: string,
  extraEnv: Record<string, string> = {},
): Promise<HubProcess> {
  const add = await cli([
    'streamer',
    'add',
    '--name',
    'cam',
    '--key',
    key,
    '--title',
    'Test cam',
    '--data-dir',
    dataDir,
  ]);
  if (add.code !== 0) throw new Error(`streamer add failed: ${add.stderr}`);
  const hub = new HubProcess(await freePort(), dataDir, [], extraEnv);
  await hub.start();
  return hub;
}
