// The pages' words, in the viewer's language (issue 16, ADR 0023). The edge serves each page already
// translated and inlines the strings its scripts show as a JSON block (#tc-catalogue); `t()` reads them
// through i18next, which picks the plural form of each language (Russian: one, few, many) from
// Intl.PluralRules. Every string goes into the page as text (textContent, attributes), never as HTML.
//
// Keys are written out in full where they are used: `t('chat.send')`, or a template literal that starts
// with the family's prefix for a family of keys (errors by code). The edge finds the areas a page needs by
// those names, and a unit test finds every key used and checks each language has it
// (test/unit/page-catalogues.test.ts).

import i18next from 'i18next';
import { asRecord } from './json.js';

/** @typedef {'en' | 'ru' | 'sv'} Language */
/** @typedef {{[key: string]: string | Catalogue}} Catalogue */

/** @type {readonly Language[]} */
export const LANGUAGES = ['en', 'ru', 'sv'];

/** @type {import('i18next').i18n} */
let i18n = i18next.createInstance();
/** The page's language. */
export let lang = /** @type {Language} */ ('en');
/** The locale for Intl: the browser's own variant when it is of the page's language (en-GB, sv-FI). */
let intlLocale = 'en';

/**
 * Uses a catalogue (the page's, at start-up; a test's in Node).
 * @param {Language} language
 * @param {Catalogue} strings
 */
export function useCatalogue(language, strings) {
  lang = language;
  const own = (globalThis.navigator?.languages ?? []).find(
    (l) => l.split('-')[0]?.toLowerCase() === language,
  );
  intlLocale = own && isLocale(own) ? own : language;
  formats.clear();
  i18n = i18next.createInstance();
  // Synchronous: the strings are all here, so t() works as soon as this returns.
  void i18n.init({
    lng: language,
    resources: { [language]: { translation: strings } },
    initAsync: false,
    fallbackLng: false,
    // Strings are set as text, so nothing is escaped here (escaping would show "&amp;" to the viewer).
    interpolation: { escapeValue: false },
    returnNull: false,
  });
}

/** @param {string} tag */
function isLocale(tag) {
  try {
    return Intl.getCanonicalLocales(tag).length === 1;
  } catch {
    return false;
  }
}

/** Uses the catalogue the edge put in the page; false when there is none (or it is unreadable). */
function pageCatalogue() {
  const block = globalThis.document?.getElementById('tc-catalogue');
  if (!block) return false;
  try {
    /** @type {{lang?: unknown, strings?: unknown}} */
    const data = asRecord(/** @type {unknown} */ (JSON.parse(block.textContent ?? ''))) ?? {};
    const language = LANGUAGES.find((l) => l === data.lang);
    if (!language || !data.strings || typeof data.strings !== 'object') return false;
    useCatalogue(language, /** @type {Catalogue} */ (data.strings));
    return true;
  } catch (err) {
    console.error('the page catalogue is unreadable', err);
    return false;
  }
}

/**
 * The string for a key in the page's language; `opts.count` picks the plural form, other options fill
 * `{{name}}` variables. A key the catalogue lacks comes back as the key itself.
 * @param {string} key
 * @param {Record<string, string | number>} [opts]
 * @returns {string}
 */
export function t(key, opts) {
  const s = opts ? i18n.t(key, opts) : i18n.t(key);
  return typeof s === 'string' ? s : key;
}

/**
 * The string for a key with its `{{name}}` variables unfilled, for code that fills them elsewhere (the
 * service worker's notification titles); the key itself when the catalogue lacks it.
 * @param {string} key
 * @returns {string}
 */
export function template(key) {
  const s = /** @type {unknown} */ (i18n.getResource(lang, 'translation', key));
  return typeof s === 'string' ? s : key;
}

/**
 * Whether the catalogue has a key (for families of keys such as chat notice codes, where the page shows
 * the server's own words for a code it has no string for). With `opts.count`, a key with plural forms.
 * @param {string} key
 * @param {Record<string, string | number>} [opts]
 */
export function has(key, opts) {
  return opts ? i18n.exists(key, opts) : i18n.exists(key);
}

/** Codes whose server message names what was wrong (which field, why an address is refused): quoted. */
const DETAILED = new Set([
  'INVALID_VALUE',
  'BAD_REQUEST',
  'WEBHOOK_TARGET_REFUSED',
  'RESTREAM_TARGET_REFUSED',
  'PUSH_ENDPOINT_REFUSED',
]);

/**
 * An API or socket error for people: the catalogue's sentence for its code (`errors.CODE`), else the
 * server's words, else a general sentence. For the DETAILED codes the sentence quotes the server's words.
 * @param {{status?: number, code?: string, message?: string} | null | undefined} err
 */
export function errorText(err) {
  if (!err) return t('errors.generic');
  const detail = sentence(err.message ?? '');
  if (err.code && DETAILED.has(err.code))
    return detail ? t(`errors.${err.code}`, { detail }) : t('errors.generic');
  if (err.code && has(`errors.${err.code}`)) return t(`errors.${err.code}`);
  if (err.status === 502 || err.status === 503 || err.status === 504) return t('errors.HUB_UNAVAILABLE');
  return detail || t('errors.generic');
}

/**
 * The server's message as a sentence: capitalised, with a full stop.
 * @param {string} s
 */
function sentence(s) {
  const text = String(s).trim().slice(0, 300);
  if (!text) return '';
  const first = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?]$/.test(first) ? first : `${first}.`;
}

/** Intl's formatters are costly to make: one per set of options, until the language changes. */
/** @type {Map<string, unknown>} */
const formats = new Map();

/**
 * @template T
 * @param {string} id
 * @param {() => T} make
 * @returns {T}
 */
function cached(id, make) {
  if (!formats.has(id)) formats.set(id, make());
  return /** @type {T} */ (formats.get(id));
}

/**
 * A number in the page's language ("1 234,5" in Russian).
 * @param {number} n
 * @param {Intl.NumberFormatOptions} [options]
 */
export function formatNumber(n, options = {}) {
  return cached(`n${JSON.stringify(options)}`, () => new Intl.NumberFormat(intlLocale, options)).format(n);
}

/**
 * A moment in the page's language.
 * @param {number | Date} at
 * @param {Intl.DateTimeFormatOptions} [options]
 */
export function formatDate(at, options = { dateStyle: 'medium', timeStyle: 'short' }) {
  const d = new Date(at);
  if (Number.isNaN(d.getTime())) return '';
  return cached(`d${JSON.stringify(options)}`, () => new Intl.DateTimeFormat(intlLocale, options)).format(d);
}

/** @type {Array<[Intl.RelativeTimeFormatUnit, number]>} */
const UNITS = [
  ['year', 365 * 86_400_000],
  ['month', 30 * 86_400_000],
  ['week', 7 * 86_400_000],
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000],
  ['second', 1000],
];

/**
 * How long ago (or how far ahead) a moment is: "3 days ago", "вчера", "om 2 timmar".
 * @param {number} at
 */
export function formatRelative(at, now = Date.now()) {
  const diff = at - now;
  const [unit, ms] = UNITS.find(([, size]) => Math.abs(diff) >= size) ?? ['second', 1000];
  const rtf = cached('r', () => new Intl.RelativeTimeFormat(intlLocale, { numeric: 'auto' }));
  return rtf.format(Math.round(diff / ms), unit);
}

/**
 * A length of time in hours and minutes ("1 hr 20 min", "1 ч 20 мин", "1 tim 20 min").
 * @param {number} ms
 */
export function formatHoursMinutes(ms) {
  const min = Math.max(0, Math.floor(ms / 60_000));
  const h = Math.floor(min / 60);
  /** @param {number} n @param {string} unit */
  const part = (n, unit) => formatNumber(n, { style: 'unit', unit, unitDisplay: 'short' });
  if (h === 0) return part(min, 'minute');
  return min % 60 ? `${part(h, 'hour')} ${part(min % 60, 'minute')}` : part(h, 'hour');
}

// Last, when everything it uses is defined. Without a catalogue (a test in Node), t() returns the keys.
if (!pageCatalogue()) useCatalogue('en', {});
