/**
 * The language a page is served in (issue 16): the viewer's choice in the top bar (the `tc_lang` cookie),
 * else the first language of the browser's `Accept-Language` the site has, else English. The edge serves
 * the page already in that language, so the first paint is never English and then something else.
 */

/** The site's languages; the first is the default and the fallback of every missing string. */
export const LANGUAGES = ['en', 'ru', 'sv'] as const;
export type Language = (typeof LANGUAGES)[number];
export const DEFAULT_LANGUAGE: Language = 'en';

/** Set by the language menu (src/edge/public/language.js), kept a year. */
export const LANGUAGE_COOKIE = 'tc_lang';

export function isLanguage(value: string): value is Language {
  return (LANGUAGES as readonly string[]).includes(value);
}

/** The language a request's cookies chose, or null (no cookie, or one naming a language the site lacks). */
export function cookieLanguage(cookieHeader: string): Language | null {
  const m = /(?:^|;\s*)tc_lang=([^;]*)/.exec(cookieHeader);
  const v = m?.[1]?.trim() ?? '';
  return isLanguage(v) ? v : null;
}

/**
 * The browser's preferred language among the site's: ranges by quality, highest first (ties in the order
 * written), each matched by its primary subtag (`ru-RU` is Russian, `sv-SE` Swedish). `*` and ranges with
 * `q=0` choose nothing. A header too long to be a browser's is read no further than its first 64 ranges.
 */
export function acceptedLanguage(header: string): Language | null {
  const ranges: { lang: string; q: number; at: number }[] = [];
  for (const [at, part] of header.split(',').slice(0, 64).entries()) {
    const [range = '', ...params] = part.trim().split(';');
    const qp = params.map((p) => p.trim().toLowerCase()).find((p) => p.startsWith('q='));
    const q = qp === undefined ? 1 : Number(qp.slice(2));
    if (!Number.isFinite(q) || q <= 0) continue;
    ranges.push({ lang: range.trim().toLowerCase().split('-', 1)[0] ?? '', q, at });
  }
  ranges.sort((a, b) => b.q - a.q || a.at - b.at);
  return ranges.map((r) => r.lang).find(isLanguage) ?? null;
}

/** The language to serve a page in. */
export function pageLanguage(cookieHeader: string, acceptLanguageHeader: string): Language {
  return cookieLanguage(cookieHeader) ?? acceptedLanguage(acceptLanguageHeader) ?? DEFAULT_LANGUAGE;
}
