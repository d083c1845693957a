/**
 * The peer: nginx with nginx-rtmp-module, the classic self-hosted setup. RTMP in; HLS and DASH out of
 * its own segmenter at 1 s fragments (the lowest it supports: it cuts at the first keyframe after
 * `*_fragment`, so with a 1 s publisher GOP every fragment is 1 s); files served by nginx itself over
 * HTTP with sendfile. One worker process (the peer of one edge process), its own prefix under
 * bench/out/peer and its own loopback ports. Installed with apt-get when missing.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { BENCH_OUT, CACHE_DIR, run } from './media-files.js';
import { childPids, start, stop, type Spawned } from './procs.js';

const RTMP_MODULE = '/usr/lib/nginx/modules/ngx_rtmp_module.so';
export const PEER_STREAM = 'bench';
/** hls.js version fetched with `npm pack` when it is not installed as a dev dependency. */
const HLS_JS_VERSION = '1.7.4';

export interface Peer {
  proc: Spawned;
  masterPid: number;
  workerPids(): number[];
  rtmpPort: number;
  httpPort: number;
  httpUrl: string;
  publishUrl: string;
  version: string;
  close(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

function hasPeer(): boolean {
  try {
    execFileSync('nginx', ['-v'], { stdio: 'ignore' });
    return existsSync(RTMP_MODULE);
  } catch {
    return false;
  }
}

/** Installs nginx and libnginx-mod-rtmp from Debian when missing (root, or sudo). */
export async function ensurePeerInstalled(log: (s: string) => void): Promise<void> {
  if (hasPeer()) return;
  log('peer: installing nginx and libnginx-mod-rtmp with apt-get…');
  const root = process.getuid?.() === 0;
  const apt = (args: string[]) =>
    root
      ? run('apt-get', args, { timeoutMs: 600_000 })
      : run('sudo', ['apt-get', ...args], { timeoutMs: 600_000 });
  let r = await apt(['install', '-y', '-q', 'nginx', 'libnginx-mod-rtmp']);
  if (r.code !== 0) {
    await apt(['update', '-q']);
    r = await apt(['install', '-y', '-q', 'nginx', 'libnginx-mod-rtmp']);
  }
  if (r.code !== 0 || !hasPeer())
    throw new Error(`could not install the peer (nginx + libnginx-mod-rtmp): ${r.stderr.slice(-2000)}`);
  // Debian's package starts a default server on port 80 where an init system exists; ours never uses it.
}

async function playerScript(pkg: 'hls.js' | 'dashjs'): Promise<string> {
  const require = createRequire(import.meta.url);
  // Both packages' "exports" hide their dist/ files: walk up from the main entry instead.
  try {
    for (let dir = dirname(require.resolve(pkg)); dir !== dirname(dir); dir = dirname(dir)) {
      const candidate = join(
        dir,
        'dist',
        ...(pkg === 'hls.js' ? ['hls.min.js'] : ['modern', 'umd', 'dash.all.min.js']),
      );
      if (existsSync(candidate)) return candidate;
    }
  } catch {
    // not installed
  }
  if (pkg === 'dashjs') throw new Error('dashjs is not installed (npm ci)');
  // hls.js is only the peer's player: fetched from the npm registry into the bench cache if missing.
  const dir = join(CACHE_DIR, `hls.js-${HLS_JS_VERSION}`);
  const file = join(dir, 'package', 'dist', 'hls.min.js');
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    const p = await run('npm', ['pack', `hls.js@${HLS_JS_VERSION}`, '--pack-destination', dir], {
      timeoutMs: 120_000,
    });
    if (p.code !== 0) throw new Error(`npm pack hls.js failed: ${p.stderr}`);
    const t = await run('tar', ['-xzf', join(dir, `hls.js-${HLS_JS_VERSION}.tgz`), '-C', dir]);
    if (t.code !== 0 || !existsSync(file)) throw new Error(`could not unpack hls.js: ${t.stderr}`);
  }
  return file;
}

const HLS_PAGE = `<!doctype html><html><body style="margin:0;background:#000">
<video id="video" muted autoplay playsinline style="width:640px;height:360px"></video>
<script src="/hls.min.js"></script>
<script>
  const video = document.getElementById('video');
  // hls.js tuned for the lowest latency nginx-rtmp's 1 s fragments allow.
  const hls = new Hls({ liveSyncDurationCount: 1, liveMaxLatencyDurationCount: 3, maxLiveSyncPlaybackRate: 1.1, enableWorker: true, lowLatencyMode: true, backBufferLength: 4 });
  hls.loadSource('/hls/${PEER_STREAM}.m3u8');
  hls.attachMedia(video);
  hls.on(Hls.Events.MANIFEST_PARSED, () => video.play().catch(() => {}));
  hls.on(Hls.Events.ERROR, (e, d) => { if (d.fatal) { if (d.type === Hls.ErrorTypes.MEDIA_ERROR) hls.recoverMediaError(); else setTimeout(() => hls.loadSource('/hls/${PEER_STREAM}.m3u8'), 500); } });
</script></body></html>`;

const DASH_PAGE = `<!doctype html><html><body style="margin:0;background:#000">
<video id="video" muted autoplay playsinline style="width:640px;height:360px"></video>
<script src="/dash.all.min.js"></script>
<script>
  const video = document.getElementById('video');
  const player = dashjs.MediaPlayer().create();
  // dash.js as close to the edge as nginx-rtmp's 1 s DASH fragments allow: two fragments.
  player.updateSettings({ streaming: { delay: { liveDelay: 2 }, liveCatchup: { enabled: true, maxDrift: 1.5, playbackRate: { min: -0.1, max: 0.1 } } } });
  player.initialize(video, '/dash/${PEER_STREAM}.mpd', true);
</script></body></html>`;

export async function startPeer(): Promise<Peer> {
  const prefix = join(BENCH_OUT, 'peer');
  rmSync(prefix, { recursive: true, force: true });
  for (const d of ['hls', 'dash', 'www', 'tmp', 'logs']) mkdirSync(join(prefix, d), { recursive: true });
  copyFileSync(await playerScript('hls.js'), join(prefix, 'www', 'hls.min.js'));
  copyFileSync(await playerScript('dashjs'), join(prefix, 'www', 'dash.all.min.js'));
  writeFileSync(join(prefix, 'www', 'hls.html'), HLS_PAGE);
  writeFileSync(join(prefix, 'www', 'dash.html'), DASH_PAGE);
  const rtmpPort = await freePort();
  const httpPort = await freePort();
  const conf = `
load_module ${RTMP_MODULE};
daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile 65536;
pid ${prefix}/nginx.pid;
error_log ${prefix}/logs/error.log warn;
events { worker_connections 30000; }
rtmp {
  server {
    listen 127.0.0.1:${rtmpPort};
    chunk_size 4096;
    application live {
      live on;
      record off;
      hls on;
      hls_path ${prefix}/hls;
      hls_fragment 1s;
      hls_playlist_length 4s;
      hls_cleanup on;
      dash on;
      dash_path ${prefix}/dash;
      dash_fragment 1s;
      dash_playlist_length 4s;
      dash_cleanup on;
    }
  }
}
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_timeout 65;
  keepalive_requests 1000000;
  client_body_temp_path ${prefix}/tmp/body;
  proxy_temp_path ${prefix}/tmp/proxy;
  fastcgi_temp_path ${prefix}/tmp/fastcgi;
  uwsgi_temp_path ${prefix}/tmp/uwsgi;
  scgi_temp_path ${prefix}/tmp/scgi;
  types {
    text/html html;
    application/javascript js;
    application/vnd.apple.mpegurl m3u8;
    video/mp2t ts;
    application/dash+xml mpd;
    video/mp4 m4v m4a mp4;
  }
  server {
    listen 127.0.0.1:${httpPort};
    root ${prefix}/www;
    location /hls/ { alias ${prefix}/hls/; add_header Cache-Control no-cache; add_header Access-Control-Allow-Origin *; }
    location /dash/ { alias ${prefix}/dash/; add_header Cache-Control no-cache; add_header Access-Control-Allow-Origin *; }
  }
}
`;
  const confFile = join(prefix, 'nginx.conf');
  writeFileSync(confFile, conf);
  const v = (await run('nginx', ['-v'])).stderr.trim().replace('nginx version: ', '');
  const rtmpPkg = (await run('dpkg-query', ['-W', '-f=${Version}', 'libnginx-mod-rtmp'])).stdout
    .toString()
    .trim();
  const proc = start('nginx', ['-e', join(prefix, 'logs', 'error.log'), '-p', prefix, '-c', confFile]);
  const t0 = Date.now();
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`nginx exited: ${proc.output()}`);
    try {
      const r = await fetch(`http://127.0.0.1:${httpPort}/hls.html`);
      if (r.ok) break;
    } catch {
      // starting
    }
    if (Date.now() - t0 > 10_000) throw new Error(`nginx did not start: ${proc.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    proc,
    masterPid: proc.pid!,
    workerPids: () => childPids(proc.pid!),
    rtmpPort,
    httpPort,
    httpUrl: `http://127.0.0.1:${httpPort}`,
    publishUrl: `rtmp://127.0.0.1:${rtmpPort}/live/${PEER_STREAM}`,
    version: `${v}, nginx-rtmp-module ${rtmpPkg}`,
    close: () => stop(proc, 3000),
  };
}

/** Resolves once nginx-rtmp has written a playlist with at least `fragments` fragments. */
export async function waitPeerLive(peer: Peer, fragments = 2, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      const r = await fetch(`${peer.httpUrl}/hls/${PEER_STREAM}.m3u8`);
      if (r.ok && ((await r.text()).match(/\.ts/g)?.length ?? 0) >= fragments) return;
    } catch {
      // not yet
    }
    if (Date.now() > end) throw new Error('the peer did not produce HLS fragments in time');
    await new Promise((r) => setTimeout(r, 250));
  }
}
