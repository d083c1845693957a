import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import {
  loadStaticFiles,
  withModulePreloads,
  withPageBundle,
  type StaticFile,
} from '../../src/edge/static-files.js';

const js = (text: string): StaticFile => ({ body: Buffer.from(text), contentType: 'text/javascript' });

test('a page preloads every module its scripts import, however deep, once each, before its first script', () => {
  const files = new Map<string, StaticFile>([
    [
      'main.js',
      js("import { a } from './a.js';\nimport './side.js';\n/** @import { T } from './types.js' */\n"),
    ],
    ['a.js', js("import {\n  b,\n  c,\n} from './b.js';\nconst lazy = () => import('./lazy.js');\n")],
    ['b.js', js("import { a } from './a.js';\nimport { gone } from './missing.js';\n")],
    ['side.js', js('export {};\n')],
    ['types.js', js('export {};\n')],
    ['lazy.js', js('export {};\n')],
  ]);
  const html = Buffer.from(
    '<head>\n    <link rel="stylesheet" href="/static/style.css" />\n    <script type="module" src="/static/main.js"></script>\n</head>',
  );
  const out = withModulePreloads(html, files).toString();
  const preloaded = [...out.matchAll(/rel="modulepreload" href="\/static\/([^"]+)"/g)].map((m) => m[1]);
  assert.deepEqual(preloaded, ['a.js', 'side.js', 'b.js']);
  assert.ok(out.indexOf('modulepreload') < out.indexOf('<script'), 'links come before the script');
  assert.match(out, /\n {4}<link rel="modulepreload" href="\/static\/a.js" \/>\n {4}<link/);
  assert.equal(withModulePreloads(Buffer.from('<p>no scripts</p>'), files).toString(), '<p>no scripts</p>');
});

test("a page's module scripts become one bundle: document order kept, each module once, the rest of the page untouched", () => {
  const dir = mkdtempSync(join(tmpdir(), 'tiercast-bundle-'));
  try {
    const write = (name: string, text: string) => writeFileSync(join(dir, name), text);
    // Two page scripts share a module with state: in the page it is one instance, and so in the bundle.
    write('shared.js', "export const log = [];\nlog.push('shared');\n");
    write('first.js', "import { log } from './shared.js';\nlog.push('first');\nglobalThis.seen = log;\n");
    write('second.js', "import { log } from './shared.js';\nlog.push('second');\n");
    const html = Buffer.from(
      '<head>\n    <title>t</title>\n    <script type="module" src="/static/first.js"></script>\n    <script type="module" src="/static/second.js"></script>\n</head>\n<body><p>text</p></body>',
    );
    const out = withPageBundle('page.html', html, dir, buildSync)!;
    assert.ok(out, 'bundled');
    assert.equal(out.name, 'page.bundle.js');
    assert.equal(
      out.html.toString(),
      '<head>\n    <title>t</title>\n    <script type="module" src="/static/page.bundle.js"></script>\n</head>\n<body><p>text</p></body>',
    );
    const code = out.code.toString();
    assert.equal(code.match(/log\.push\("shared"\)/g)?.length, 1, 'the shared module once');
    assert.ok(code.indexOf('"first"') < code.indexOf('"second"'), 'document order');
    assert.match(code, /\/\/# sourceMappingURL=page\.bundle\.js\.map\s*$/);
    const map = JSON.parse(out.map.toString()) as { sources: string[] };
    assert.deepEqual(
      [...map.sources].sort(),
      ['first.js', 'second.js', 'shared.js'],
      'the map names the files as served',
    );
    // A page without module scripts, or whose modules do not resolve, is left to load them itself.
    assert.equal(withPageBundle('plain.html', Buffer.from('<p>no scripts</p>'), dir, buildSync), null);
    const broken = Buffer.from('<script type="module" src="/static/missing.js"></script>');
    assert.equal(withPageBundle('broken.html', broken, dir, buildSync), null);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the pages as served load one bundle each, holding the player's and the chat's modules; a second start reads it from the cache", () => {
  const cache = mkdtempSync(join(tmpdir(), 'tiercast-bundle-cache-'));
  try {
    const files = loadStaticFiles(undefined, cache);
    const watch = files.get('watch.html')!.body.toString();
    const scripts = [...watch.matchAll(/<script type="module" src="\/static\/([^"]+)"/g)].map((m) => m[1]);
    assert.deepEqual(scripts, ['watch.bundle.js']);
    assert.doesNotMatch(watch, /modulepreload/);
    const sources = (JSON.parse(files.get('watch.bundle.js.map')!.body.toString()) as { sources: string[] })
      .sources;
    for (const deep of [
      'player.js',
      'watch.js',
      'webcodecs-player.js',
      'cmaf-demux.js',
      'playout-timing.js',
      'chat-view.js',
    ])
      assert.ok(sources.includes(deep), `${deep} in the bundle`);
    // The modules stay served one by one (worklets, and anything that imports them by URL).
    for (const name of sources) assert.ok(files.has(name), `${name} is served`);
    assert.ok(files.has('playout-audio-worklet.js'));
    const again = loadStaticFiles(undefined, cache);
    assert.deepEqual(again.get('watch.bundle.js')!.body, files.get('watch.bundle.js')!.body);
    assert.ok(
      readdirSync(cache).some((d) => d.startsWith('bundle-')),
      'kept in the cache directory',
    );
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});
