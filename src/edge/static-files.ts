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
  for (const [name, f] of files)
    if (name.endsWith('.html')) files.set(name, { ...f, body: withModulePreloads(f.body, files) });
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

const MODULE_SCRIPT = /<script type="module" src="\/static\/([\w.-]+\.js)"><\/script>/g;
/** Top-level static imports of a page module (not `/** @import` type comments, not dynamic imports). */
const STATIC_IMPORT = /^import\s(?:[^;]*?\sfrom\s)?'\.\/([\w.-]+\.js)'/gms;

/**
 * A page's module scripts import modules that import more: without help the browser finds them one level
 * at a time (four round trips for the watch page, ~400 ms before its player could start). Every module a
 * page's scripts import, however deep, is listed as `<link rel="modulepreload">` before the first script,
 * so all of them are fetched at once.
 */
export function withModulePreloads(html: Buffer, files: ReadonlyMap<string, StaticFile>): Buffer {
  const text = html.toString('utf8');
  const entries = [...text.matchAll(MODULE_SCRIPT)].map((m) => m[1]!);
  if (entries.length === 0) return html;
  const seen = new Set<string>(entries);
  const deps: string[] = [];
  const queue = [...entries];
  for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
    const body = files.get(name)?.body.toString('utf8') ?? '';
    for (const m of body.matchAll(STATIC_IMPORT)) {
      const dep = m[1]!;
      if (seen.has(dep) || !files.has(dep)) continue;
      seen.add(dep);
      deps.push(dep);
      queue.push(dep);
    }
  }
  if (deps.length === 0) return html;
  const first = text.search(MODULE_SCRIPT);
  const indent = /[ \t]*$/.exec(text.slice(0, first))?.[0] ?? '';
  const links = deps.map((d) => `<link rel="modulepreload" href="/static/${d}" />\n${indent}`).join('');
  return Buffer.from(text.slice(0, first) + links + text.slice(first));
}
