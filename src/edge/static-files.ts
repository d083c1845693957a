/**
 * The edge's page assets, loaded into memory once at start-up. Requests are looked up by exact name in
 * this map, so no request path ever reaches the filesystem (no traversal possible). Each page's module
 * scripts are also joined into one bundle (ADR 0022); the modules stay served one by one as well.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_STATIC_CACHE_DIR, storeAtomically } from './static-serve.js';

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
  '.map': 'application/json',
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

/**
 * `cacheDir`: where page bundles are kept between starts, keyed by the content of every page and module
 * (the edge's `staticCacheDir`, shared with the compressed copies): a release is bundled once per machine.
 */
export function loadStaticFiles(
  dir = publicDir(),
  cacheDir = DEFAULT_STATIC_CACHE_DIR,
  options: { bundle?: boolean } = {},
): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  if (existsSync(dir)) {
    for (const name of readdirSync(dir)) {
      const type = TYPES[extname(name)];
      if (!type) continue;
      files.set(name, { body: readFileSync(join(dir, name)), contentType: type });
    }
  }
  // The catalogues' library, for the pages' i18n.js (bundled in from node_modules; served for modules
  // loaded one by one, whose bare `from 'i18next'` a browser could not resolve).
  const i18next = i18nextBuild();
  if (i18next) files.set('i18next.js', { body: readFileSync(i18next), contentType: TYPES['.js']! });
  for (const [name, f] of files) {
    if (name.endsWith('.js') && f.body.includes(BARE_I18NEXT))
      files.set(name, {
        ...f,
        body: Buffer.from(f.body.toString('utf8').replaceAll(BARE_I18NEXT, "from './i18next.js'")),
      });
  }
  const bundler = options.bundle === false ? null : loadBundler();
  const key = bundler ? contentKey(files) : '';
  for (const [name, f] of [...files]) {
    if (!name.endsWith('.html')) continue;
    const bundled = bundler
      ? cachedPageBundle(name, f.body, dir, bundler, join(cacheDir, `bundle-${key}`))
      : null;
    if (!bundled) {
      files.set(name, { ...f, body: withModulePreloads(f.body, files) });
      continue;
    }
    files.set(name, { ...f, body: bundled.html });
    files.set(bundled.name, { body: bundled.code, contentType: TYPES['.js']! });
    files.set(`${bundled.name}.map`, { body: bundled.map, contentType: TYPES['.map']! });
  }
  // Players loaded by the watch page only in their mode (dash-player.js, hlsjs-player.js), served from the
  // installed packages so their versions are the ones in package-lock.json.
  const dash = dashJsBuild();
  if (dash) files.set('dash.all.min.js', { body: readFileSync(dash), contentType: TYPES['.js']! });
  const hls = resolveOrNull('hls.js/dist/hls.min.js');
  if (hls) files.set('hls.min.js', { body: readFileSync(hls), contentType: TYPES['.js']! });
  // The dashboard's analytics chart (issue 16), loaded when its panel opens.
  const uplot = resolveOrNull('uplot/dist/uPlot.iife.min.js');
  if (uplot) {
    files.set('uPlot.iife.min.js', { body: readFileSync(uplot), contentType: TYPES['.js']! });
    files.set('uPlot.min.css', {
      body: readFileSync(join(dirname(uplot), 'uPlot.min.css')),
      contentType: TYPES['.css']!,
    });
  }
  return files;
}

const BARE_I18NEXT = "from 'i18next'";

/** i18next's ES module build, one file without imports (its "exports" name only the package's entries). */
function i18nextBuild(): string | null {
  const main = resolveOrNull('i18next');
  const esm = main ? join(dirname(main), '..', 'esm', 'i18next.js') : null;
  return esm && existsSync(esm) ? esm : null;
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

type BuildSync = (typeof import('esbuild'))['buildSync'];
type BuildResult = ReturnType<BuildSync>;
type PageBundle = { html: Buffer; name: string; code: Buffer; map: Buffer };

/** A key for the whole set of pages and modules as loaded (any change to any of them makes a new key). */
function contentKey(files: ReadonlyMap<string, StaticFile>): string {
  const h = createHash('sha256');
  for (const name of [...files.keys()].sort()) h.update(name).update('\0').update(files.get(name)!.body);
  return h.digest('base64url').slice(0, 22);
}

/** withPageBundle, read from `dir` when an earlier start made it for the same content, else made and stored. */
function cachedPageBundle(
  page: string,
  html: Buffer,
  src: string,
  buildSync: BuildSync,
  dir: string,
): PageBundle | null {
  const name = `${page.replace(/\.html$/, '')}.bundle.js`;
  const paths = { html: join(dir, page), code: join(dir, name), map: join(dir, `${name}.map`) };
  try {
    return {
      name,
      html: readFileSync(paths.html),
      code: readFileSync(paths.code),
      map: readFileSync(paths.map),
    };
  } catch {
    // not made yet for this content
  }
  const made = withPageBundle(page, html, src, buildSync);
  if (made)
    for (const part of ['code', 'map', 'html'] as const) storeAtomically(dir, paths[part], made[part]);
  return made;
}

/** esbuild, when installed (a dependency); without it pages load their modules one by one, preloaded. */
function loadBundler(): BuildSync | null {
  try {
    return (require('esbuild') as typeof import('esbuild')).buildSync;
  } catch {
    return null;
  }
}

/**
 * A page's module scripts as one script: the watch page's four scripts import 44 modules, and on a busy
 * machine each request costs the browser more than its bytes (DOMContentLoaded 370–860 ms with all of them
 * preloaded, ADR 0022). The bundle's entry imports the page's scripts in document order, so the modules run
 * in the order the browser would run them, each once (modules that keep state, such as the access gate
 * shared by the player and the chat, stay one instance). Not minified: the map names the files as served.
 * Null when the page has no module script, or the bundle cannot be made (the page then loads its modules).
 */
export function withPageBundle(
  page: string,
  html: Buffer,
  dir: string,
  buildSync: BuildSync,
): PageBundle | null {
  const text = html.toString('utf8');
  const entries = [...text.matchAll(MODULE_SCRIPT)].map((m) => m[1]!);
  if (entries.length === 0) return null;
  const name = `${page.replace(/\.html$/, '')}.bundle.js`;
  let out: BuildResult;
  try {
    out = buildSync({
      stdin: {
        contents: entries.map((e) => `import './${e}';`).join('\n'),
        resolveDir: dir,
        sourcefile: `${page} (module scripts)`,
        loader: 'js',
      },
      bundle: true,
      format: 'esm',
      target: 'es2022',
      outfile: join(dir, name),
      sourcemap: 'linked',
      sourcesContent: false,
      write: false,
      logLevel: 'silent',
      charset: 'utf8',
      legalComments: 'none',
    });
  } catch {
    return null;
  }
  const code = out.outputFiles?.find((f) => f.path.endsWith('.js'));
  const map = out.outputFiles?.find((f) => f.path.endsWith('.map'));
  if (!code || !map) return null;
  // The first script's place takes the bundle; the others go (document order is kept inside the bundle).
  let first = true;
  const rewritten = text.replace(
    new RegExp(`([ \\t]*)${MODULE_SCRIPT.source}\\n?`, 'g'),
    (line, indent: string) => {
      if (!first) return '';
      first = false;
      return `${indent}<script type="module" src="/static/${name}"></script>\n`;
    },
  );
  return {
    html: Buffer.from(rewritten),
    name,
    code: Buffer.from(code.contents),
    map: servedSources(map.text),
  };
}

/** The map names a package's file as the edge serves it (i18next from node_modules is /static/i18next.js). */
function servedSources(mapText: string): Buffer {
  const map = JSON.parse(mapText) as { sources: string[] };
  map.sources = map.sources.map((s) => (s.endsWith('/i18next/dist/esm/i18next.js') ? 'i18next.js' : s));
  return Buffer.from(JSON.stringify(map));
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
