// The language menu in the top bar (issue 16). The choice is a cookie, tc_lang, kept a year: the edge reads
// it (before Accept-Language) to serve every page already in that language, so choosing one reloads the
// page rather than translating it in place: the page's own text was rendered by the edge.

import { el } from './dom.js';
import { lang, LANGUAGES, t } from './i18n.js';

export const LANGUAGE_COOKIE = 'tc_lang';

/** Each language named in itself: a viewer who cannot read the current one still finds their own. */
const NAMES = /** @type {const} */ ({ en: 'English', ru: 'Русский', sv: 'Svenska' });

/**
 * Remembers a language for this site and shows the page in it.
 * @param {import('./i18n.js').Language} language
 */
export function chooseLanguage(language) {
  const secure = location.protocol === 'https:' ? '; Secure' : '';
  document.cookie = `${LANGUAGE_COOKIE}=${language}; Path=/; Max-Age=31536000; SameSite=Lax${secure}`;
  location.reload();
}

/**
 * The language menu in the top bar.
 * @param {Element} bar
 * @param {Element | null} before
 */
export function mountLanguageSwitch(bar, before) {
  if (bar.querySelector('.language-select')) return;
  const select = /** @type {HTMLSelectElement} */ (el('select', 'language-select'));
  select.setAttribute('aria-label', t('common.language'));
  for (const value of LANGUAGES) {
    const o = /** @type {HTMLOptionElement} */ (el('option', '', NAMES[value]));
    o.value = value;
    o.lang = value;
    select.append(o);
  }
  select.value = lang;
  select.addEventListener('change', () =>
    chooseLanguage(/** @type {import('./i18n.js').Language} */ (select.value)),
  );
  bar.insertBefore(select, before);
}
