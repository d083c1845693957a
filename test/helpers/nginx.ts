/**
 * Debian's nginx in front of tiercast, from the sample an operator installs (deploy/nginx/tiercast.conf):
 * the sample's server blocks are used as they are, with only its addresses, ports and certificate paths
 * substituted (each substitution must hit, so a sample that drifts fails here, not in production). nginx
 * runs in the foreground as this test's child, with its files under a temporary prefix.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './hub-process.js';
import { waitFor } from './network.js';
import { selfSignedCert } from './tls.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const NGINX_SAMPLE = join(ROOT, 'deploy', 'nginx', 'tiercast.conf');

export const nginxMissing = spawnSync('nginx', ['-v']).error
  ? 'nginx not found: install the Debian package nginx (scripts/install-deps.sh --test)'
  : false;

export interface ProxyOptions {
  /** Working directory (config, logs, temp files, the certificate). */
  prefix: string;
  /** The address nginx listens on (clients connect here). */
  listenHost: string;
  /** The source address of nginx's connections to tiercast (the peer tiercast must trust). */
  bindHost: string;
  edge: string;
  ingress: string;
  /** Ports to listen on (the nodes' config may need the public URL first); free ones otherwise. */
  httpsPort?: number;
  httpPort?: number;
}

export interface RunningProxy {
  httpsUrl: string;
  httpUrl: string;
  close(): Promise<void>;
}

export async function startNginxProxy(o: ProxyOptions): Promise<RunningProxy> {
  for (const d of ['logs', 'tmp']) mkdirSync(join(o.prefix, d), { recursive: true });
  const { cert, key } = selfSignedCert(o.prefix, o.listenHost);
  const https = o.httpsPort ?? (await freePort());
  const http = o.httpPort ?? (await freePort());
  let sample = readFileSync(NGINX_SAMPLE, 'utf8');
  const substitutions: Array<[string, string]> = [
    ['listen 443 ssl http2;', `listen ${o.listenHost}:${https} ssl http2;`],
    ['listen 80;', `listen ${o.listenHost}:${http};`],
    ['server 127.0.0.1:8080;', `server ${o.edge};`],
    ['server 127.0.0.1:8090;', `server ${o.ingress};`],
    ['/etc/ssl/tiercast/fullchain.pem', cert],
    ['/etc/ssl/tiercast/privkey.pem', key],
  ];
  for (const [from, to] of substitutions) {
    if (!sample.includes(from)) throw new Error(`${NGINX_SAMPLE} no longer contains "${from}"`);
    sample = sample.replaceAll(from, to);
  }
  writeFileSync(join(o.prefix, 'tiercast.conf'), sample);
  const p = o.prefix;
  writeFileSync(
    join(p, 'nginx.conf'),
    `daemon off;
master_process on;
worker_processes 1;
pid ${p}/nginx.pid;
error_log ${p}/logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log ${p}/logs/access.log;
  client_body_temp_path ${p}/tmp/body;
  proxy_temp_path ${p}/tmp/proxy;
  fastcgi_temp_path ${p}/tmp/fastcgi;
  uwsgi_temp_path ${p}/tmp/uwsgi;
  scgi_temp_path ${p}/tmp/scgi;
  # Test only: nginx's connections to tiercast come from this address, unlike the browser's.
  proxy_bind ${o.bindHost};
  include ${p}/tiercast.conf;
}
`,
  );
  const check = spawnSync(
    'nginx',
    ['-t', '-e', join(p, 'logs', 'error.log'), '-p', p, '-c', join(p, 'nginx.conf')],
    {
      encoding: 'utf8',
    },
  );
  if (check.status !== 0) throw new Error(`nginx -t: ${check.stderr}`);
  const proc: ChildProcess = spawn(
    'nginx',
    ['-e', join(p, 'logs', 'error.log'), '-p', p, '-c', join(p, 'nginx.conf')],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const httpUrl = `http://${o.listenHost}:${http}`;
  await waitFor(
    `nginx listening (${stderr})`,
    async () => {
      if (proc.exitCode !== null) throw new Error(`nginx exited: ${stderr}`);
      return (await fetch(`${httpUrl}/`, { redirect: 'manual' }).catch(() => undefined)) !== undefined;
    },
    10_000,
    100,
  );
  return {
    httpsUrl: `https://${o.listenHost}:${https}`,
    httpUrl,
    close: async () => {
      if (proc.exitCode !== null) return;
      proc.kill('SIGQUIT');
      const t = setTimeout(() => proc.kill('SIGKILL'), 3000);
      await new Promise((r) => proc.once('exit', r));
      clearTimeout(t);
    },
  };
}
