/**
 * Debian's nginx and HAProxy in front of tiercast, from the samples an operator installs
 * (deploy/nginx/tiercast.conf, deploy/haproxy/haproxy.cfg): each sample is used as it is, with only its
 * addresses, ports and certificate paths substituted (each substitution must hit, so a sample that drifts
 * fails here, not in production), plus one test-only line giving the proxy's connections to tiercast their
 * own source address. The proxy runs in the foreground as this test's child, with its files under a
 * temporary prefix.
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
export const HAPROXY_SAMPLE = join(ROOT, 'deploy', 'haproxy', 'haproxy.cfg');

const missing = (bin: string, args: string[]) =>
  spawnSync(bin, args).error
    ? `${bin} not found: install the Debian package ${bin} (scripts/install-deps.sh --test)`
    : false;
export const nginxMissing = missing('nginx', ['-v']);
export const haproxyMissing = missing('haproxy', ['-v']);

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
  const sample = substitute(NGINX_SAMPLE, [
    ['listen 443 ssl http2;', `listen ${o.listenHost}:${https} ssl http2;`],
    ['listen 80;', `listen ${o.listenHost}:${http};`],
    ['server 127.0.0.1:8080;', `server ${o.edge};`],
    ['server 127.0.0.1:8090;', `server ${o.ingress};`],
    ['/etc/ssl/tiercast/fullchain.pem', cert],
    ['/etc/ssl/tiercast/privkey.pem', key],
  ]);
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
  return running('nginx', proc, () => stderr, o.listenHost, https, http, 'SIGQUIT');
}

export async function startHaproxyProxy(o: ProxyOptions): Promise<RunningProxy> {
  mkdirSync(o.prefix, { recursive: true });
  const { cert, key } = selfSignedCert(o.prefix, o.listenHost);
  // HAProxy takes the chain and the key in one file.
  const pem = join(o.prefix, 'tiercast.pem');
  writeFileSync(pem, readFileSync(cert, 'utf8') + readFileSync(key, 'utf8'));
  const https = o.httpsPort ?? (await freePort());
  const http = o.httpPort ?? (await freePort());
  const cfg = join(o.prefix, 'haproxy.cfg');
  writeFileSync(
    cfg,
    substitute(HAPROXY_SAMPLE, [
      ['bind :443 ssl crt /etc/ssl/tiercast/tiercast.pem', `bind ${o.listenHost}:${https} ssl crt ${pem}`],
      ['bind :80', `bind ${o.listenHost}:${http}`],
      ['server edge1 127.0.0.1:8080', `server edge1 ${o.edge}`],
      ['server ingress1 127.0.0.1:8090', `server ingress1 ${o.ingress}`],
      // Test only: HAProxy's connections to tiercast come from this address, unlike the browser's.
      ['defaults\n', `defaults\n    source ${o.bindHost}\n`],
    ]),
  );
  const check = spawnSync('haproxy', ['-c', '-q', '-f', cfg], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`haproxy -c: ${check.stdout}${check.stderr}`);
  const proc = spawn('haproxy', ['-db', '-f', cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return running('haproxy', proc, () => stderr, o.listenHost, https, http, 'SIGUSR1');
}

/** The sample with each substitution applied (every one must hit). */
function substitute(file: string, pairs: Array<[string, string]>): string {
  let text = readFileSync(file, 'utf8');
  for (const [from, to] of pairs) {
    if (!text.includes(from)) throw new Error(`${file} no longer contains ${JSON.stringify(from)}`);
    text = text.replaceAll(from, to);
  }
  return text;
}

/** Waits until the proxy answers on its HTTP port; its close() stops it gracefully, then for good. */
async function running(
  name: string,
  proc: ChildProcess,
  stderr: () => string,
  host: string,
  https: number,
  http: number,
  gracefulSignal: NodeJS.Signals,
): Promise<RunningProxy> {
  const httpUrl = `http://${host}:${http}`;
  await waitFor(
    `${name} listening`,
    async () => {
      if (proc.exitCode !== null) throw new Error(`${name} exited: ${stderr()}`);
      return (await fetch(`${httpUrl}/`, { redirect: 'manual' }).catch(() => undefined)) !== undefined;
    },
    10_000,
    100,
  );
  return {
    httpsUrl: `https://${host}:${https}`,
    httpUrl,
    close: async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill(gracefulSignal);
      const t = setTimeout(() => proc.kill('SIGKILL'), 3000);
      await new Promise((r) => proc.once('exit', r));
      clearTimeout(t);
    },
  };
}
