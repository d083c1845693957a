// Light, dark or the system's theme (issue 16). The choice is a cookie, tc_theme, kept a year: the edge reads
// it to serve the page with data-theme already set, so the first paint has the right colours. "System" is no
// choice (the cookie removed): the stylesheet follows prefers-color-scheme, live as the system changes.

import { el } from './dom.js';
import { readCookie } from './api.js';
import { t } from './i18n.js';

export const THEME_COOKIE = 'tc_theme';
/** @typedef {'system' | 'light' | 'dark'} Theme */
/** @returns {Array<[Theme, string]>} */
const themes = () => [
  ['system', t('common.theme.system')],
  ['light', t('common.theme.light')],
  ['dark', t('common.theme.dark')],
];

/**
 * The theme chosen in this browser (a cookie with anything else is "system").
 * @param {string} [cookies]
 * @returns {Theme}
 */
export function chosenTheme(cookies = document.cookie) {
  const v = readCookie(cookies, THEME_COOKIE);
  return v === 'light' || v === 'dark' ? v : 'system';
}

/**
 * Applies a theme to this page and remembers it.
 * @param {Theme} theme
 */
export function applyTheme(theme) {
  const root = document.documentElement;
  const secure = location.protocol === 'https:' ? '; Secure' : '';
  if (theme === 'system') {
    delete root.dataset.theme;
    document.cookie = `${THEME_COOKIE}=; Path=/; Max-Age=0; SameSite=Lax${secure}`;
  } else {
    root.dataset.theme = theme;
    document.cookie = `${THEME_COOKIE}=${theme}; Path=/; Max-Age=31536000; SameSite=Lax${secure}`;
  }
}

/**
 * The theme menu in the top bar.
 * @param {Element} bar
 * @param {Element | null} before
 */
export function mountThemeSwitch(bar, before) {
  if (bar.querySelector('.theme-select')) return;
  const select = /** @type {HTMLSelectElement} */ (el('select', 'theme-select'));
  select.setAttribute('aria-label', t('common.theme.label'));
  for (const [value, label] of themes()) {
    const o = /** @type {HTMLOptionElement} */ (el('option', '', label));
    o.value = value;
    select.append(o);
  }
  select.value = chosenTheme();
  select.addEventListener('change', () => applyTheme(/** @type {Theme} */ (select.value)));
  bar.insertBefore(select, before);
}
