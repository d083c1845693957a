// The login page: three tabs (account login, registration, streamer login with the stream key). On success
// the browser goes to `?next=` (a path on this site only) or home; streamers default to their dashboard.
// Errors are shown inline under the form that caused them.

import { api } from './api.js';
import { checkAccountName, checkNewPassword, friendlyError, safeNextPath } from './auth-rules.js';
import { loadMe, logOut, mountSessionArea } from './session.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const next = safeNextPath(params.get('next'), '/');
const TABS = ['login', 'register', 'streamer'];

function selectTab(which, focus = false) {
  for (const t of TABS) {
    const tab = $(`tab-${t}`);
    const on = t === which;
    tab.setAttribute('aria-selected', String(on));
    tab.tabIndex = on ? 0 : -1;
    $(`panel-${t}`).hidden = !on;
    if (on && focus) tab.focus();
  }
  const first = $(`panel-${which}`).querySelector('input');
  if (!focus) first?.focus();
}

function wireTabs() {
  for (const t of TABS) {
    const tab = $(`tab-${t}`);
    tab.addEventListener('click', () => {
      selectTab(t);
      history.replaceState(
        null,
        '',
        `${location.pathname}?${new URLSearchParams({ ...(next !== '/' ? { next } : {}), tab: t })}`,
      );
    });
    // Arrow keys move between tabs (the WAI-ARIA tabs pattern).
    tab.addEventListener('keydown', (e) => {
      const i = TABS.indexOf(t);
      if (e.key === 'ArrowRight') selectTab(TABS[(i + 1) % TABS.length], true);
      else if (e.key === 'ArrowLeft') selectTab(TABS[(i + TABS.length - 1) % TABS.length], true);
      else return;
      e.preventDefault();
    });
  }
}

/** Runs a form's submit: validates, calls the API, shows the error or leaves the page. */
function handle(form, validate, call, destination) {
  const error = form.querySelector('.form-error');
  const button = form.querySelector('button[type="submit"]');
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
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
    error.textContent = r.error.code === 'BAD_CREDENTIALS' ? badCredentials(form.id) : friendlyError(r.error);
  });
}

function badCredentials(formId) {
  return formId === 'panel-streamer' ? 'That stream key is not right.' : 'Wrong name or password.';
}

async function main() {
  void mountSessionArea();
  wireTabs();
  const wanted = params.get('tab');
  selectTab(TABS.includes(wanted) ? wanted : 'login');

  handle(
    $('panel-login'),
    (v) => (!v.name ? 'Type your name.' : !v.password ? 'Type your password.' : null),
    (v) => api('POST', '/api/auth/login', { name: String(v.name).trim(), password: v.password }),
    next,
  );
  handle(
    $('panel-register'),
    (v) => checkAccountName(String(v.name).trim()) ?? checkNewPassword(v.password, v.confirm),
    (v) => api('POST', '/api/auth/register', { name: String(v.name).trim(), password: v.password }),
    next,
  );
  handle(
    $('panel-streamer'),
    (v) => (!String(v.key).trim() ? 'Paste your stream key.' : null),
    (v) => api('POST', '/api/auth/streamer', { key: String(v.key).trim() }),
    params.has('next') ? next : '/dashboard',
  );

  const me = await loadMe();
  if (me.user) {
    $('already').hidden = false;
    $('already-name').textContent = me.user.name;
    $('already-continue').href = me.user.role === 'streamer' && !params.has('next') ? '/dashboard' : next;
    $('already-logout').addEventListener('click', () => void logOut(location.pathname + location.search));
  } else if (!me.available) {
    const note = document.createElement('p');
    note.className = 'notice-banner';
    note.textContent = friendlyError({ code: 'HUB_UNAVAILABLE' });
    $('auth-forms').before(note);
  }
}

void main();
