/**
 * The catalogues are complete (issue 16): every key a page's HTML marks or its scripts pass to `t()` is in
 * English, Russian and Swedish; the three have the same keys, each plural in the forms its language has
 * (Russian one/few/many/other, English and Swedish one/other); a translation uses the variables the English
 * string uses; and no catalogue keeps a key nothing uses. A missing or stray key fails here, not in front
 * of a viewer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadCatalogues, type Catalogue } from '../../src/edge/page-catalogue.js';
import { LANGUAGES } from '../../src/edge/page-locale.js';
import { publicDir } from '../../src/edge/static-files.js';

const dir = publicDir();
const catalogues = loadCatalogues();
const PLURAL = /_(zero|one|two|few|many|other)$/;

function flatten(c: Catalogue, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(c)) {
    if (typeof v === 'string') out.set(prefix + k, v);
    else for (const [kk, vv] of flatten(v, `${prefix}${k}.`)) out.set(kk, vv);
  }
  return out;
}

/** Base key → its forms ('' for a key without plural forms). */
function grouped(c: Catalogue): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  for (const [key, value] of flatten(c)) {
    const m = PLURAL.exec(key);
    const base = m ? key.slice(0, m.index) : key;
    const forms = out.get(base) ?? new Map<string, string>();
    forms.set(m ? m[1]! : '', value);
    out.set(base, forms);
  }
  return out;
}

const variables = (forms: Map<string, string>) =>
  [...new Set([...forms.values()].flatMap((s) => [...s.matchAll(/\{\{\s*(\w+)\s*\}\}/g)].map((m) => m[1])))]
    .filter((v) => v !== 'count')
    .sort();

const files = readdirSync(dir);
const html = files.filter((f) => f.endsWith('.html')).map((f) => [f, readFileSync(join(dir, f), 'utf8')]);
const js = files.filter((f) => f.endsWith('.js')).map((f) => [f, readFileSync(join(dir, f), 'utf8')]);

/** Keys the HTML marks: text (data-i18n) and attributes (data-i18n-ATTR). */
const htmlKeys = new Map<string, string>();
for (const [f, text] of html)
  for (const m of text!.matchAll(/\sdata-i18n(?:-[a-z][\w-]*)?="([^"]*)"/g)) htmlKeys.set(m[1]!, f!);
/** Keys the scripts pass to t(), has() or template(), and the families they build (`errors.${code}`). */
const scriptKeys = new Map<string, string>();
const families = new Map<string, string>();
for (const [f, text] of js) {
  for (const m of text!.matchAll(/(?<![\w.])(?:t|has|template)\(\s*'([^']*)'/g)) scriptKeys.set(m[1]!, f!);
  for (const m of text!.matchAll(/(?<![\w.])(?:t|has)\(\s*`([\w.]+\.)\$\{/g)) families.set(m[1]!, f!);
}

test('every script writes its keys out, so they can be found (no t(variable))', () => {
  const hidden: string[] = [];
  for (const [f, text] of js) {
    for (const m of text!.matchAll(/(?<![\w.]|function )t\(\s*(?!['`)])([^,)]*)/g))
      hidden.push(`${f}: t(${m[1]})`);
  }
  assert.deepEqual(hidden, []);
});

test('English, Russian and Swedish have the same keys, each plural in its own forms', () => {
  const en = grouped(catalogues.get('en')!);
  assert.ok(en.size > 100, 'the English catalogue is loaded');
  for (const lang of LANGUAGES) {
    const c = catalogues.get(lang);
    assert.ok(c, `a catalogue for ${lang}`);
    const own = grouped(c);
    const categories = new Intl.PluralRules(lang).resolvedOptions().pluralCategories.sort();
    const missing = [...en.keys()].filter((k) => !own.has(k));
    const extra = [...own.keys()].filter((k) => !en.has(k));
    assert.deepEqual({ missing, extra }, { missing: [], extra: [] }, lang);
    const badForms: string[] = [];
    const badVars: string[] = [];
    const empty: string[] = [];
    for (const [key, forms] of own) {
      const plural = en.get(key)!.has('other');
      const have = [...forms.keys()].sort();
      if (plural ? have.join() !== categories.join() : have.join() !== '')
        badForms.push(`${key}: ${have.join('/') || 'no forms'}`);
      if (variables(forms).join() !== variables(en.get(key)!).join())
        badVars.push(
          `${key}: {${variables(forms).join()}} where English has {${variables(en.get(key)!).join()}}`,
        );
      for (const [form, s] of forms) if (!s.trim()) empty.push(`${key}${form ? `_${form}` : ''}`);
    }
    assert.deepEqual({ badForms, badVars, empty }, { badForms: [], badVars: [], empty: [] }, lang);
  }
});

test('every key a page or script uses is in the catalogue, and every key in it is used', () => {
  const en = grouped(catalogues.get('en')!);
  const unknown = [...htmlKeys, ...scriptKeys]
    .filter(([key]) => !en.has(key))
    .map(([key, f]) => `${f}: ${key}`);
  const unknownFamilies = [...families]
    .filter(([prefix]) => ![...en.keys()].some((k) => k.startsWith(prefix)))
    .map(([p, f]) => `${f}: ${p}*`);
  assert.deepEqual([...unknown, ...unknownFamilies], []);
  const unused = [...en.keys()].filter(
    (k) => !htmlKeys.has(k) && !scriptKeys.has(k) && ![...families.keys()].some((p) => k.startsWith(p)),
  );
  assert.deepEqual(unused, []);
});

test('what the HTML marks is plain text: no plural forms and no variables (the edge does not fill them)', () => {
  const en = grouped(catalogues.get('en')!);
  const bad = [...htmlKeys.keys()].filter((k) => {
    const forms = en.get(k);
    return forms && (forms.has('other') || /\{\{/.test([...forms.values()].join()));
  });
  assert.deepEqual(bad, []);
});
