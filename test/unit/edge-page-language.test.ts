/**
 * The language a page is served in and the page as rendered in it (issue 16): the viewer's choice in the
 * tc_lang cookie, else Accept-Language by quality, else English; the page's marked text and attributes from
 * the catalogue, `lang` on <html>, the strings its scripts use inlined as data; a catalogue string holding
 * markup arrives as text; and every page is rendered whole in every language.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acceptedLanguage, cookieLanguage, pageLanguage, LANGUAGES } from '../../src/edge/page-locale.js';
import {
  loadCatalogues,
  pageKeys,
  pageScripts,
  renderPage,
  withFallback,
  type Catalogue,
} from '../../src/edge/page-catalogue.js';
import { PlayerPages } from '../../src/edge/player-page.js';
import { ServedFile } from '../../src/edge/static-serve.js';
import { loadStaticFiles, publicDir } from '../../src/edge/static-files.js';

test('Accept-Language: the best-rated language the site has, by its primary subtag', () => {
  assert.equal(acceptedLanguage('ru-RU,ru;q=0.9,en;q=0.8'), 'ru');
  assert.equal(acceptedLanguage('sv-SE'), 'sv');
  assert.equal(acceptedLanguage('de'), null);
  assert.equal(acceptedLanguage('de-DE,de;q=0.9,sv;q=0.5,ru;q=0.4'), 'sv', 'the first it has, by quality');
  assert.equal(acceptedLanguage('en;q=0.5, ru;q=0.8'), 'ru', 'quality, not order');
  assert.equal(acceptedLanguage('ru;q=0, sv'), 'sv', 'q=0 refuses');
  assert.equal(acceptedLanguage('RU'), 'ru');
  assert.equal(acceptedLanguage('*'), null);
  assert.equal(acceptedLanguage(''), null);
  assert.equal(acceptedLanguage('ru;q=abc'), null, 'a bad quality counts as refused');
  assert.equal(acceptedLanguage(`${'x,'.repeat(100)}ru`), null, 'only the first 64 ranges are read');
});

test('the cookie wins over Accept-Language; a cookie with anything else is ignored; English last', () => {
  assert.equal(cookieLanguage('a=1; tc_lang=sv; b=2'), 'sv');
  assert.equal(cookieLanguage('tc_lang=de'), null);
  assert.equal(cookieLanguage('tc_lang=ru<script>'), null);
  assert.equal(cookieLanguage('xtc_lang=ru'), null);
  assert.equal(pageLanguage('tc_lang=sv', 'ru-RU,ru;q=0.9'), 'sv');
  assert.equal(pageLanguage('tc_lang=fr', 'ru-RU,ru;q=0.9'), 'ru');
  assert.equal(pageLanguage('', 'de-DE'), 'en');
  assert.equal(pageLanguage('', ''), 'en');
});

const PAGE = `<!doctype html>
<html lang="en">
  <head>
    <title data-i18n="t.title">Title</title>
  </head>
  <body>
    <p data-i18n="t.text" class="x">
      Some text
    </p>
    <input placeholder="Type" data-i18n-placeholder="t.hint" />
    <button title="Old" aria-label="Old" data-i18n-title="t.hint" data-i18n-aria-label="t.label" data-i18n="t.text"
      >Go</button
    >
    <span data-i18n-title="t.hint">no title yet</span>
    <p data-i18n="t.missing">Kept</p>
  </body>
</html>
`;
const CATALOGUE: Catalogue = {
  t: { title: 'Заголовок', text: '<b>bold</b> & "quoted"', hint: 'a "hint" <i>', label: 'Метка' },
  other: { unused: 'x' },
};

test('a page in one language: text, attributes and lang from the catalogue, markup escaped as text', () => {
  const out = renderPage(PAGE, 'ru', CATALOGUE, ["t('t.text')"]);
  assert.match(out, /<html lang="ru">/);
  assert.match(out, /<title data-i18n="t.title">Заголовок<\/title>/);
  assert.match(out, /class="x">\n {6}&lt;b&gt;bold&lt;\/b&gt; &amp; "quoted"\n {4}<\/p>/);
  assert.match(out, /<input placeholder="a &quot;hint&quot; &lt;i&gt;" data-i18n-placeholder="t.hint" \/>/);
  assert.match(out, /<button title="a &quot;hint&quot; &lt;i&gt;" aria-label="Метка" [^>]*>&lt;b&gt;bold/);
  assert.match(out, /<span data-i18n-title="t.hint" title="a &quot;hint&quot; &lt;i&gt;">no title yet/);
  assert.match(out, /<p data-i18n="t.missing">Kept<\/p>/, 'a key the catalogue lacks keeps the English');
  assert.doesNotMatch(out, /<b>|<i>/, 'no markup from the catalogue reaches the HTML');
  // The strings of the areas the page uses, as data that no string can break out of.
  const block = /<script type="application\/json" id="tc-catalogue">(.*)<\/script>\n {2}<\/head>/.exec(out);
  assert.ok(block, 'the catalogue block sits at the end of the head');
  assert.doesNotMatch(block[1]!, /</);
  assert.deepEqual(JSON.parse(block[1]!), { lang: 'ru', strings: { t: CATALOGUE.t } });
  // A page without scripts gets no block.
  assert.doesNotMatch(renderPage(PAGE, 'ru', CATALOGUE, []), /tc-catalogue/);
});

const catalogues = withFallback(loadCatalogues());
const dir = publicDir();
const pages = readdirSync(dir).filter((f) => f.endsWith('.html'));

test('every page renders whole in every language: each marked element and attribute is translated', () => {
  // Each key stands for itself, so a marker that the renderer missed (an element holding markup, a key
  // spelled in a way the pattern does not take) shows up as a key not found in the output.
  const missed: string[] = [];
  for (const page of pages) {
    const html = readFileSync(join(dir, page), 'utf8');
    const keys = pageKeys(html);
    const marked: Catalogue = {};
    for (const key of keys) {
      const parts = key.split('.');
      let node = marked;
      for (const p of parts.slice(0, -1)) node = (node[p] ??= {}) as Catalogue;
      node[parts.at(-1)!] = `[[${key}]]`;
    }
    const out = renderPage(html, 'en', marked, []);
    const found = new Set([...out.matchAll(/\[\[([\w.-]+)\]\]/g)].map((m) => m[1]));
    for (const key of keys) if (!found.has(key)) missed.push(`${page}: ${key}`);
  }
  assert.deepEqual(missed, []);
  for (const lang of LANGUAGES)
    for (const page of pages) {
      const out = renderPage(readFileSync(join(dir, page), 'utf8'), lang, catalogues.get(lang)!, []);
      assert.match(out, new RegExp(`<html lang="${lang}"`), `${page} in ${lang}`);
    }
});

test('the watch page in Russian: Russian words, and the strings its code uses only', () => {
  const cache = mkdtempSync(join(tmpdir(), 'tiercast-i18n-'));
  try {
    // As served: bundled, and with its modules one by one (then the page preloads each of them).
    for (const bundle of [true, false]) {
      const files = loadStaticFiles(undefined, cache, { bundle });
      const html = files.get('watch.html')!.body.toString();
      const scripts = pageScripts(html).map((s) => files.get(s)!.body.toString());
      const out = renderPage(html, 'ru', catalogues.get('ru')!, scripts);
      assert.match(out, /<h2 id="chat-heading" class="chat-heading" data-i18n="chat.heading">Чат<\/h2>/);
      assert.match(out, /placeholder="Подключаемся к чату…"/);
      const data = JSON.parse(/id="tc-catalogue">(.*?)<\/script>/.exec(out)![1]!) as {
        strings: Record<string, unknown>;
      };
      for (const area of ['bell', 'chat', 'common', 'errors', 'player', 'watch'])
        assert.ok(data.strings[area], `${area} (bundle: ${bundle})`);
      for (const area of ['dashboard', 'broadcast'])
        assert.equal(data.strings[area], undefined, `not ${area} (bundle: ${bundle})`);
    }
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});

test('i18next is served for modules loaded one by one, and bundled into the pages', () => {
  const cache = mkdtempSync(join(tmpdir(), 'tiercast-i18n-'));
  try {
    const single = loadStaticFiles(undefined, cache, { bundle: false });
    assert.match(single.get('i18n.js')!.body.toString(), /^import i18next from '\.\/i18next\.js';$/m);
    assert.match(single.get('i18next.js')!.body.toString(), /export \{[^}]* as default\b/);
    assert.match(
      single.get('watch.html')!.body.toString(),
      /rel="modulepreload" href="\/static\/i18next\.js"/,
    );
    const bundled = loadStaticFiles(undefined, cache);
    const code = bundled.get('watch.bundle.js')!.body.toString();
    assert.doesNotMatch(code, /from ['"](\.\/)?i18next(\.js)?['"]/, 'no import left to resolve');
    const map = JSON.parse(bundled.get('watch.bundle.js.map')!.body.toString()) as { sources: string[] };
    assert.ok(map.sources.includes('i18next.js'), 'the map names it as served');
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});

test('each page variant (language, theme, hint) is made once, with its own validator', () => {
  const html = Buffer.from(readFileSync(join(dir, 'watch.html')));
  const base = new ServedFile(html, 'text/html; charset=utf-8');
  const pages = new PlayerPages(new Map([['watch.html', base]]));
  const en = pages.page('watch.html', null)!;
  const ru = pages.page('watch.html', null, null, 'ru')!;
  const ruDark = pages.page('watch.html', null, 'dark', 'ru')!;
  assert.equal(pages.page('watch.html', null, null, 'ru'), ru, 'made once');
  assert.match(en.body.toString(), /<html lang="en">/);
  assert.match(ru.body.toString(), /<html lang="ru">/);
  assert.match(ruDark.body.toString(), /<html data-theme="dark" lang="ru">/);
  assert.equal(new Set([en.etag, ru.etag, ruDark.etag]).size, 3);
});
