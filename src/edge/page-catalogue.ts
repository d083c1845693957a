/**
 * The pages' catalogues (issue 16, ADR 0023) and the pages rendered from them. A catalogue is a folder per
 * language under src/edge/public/locales, one JSON file per area of the site (`chat.json` holds the keys
 * `chat.…`). The edge reads them once at start-up and renders each page once per language on first use:
 * every element marked `data-i18n="key"` gets the string as its text, every `data-i18n-ATTR="key"` sets
 * the attribute ATTR, `<html lang>` names the language, and the strings the page's scripts show are inlined
 * as a JSON data block (`#tc-catalogue`), so `t()` in the page (i18n.js) has them before any module runs:
 * no round trip, no English first paint. Strings are always text here: they are escaped into the HTML and
 * the page sets them with textContent, so a string holding markup shows that markup as it is.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_LANGUAGE, isLanguage, LANGUAGES, type Language } from './page-locale.js';
import { publicDir } from './static-files.js';

/** Nested strings: `{ chat: { send: "Chat" } }` is the key `chat.send`. */
export interface Catalogue {
  [key: string]: string | Catalogue;
}

export type Catalogues = ReadonlyMap<Language, Catalogue>;

/**
 * The catalogues under `dir` (one folder per language, one file per area). A file that is not a JSON object
 * of strings fails the start with its name and key: a broken catalogue must not reach viewers.
 */
export function loadCatalogues(dir = join(publicDir(), 'locales')): Map<Language, Catalogue> {
  const out = new Map<Language, Catalogue>();
  if (!existsSync(dir)) return out;
  for (const lang of readdirSync(dir).sort()) {
    if (!isLanguage(lang)) continue;
    const catalogue: Catalogue = {};
    for (const file of readdirSync(join(dir, lang)).sort()) {
      if (!file.endsWith('.json')) continue;
      const path = join(dir, lang, file);
      let parsed: unknown;
      try {
        parsed = JSON.parse(readFileSync(path, 'utf8'));
      } catch (err) {
        throw new Error(`catalogue ${path} is not JSON: ${(err as Error).message}`);
      }
      catalogue[file.slice(0, -'.json'.length)] = checked(parsed, path, file.slice(0, -5));
    }
    out.set(lang, catalogue);
  }
  return out;
}

function checked(value: unknown, path: string, key: string): Catalogue {
  if (!value || typeof value !== 'object' || Array.isArray(value))
    throw new Error(`catalogue ${path}: ${key} is not an object of strings`);
  const out: Catalogue = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (!/^[A-Za-z0-9_-]+$/.test(k)) throw new Error(`catalogue ${path}: bad key "${key}.${k}"`);
    out[k] = typeof v === 'string' ? v : checked(v, path, `${key}.${k}`);
  }
  return out;
}

/** Each language's catalogue with English under it: a string a language lacks is shown in English. */
export function withFallback(catalogues: Catalogues): Map<Language, Catalogue> {
  const base = catalogues.get(DEFAULT_LANGUAGE) ?? {};
  return new Map(LANGUAGES.map((l) => [l, merge(base, catalogues.get(l) ?? {})]));
}

function merge(under: Catalogue, over: Catalogue): Catalogue {
  const out: Catalogue = { ...under };
  for (const [k, v] of Object.entries(over)) {
    const u = out[k];
    out[k] = typeof v === 'object' && typeof u === 'object' ? merge(u, v) : v;
  }
  return out;
}

/** The string at a dotted key, or undefined. */
export function lookup(catalogue: Catalogue, key: string): string | undefined {
  let node: string | Catalogue | undefined = catalogue;
  for (const part of key.split('.')) {
    if (typeof node !== 'object' || !Object.hasOwn(node, part)) return undefined;
    node = node[part];
  }
  return typeof node === 'string' ? node : undefined;
}

const escapeText = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const escapeAttr = (s: string) => escapeText(s).replace(/"/g, '&quot;');

/** An element holding only text, with a data-i18n key among its attributes. */
const TEXT_ELEMENT =
  /<([a-zA-Z][\w-]*)((?:\s+[^\s=>/]+(?:="[^"]*")?)*?\s+data-i18n="([\w.-]+)"(?:\s+[^\s=>/]+(?:="[^"]*")?)*\s*)>([^<]*)(<\/\1\s*>)/g;
/** A start tag with at least one data-i18n-ATTR key. */
const ATTR_TAG = /<[a-zA-Z][\w-]*(?:\s+[^\s=>/]+(?:="[^"]*")?)*?\s+data-i18n-[a-z][\w-]*="[^"]*"[^<>]*>/g;
const ATTR_KEY = /\sdata-i18n-([a-z][\w-]*)="([\w.-]+)"/g;

/** Every key a page's HTML names (text and attributes), in document order. */
export function pageKeys(html: string): string[] {
  return [...html.matchAll(/\sdata-i18n(?:-[a-z][\w-]*)?="([^"]*)"/g)].map((m) => m[1]!);
}

/**
 * The page in one language: marked text and attributes from the catalogue (a key it lacks keeps the
 * page's own English), `lang` on <html>, and the catalogue's areas the page's scripts use, inlined.
 * `scripts`: the code the page loads (its bundle, or its modules), searched for the areas it uses.
 */
export function renderPage(html: string, lang: Language, catalogue: Catalogue, scripts: string[]): string {
  let out = html.replace(/(<html\b[^>]*?\slang=")[^"]*(")/i, `$1${lang}$2`);
  out = out.replace(
    TEXT_ELEMENT,
    (whole, tag: string, attrs: string, key: string, text: string, end: string) => {
      const s = lookup(catalogue, key);
      if (s === undefined) return whole;
      // The whitespace around the text stays (a leading space may separate it from what is before).
      const lead = /^\s*/.exec(text)?.[0] ?? '';
      const trail = /\s*$/.exec(text)?.[0] ?? '';
      return `<${tag}${attrs}>${lead}${escapeText(s)}${trail}${end}`;
    },
  );
  out = out.replace(ATTR_TAG, (tag) => {
    let t = tag;
    for (const [, attr, key] of tag.matchAll(ATTR_KEY)) {
      const s = lookup(catalogue, key!);
      if (s === undefined) continue;
      const value = `${attr}="${escapeAttr(s)}"`;
      const existing = new RegExp(`(?<=\\s)${attr}="[^"]*"`);
      t = existing.test(t)
        ? t.replace(existing, () => value)
        : t.replace(/\s*\/?>$/, (end) => ` ${value}${end}`);
    }
    return t;
  });
  const strings = usedAreas(catalogue, [html, ...scripts]);
  if (scripts.length === 0 || Object.keys(strings).length === 0) return out;
  // A data block, not a script: nothing runs (the CSP allows no inline script), and "<" is escaped so no
  // string can end the element.
  const json = JSON.stringify({ lang, strings }).replace(/</g, '\\u003c');
  const block = `<script type="application/json" id="tc-catalogue">${json}</script>\n  `;
  const at = out.indexOf('</head>');
  return at < 0 ? out : out.slice(0, at) + block + out.slice(at);
}

/**
 * The areas of the catalogue that the page or its code name (a key is written `'area.…'`, `"area.…"` or
 * `` `area.… `` where it is used, see i18n.js): the watch page does not carry the dashboard's strings.
 */
function usedAreas(catalogue: Catalogue, texts: string[]): Catalogue {
  const out: Catalogue = {};
  for (const [area, strings] of Object.entries(catalogue)) {
    const named = texts.some(
      (t) => t.includes(`'${area}.`) || t.includes(`"${area}.`) || t.includes(`\`${area}.`),
    );
    if (named) out[area] = strings;
  }
  return out;
}

/** The module scripts, preloaded modules and classic scripts a page loads from /static/, in order. */
export function pageScripts(html: string): string[] {
  return [
    ...html.matchAll(/<(?:script[^>]*\ssrc|link rel="modulepreload" href)="\/static\/([\w.-]+\.js)"/g),
  ].map((m) => m[1]!);
}
