// The streamer dashboard: needs a streamer session (or an account named like the channel); without one it
// shows a stream-key login right here. Edits title, category and description, sets or removes the viewing
// password, rotates the stream key (the new key is shown once, never stored by the page), and refreshes
// live status, viewers, followers and chat members every 5 s without touching fields being edited.

import { api } from './api.js';
import { mountVideos } from './dashboard-videos.js';
import { mountWebhooks } from './dashboard-webhooks.js';
import { mountOutputs } from './dashboard-outputs.js';
import { mountAnalytics } from './dashboard-analytics.js';
import { mountChatRules } from './dashboard-chat-rules.js';
import { MIN_STREAM_PASSWORD, friendlyError } from './auth-rules.js';
import { badgeNode } from './chat-view.js';
import { formatViewers } from './format.js';
import { checkInfo, infoPatch, liveStatus, parseDashboard } from './dashboard-rules.js';
import { mountSessionArea } from './session.js';
import { asyncListener, byId, formField, query, setUserColor } from './dom.js';
import { asRecord } from './json.js';
import { formatDate, formatNumber, t } from './i18n.js';

/** @import { Member } from './chat-format.js' */
/** @typedef {NonNullable<ReturnType<typeof parseDashboard>>} Dashboard */

const REFRESH_MS = 5_000;
/** The past-broadcasts, restream, webhooks and chat-rules panels are filled once, for the channel the dashboard shows. */
let videosMounted = false;
/** For elements used only as plain HTML elements (text, hidden, focus). */
const $ = (/** @type {string} */ id) => byId(id, HTMLElement);

/** @type {Dashboard | null} */
let data = null;
/** @type {ReturnType<typeof setInterval> | null} */
let timer = null;
let infoDirty = false;

/** @param {'login'|'content'|'network'} section */
function show(section) {
  $('dash-loading').hidden = true;
  $('key-login').hidden = section !== 'login';
  $('dash-content').hidden = section !== 'content';
  $('dash-network').hidden = section !== 'network';
}

/** @param {string | null} text */
function problem(text) {
  $('dash-problem').textContent = text ?? '';
  $('dash-problem').hidden = !text;
}

/** @param {Dashboard['streamer']} s */
function fillInfo(s) {
  const form = byId('info-form', HTMLFormElement);
  formField(form, 'title').value = s.title;
  formField(form, 'category').value = s.category;
  formField(form, 'description').value = s.description;
  infoDirty = false;
}

/**
 * @param {Array<string | Member>} list
 * @param {string} empty
 */
function nameItems(list, empty) {
  if (!list.length) {
    const li = document.createElement('li');
    li.className = 'name-empty';
    li.textContent = empty;
    return [li];
  }
  return list.map((m) => {
    const li = document.createElement('li');
    const badge = typeof m === 'string' ? null : badgeNode(m.badge);
    if (badge) li.append(badge, ' ');
    const name = document.createElement('span');
    name.className = 'name-item';
    name.textContent = typeof m === 'string' ? m : m.name;
    if (typeof m !== 'string') setUserColor(name, m.color);
    li.append(name);
    return li;
  });
}

/**
 * @param {Dashboard} d
 * @param {boolean} first
 */
function render(d, first) {
  const s = d.streamer;
  document.title = t('dashboard.channelTitle', { name: s.name });
  $('dash-name').textContent = s.title ? `${s.name} · ${s.title}` : s.name;
  byId('dash-channel-link', HTMLAnchorElement).href = `/watch/${encodeURIComponent(s.name)}`;
  const status = liveStatus(d);
  const live = $('stat-live');
  live.textContent = status.text;
  live.classList.toggle('is-live', status.live);
  $('stat-live-sub').textContent = status.sub;
  $('stat-viewers').textContent = formatNumber(d.viewers);
  $('stat-viewers').title = formatViewers(d.viewers);
  $('stat-followers').textContent = formatNumber(d.followers);
  $('stat-chat').textContent = formatNumber(d.chatMembers.length);
  $('dash-updated').textContent = t('dashboard.updated', {
    time: formatDate(Date.now(), { timeStyle: 'medium' }),
  });
  $('dash-mods').replaceChildren(...nameItems(d.moderators, t('dashboard.noModerators')));
  $('dash-members').replaceChildren(...nameItems(d.chatMembers, t('dashboard.nobodyInChat')));
  if (first || !infoDirty) fillInfo(s);
  if (first) byId('recording-choice', HTMLSelectElement).value = s.recording;
  if (!videosMounted) {
    videosMounted = true;
    void mountVideos(s.name);
    void mountWebhooks();
    void mountOutputs();
    void mountAnalytics();
    void mountChatRules();
  }
  $('pw-state').textContent = s.hasPassword ? t('dashboard.pw.protected') : t('dashboard.pw.open');
  $('pw-set').textContent = s.hasPassword ? t('dashboard.pw.change') : t('dashboard.pw.set');
  $('pw-remove').hidden = !s.hasPassword;
}

async function load(first = false) {
  const r = await api('GET', '/api/dashboard');
  if (r.ok) {
    const d = parseDashboard(r.data);
    if (!d) return problem(t('dashboard.unexpected'));
    problem(null);
    data = d;
    render(d, first);
    show('content');
    return true;
  }
  if (r.error.code === 'FORBIDDEN' && (await isAdmin())) {
    // An operator without a channel: the network's analytics (issue 16).
    stopRefresh();
    show('network');
    problem(null);
    void mountAnalytics({ operator: true, into: $('dash-network') });
    return false;
  }
  if (r.error.code === 'UNAUTHENTICATED' || r.error.code === 'FORBIDDEN') {
    stopRefresh();
    $('key-login-sub').textContent =
      r.error.code === 'FORBIDDEN' ? t('dashboard.noChannel') : t('dashboard.keyLoginSub');
    show('login');
    problem(null);
    $('key-login-key').focus();
    return false;
  }
  // Hub away or the network: keep what is shown and say so; the refresh keeps trying.
  if (!data) $('dash-loading').hidden = true;
  problem(friendlyError(r.error));
  return false;
}

/** Whether this session is an admin's (operators see the network's analytics). */
async function isAdmin() {
  const me = await api('GET', '/api/me');
  return me.ok && asRecord(asRecord(me.data)?.user)?.role === 'admin';
}

function startRefresh() {
  stopRefresh();
  timer = setInterval(() => {
    if (!document.hidden) void load();
  }, REFRESH_MS);
}

function stopRefresh() {
  clearInterval(timer ?? undefined);
  timer = null;
}

/**
 * @param {HTMLFormElement} form
 * @param {{ok?: string, error?: string}} status
 */
function formStatus(form, { ok = '', error = '' }) {
  query(form, '.form-ok', HTMLElement).textContent = ok;
  query(form, '.form-error', HTMLElement).textContent = error;
}

/** @param {Record<string, unknown>} body */
async function patch(body) {
  const r = await api('PATCH', '/api/dashboard', body);
  const streamer = r.ok ? asRecord(r.data)?.streamer : undefined;
  if (streamer && data) {
    data = parseDashboard({ ...data, streamer }) ?? data;
    render(data, true);
  }
  return r;
}

function wireInfo() {
  const form = byId('info-form', HTMLFormElement);
  form.addEventListener('input', () => {
    infoDirty = true;
    formStatus(form, {});
  });
  form.addEventListener(
    'submit',
    asyncListener(async (e) => {
      e.preventDefault();
      if (!data) return;
      const values = Object.fromEntries(new FormData(form));
      const error = checkInfo(values);
      if (error) return formStatus(form, { error });
      const body = infoPatch(data.streamer, values);
      if (!body) return formStatus(form, { ok: t('dashboard.nothingChanged') });
      const button = query(form, 'button[type="submit"]', HTMLButtonElement);
      button.disabled = true;
      const r = await patch(body);
      button.disabled = false;
      formStatus(form, r.ok ? { ok: t('dashboard.saved') } : { error: friendlyError(r.error) });
    }),
  );
}

function wirePassword() {
  const form = byId('pw-form', HTMLFormElement);
  const input = byId('pw-input', HTMLInputElement);
  form.addEventListener(
    'submit',
    asyncListener(async (e) => {
      e.preventDefault();
      const password = input.value;
      if (password.length < MIN_STREAM_PASSWORD) {
        return formStatus(form, {
          error: t('dashboard.pw.short', { min: formatNumber(MIN_STREAM_PASSWORD) }),
        });
      }
      const r = await patch({ password });
      if (r.ok) input.value = '';
      formStatus(form, r.ok ? { ok: t('dashboard.pw.saved') } : { error: friendlyError(r.error) });
    }),
  );
  $('pw-remove').addEventListener(
    'click',
    asyncListener(async () => {
      const r = await patch({ password: null });
      formStatus(form, r.ok ? { ok: t('dashboard.pw.removed') } : { error: friendlyError(r.error) });
    }),
  );
}

function wireKey() {
  const confirmBox = $('key-confirm');
  const box = $('key-new');
  const value = byId('key-value', HTMLInputElement);
  $('key-rotate').addEventListener('click', () => {
    confirmBox.hidden = false;
    $('key-confirm-no').focus();
  });
  $('key-confirm-no').addEventListener('click', () => (confirmBox.hidden = true));
  $('key-confirm-yes').addEventListener(
    'click',
    asyncListener(async () => {
      confirmBox.hidden = true;
      $('key-error').textContent = '';
      const r = await api('POST', '/api/dashboard/rotate-key');
      const key = r.ok ? asRecord(r.data)?.key : undefined;
      if (typeof key !== 'string') {
        $('key-error').textContent = r.ok ? t('dashboard.key.none') : friendlyError(r.error);
        return;
      }
      value.value = key;
      $('key-copied').textContent = '';
      box.hidden = false;
      value.focus();
      value.select();
    }),
  );
  $('key-copy').addEventListener(
    'click',
    asyncListener(async () => {
      let copied = false;
      try {
        await navigator.clipboard.writeText(value.value);
        copied = true;
      } catch {
        // No clipboard API (plain http on another host): fall back to the selection.
        value.select();
        copied = document.execCommand('copy');
      }
      $('key-copied').textContent = copied ? t('dashboard.copied') : t('dashboard.key.copyByHand');
    }),
  );
  $('key-hide').addEventListener('click', () => {
    value.value = '';
    box.hidden = true;
  });
}

function wireKeyLogin() {
  const form = byId('key-login-form', HTMLFormElement);
  form.addEventListener(
    'submit',
    asyncListener(async (e) => {
      e.preventDefault();
      const key = byId('key-login-key', HTMLInputElement).value.trim();
      const error = query(form, '.form-error', HTMLElement);
      if (!key) return (error.textContent = t('dashboard.pasteKey'));
      const button = query(form, 'button[type="submit"]', HTMLButtonElement);
      button.disabled = true;
      const r = await api('POST', '/api/auth/streamer', { key });
      button.disabled = false;
      if (!r.ok) {
        error.textContent =
          r.error.code === 'BAD_CREDENTIALS' ? t('dashboard.wrongKey') : friendlyError(r.error);
        return;
      }
      // The top bar and everything else follow the new session: start the page afresh.
      location.reload();
    }),
  );
}

/** The channel's recording choice: saved as soon as it is changed. */
function wireRecording() {
  const select = byId('recording-choice', HTMLSelectElement);
  select.addEventListener('change', () => {
    const value = select.value;
    void patch({ recording: value === '' ? null : value }).then((r) => {
      $('recording-status').textContent = r.ok ? t('dashboard.recordingSaved') : friendlyError(r.error);
    });
  });
}

async function main() {
  void mountSessionArea();
  wireRecording();
  wireInfo();
  wirePassword();
  wireKey();
  wireKeyLogin();
  const ok = await load(true);
  // Logged out: nothing to refresh until the key login reloads the page.
  if (ok || $('key-login').hidden) startRefresh();
}

void main();
