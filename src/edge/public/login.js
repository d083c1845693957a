// The login page: three tabs (account login, registration, streamer login with the stream key). On success
// the browser goes to `?next=` (a path on this site only) or home; streamers default to their dashboard.
// Errors are shown inline under the form that caused them.

import { api } from './api.js';
import { checkAccountName, checkNewPassword, friendlyError, safeNextPath } from './auth-rules.js';
import { loadMe, logOut, mountSessionArea } from './session.js';
import { asyncListener, byId, query } from './dom.js';
import { t } from './i18n.js';

/** @import { ApiResult } from './api.js' */
/** @typedef {'login'|'register'|'streamer'} Tab */
/** @typedef {Record<string, FormDataEntryValue | undefined>} FormValues */

const params = new URLSearchParams(location.search);
const next = safeNextPath(params.get('next'), '/');
/** @type {Tab[]} */
const TABS = ['login', 'register', 'streamer'];

/**
 * @param {Tab} which
 * @param {boolean} [focus]
 */
function selectTab(which, focus = false) {
  for (const name of TABS) {
    const tab = byId(`tab-${name}`, HTMLElement);
    const on = name === which;
    tab.setAttribute('aria-selected', String(on));
    tab.tabIndex = on ? 0 : -1;
    byId(`panel-${name}`, HTMLElement).hidden = !on;
    if (on && focus) tab.focus();
  }
  const first = byId(`panel-${which}`, HTMLElement).querySelector('input');
  if (!focus) first?.focus();
}

/**
 * @param {unknown} tab
 * @returns {tab is Tab}
 */
function isTab(tab) {
  return TABS.includes(/** @type {Tab} */ (tab));
}

function wireTabs() {
  for (const name of TABS) {
    const tab = byId(`tab-${name}`, HTMLElement);
    tab.addEventListener('click', () => {
      selectTab(name);
      history.replaceState(
        null,
        '',
        `${location.pathname}?${new URLSearchParams({ ...(next !== '/' ? { next } : {}), tab: name })}`,
      );
    });
    // Arrow keys move between tabs (the WAI-ARIA tabs pattern).
    tab.addEventListener('keydown', (e) => {
      const i = TABS.indexOf(name);
      if (e.key === 'ArrowRight') selectTab(TABS[(i + 1) % TABS.length] ?? name, true);
      else if (e.key === 'ArrowLeft') selectTab(TABS[(i + TABS.length - 1) % TABS.length] ?? name, true);
      else return;
      e.preventDefault();
    });
  }
}

/**
 * Runs a form's submit: validates, calls the API, shows the error or leaves the page.
 * @param {HTMLFormElement} form
 * @param {(values: FormValues) => string | null} validate
 * @param {(values: FormValues) => Promise<ApiResult>} call
 * @param {string} destination
 */
function handle(form, validate, call, destination) {
  const error = query(form, '.form-error', HTMLElement);
  const button = query(form, 'button[type="submit"]', HTMLButtonElement);
  form.addEventListener(
    'submit',
    asyncListener(async (e) => {
      e.preventDefault();
      /** @type {FormValues} */
      const values = Object.fromEntries(new FormData(form));
      const problem = validate(values);
      error.textContent = problem ?? '';
      if (problem) return;
      button.disabled = true;
      const r = await call(values);
      if (r.ok) {
        location.assign(destination);
        return;
      }
      button.disabled = false;
      error.textContent =
        r.error.code === 'BAD_CREDENTIALS' ? badCredentials(form.id) : friendlyError(r.error);
    }),
  );
}

/**
 * A form field's text (an absent field counts as empty).
 * @param {FormDataEntryValue | undefined} v
 */
function fieldText(v) {
  return typeof v === 'string' ? v : '';
}

/** @param {string} formId */
function badCredentials(formId) {
  return formId === 'panel-streamer' ? t('account.wrongKey') : t('account.wrongPassword');
}

async function main() {
  void mountSessionArea();
  wireTabs();
  const wanted = params.get('tab');
  selectTab(isTab(wanted) ? wanted : 'login');

  handle(
    byId('panel-login', HTMLFormElement),
    (v) => (!v.name ? t('account.typeName') : !v.password ? t('account.typePassword') : null),
    (v) => api('POST', '/api/auth/login', { name: fieldText(v.name).trim(), password: v.password }),
    next,
  );
  handle(
    byId('panel-register', HTMLFormElement),
    (v) =>
      checkAccountName(fieldText(v.name).trim()) ??
      checkNewPassword(v.password, typeof v.confirm === 'string' ? v.confirm : undefined),
    (v) => api('POST', '/api/auth/register', { name: fieldText(v.name).trim(), password: v.password }),
    next,
  );
  handle(
    byId('panel-streamer', HTMLFormElement),
    (v) => (!fieldText(v.key).trim() ? t('account.pasteKey') : null),
    (v) => api('POST', '/api/auth/streamer', { key: fieldText(v.key).trim() }),
    params.has('next') ? next : '/dashboard',
  );

  const me = await loadMe();
  if (me.user) {
    byId('already', HTMLElement).hidden = false;
    byId('already-name', HTMLElement).textContent = me.user.name;
    byId('already-continue', HTMLAnchorElement).href =
      me.user.role === 'streamer' && !params.has('next') ? '/dashboard' : next;
    byId('already-logout', HTMLElement).addEventListener(
      'click',
      () => void logOut(location.pathname + location.search),
    );
  } else if (!me.available) {
    const note = document.createElement('p');
    note.className = 'notice-banner';
    note.textContent = friendlyError({ code: 'HUB_UNAVAILABLE' });
    byId('auth-forms', HTMLElement).before(note);
  }
}

void main();
