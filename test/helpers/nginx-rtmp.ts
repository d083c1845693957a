/**
 * A real RTMP server for restream outputs to push to: nginx with nginx-rtmp-module (Debian's
 * libnginx-mod-rtmp), live only, on a loopback port of its own. It can be stopped and started again on the
 * same port (a target that goes away and comes back).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './hub-process.js';
import { waitFor } from './network.js';
import { connect } from 'node:net';

const RTMP_MODULE = '/usr/lib/nginx/modules/ngx_rtmp_module.so';

export interface NginxRtmp {
  port: number;
  /** The application URL an output is given (`rtmp://127.0.0.1:PORT/live`). */
  appUrl: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });

export async function startNginxRtmp(): Promise<NginxRtmp> {
  const prefix = mkdtempSync(join(tmpdir(), 'tiercast-nginx-rtmp-'));
  mkdirSync(join(prefix, 'logs'));
  const port = await freePort();
  const conf = join(prefix, 'nginx.conf');
  writeFileSync(
    conf,
    `load_module ${RTMP_MODULE};
daemon off;
master_process off;
pid ${prefix}/nginx.pid;
error_log ${prefix}/logs/error.log warn;
events { worker_connections 256; }
rtmp {
  server {
    listen 127.0.0.1:${port};
    application live { live on; record off; }
  }
}
`,
  );
  let proc: ChildProcess | undefined;
  const server: NginxRtmp = {
    port,
    appUrl: `rtmp://127.0.0.1:${port}/live`,
    async start() {
      proc = spawn('nginx', ['-e', join(prefix, 'logs', 'error.log'), '-p', prefix, '-c', conf], {
        stdio: 'ignore',
      });
      await waitFor('nginx-rtmp listening', () => listening(port), 10_000, 50);
    },
    async stop() {
      const p = proc;
      proc = undefined;
      if (!p || p.exitCode !== null) return;
      p.kill('SIGKILL');
      await new Promise((r) => p.once('exit', r));
      await waitFor('nginx-rtmp gone', async () => !(await listening(port)), 5000, 50);
    },
  };
  await server.start();
  return server;
}
