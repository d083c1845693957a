/**
 * The edge's page assets, loaded into memory once at start-up. Requests are looked up by exact name in
 * this map, so no request path ever reaches the filesystem (no traversal possible).
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface StaticFile {
  body: Buffer;
  contentType: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
};

const require = createRequire(import.meta.url);

export function publicDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // src/edge/static-files.ts in development, dist/edge/static-files.js when built.
  for (const candidate of [join(here, 'public'), join(here, '..', '..', 'src', 'edge', 'public')]) {
    if (existsSync(join(candidate, 'watch.html'))) return candidate;
  }
  return join(here, 'public');
}

export function loadStaticFiles(dir = publicDir()): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  if (existsSync(dir)) {
    for (const name of readdirSync(dir)) {
      const type = TYPES[extname(name)];
      if (!type) continue;
      files.set(name, { body: readFileSync(join(dir, name)), contentType: type });
    }
  }
  // Players loaded by the watch page only in their mode (dash-player.js, hlsjs-player.js), served from the
  // installed packages so their versions are the ones in package-lock.json.
  const dash = dashJsBuild();
  if (dash) files.set('dash.all.min.js', { body: readFileSync(dash), contentType: TYPES['.js']! });
  const hls = resolveOrNull('hls.js/dist/hls.min.js');
  if (hls) files.set('hls.min.js', { body: readFileSync(hls), contentType: TYPES['.js']! });
  return files;
}

function resolveOrNull(specifier: string): string | null {
  try {
    return require.resolve(specifier);
  } catch {
    return null; // not installed: that mode's script is then a 404 and the page falls back
  }
}

/** dashjs's "exports" hide package.json; its main entry sits under dist/, next to the UMD build. */
function dashJsBuild(): string | null {
  const main = resolveOrNull('dashjs');
  if (!main) return null;
  for (let dir = dirname(main); dir !== dirname(dir); dir = dirname(dir)) {
    const candidate = join(dir, 'dist', 'modern', 'umd', 'dash.all.min.js');
    if (existsSync(candidate)) return candidate;
  }
  return null;
}
