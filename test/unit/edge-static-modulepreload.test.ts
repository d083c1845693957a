import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { loadStaticFiles, withModulePreloads, type StaticFile } from '../../src/edge/static-files.js';

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

test("the watch page as served preloads the player's and the chat's modules", () => {
  const files = loadStaticFiles();
  const watch = files.get('watch.html')!.body.toString();
  const preloaded = new Set(
    [...watch.matchAll(/rel="modulepreload" href="\/static\/([^"]+)"/g)].map((m) => m[1]),
  );
  for (const deep of ['webcodecs-player.js', 'cmaf-demux.js', 'playout-timing.js', 'chat-view.js'])
    assert.ok(preloaded.has(deep), `${deep} preloaded`);
  for (const name of preloaded) assert.ok(files.has(name!), `${name} is served`);
  assert.ok(!preloaded.has('player.js'), 'the page scripts themselves are not repeated');
});
