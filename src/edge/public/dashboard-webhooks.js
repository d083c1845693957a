// The dashboard's webhooks (issue 16): the channel's hooks with their events and whether they are failing,
// each with its delivery log (the last 50: event, when, attempts, outcome) and a remove button; a form to add
// one (address, JSON or Discord, which events; chat messages only when ticked). A new hook's secret is shown
// once, as the stream key is after a rotation, and never kept by the page. The hub checks every address.

import { api } from './api.js';
import { asyncListener, byId, el, formField, optionalById, query } from './dom.js';
import { asArray, asRecord } from './json.js';
import { friendlyError } from './auth-rules.js';
import { formatDate, formatNumber, has, t } from './i18n.js';

/**
 * The events a hook may ask for (`optIn` ones are not ticked by default); each is named for the streamer
 * by its id (`dashboard.hooks.event.ID`, dots as underscores).
 */
export const HOOK_EVENTS = [
  { id: 'stream.started' },
  { id: 'stream.ended' },
  { id: 'stream.title_changed' },
  { id: 'channel.followed' },
  { id: 'clip.created' },
  { id: 'chat.message', optIn: true },
];

/**
 * @typedef {{id: string, url: string, format: string, events: string[], failing: boolean}} HookView
 * @typedef {{id: string, event: string, createdAt: number, attempts: number, state: string,
 *   lastStatus: number | null, lastError: string | null, retryAt: number | null}} DeliveryView
 */

/**
 * @param {unknown} v
 * @returns {HookView | null}
 */
export function parseHook(v) {
  const r = asRecord(v);
  if (!r || typeof r.id !== 'string' || typeof r.url !== 'string' || typeof r.format !== 'string')
    return null;
  const events = asArray(r.events).filter((e) => typeof e === 'string');
  return { id: r.id, url: r.url, format: r.format, events, failing: r.failing === true };
}

/**
 * @param {unknown} v
 * @returns {DeliveryView | null}
 */
export function parseDelivery(v) {
  const r = asRecord(v);
  if (!r || typeof r.id !== 'string' || typeof r.event !== 'string' || typeof r.state !== 'string')
    return null;
  const num = (/** @type {unknown} */ x) => (typeof x === 'number' && Number.isFinite(x) ? x : null);
  return {
    id: r.id,
    event: r.event,
    createdAt: num(r.createdAt) ?? 0,
    attempts: num(r.attempts) ?? 0,
    state: r.state,
    lastStatus: num(r.lastStatus),
    lastError: typeof r.lastError === 'string' ? r.lastError : null,
    retryAt: num(r.retryAt),
  };
}

/**
 * A delivery's outcome in words: delivered (status), retrying (why, when), or given up (why).
 * @param {DeliveryView} d
 * @param {number} [now]
 */
export function deliveryOutcome(d, now = Date.now()) {
  const why = d.lastStatus !== null ? `HTTP ${d.lastStatus}` : (d.lastError ?? t('dashboard.hooks.noAnswer'));
  const count = d.attempts;
  if (d.state === 'delivered') return t('dashboard.hooks.delivered', { why, count, n: formatNumber(count) });
  if (d.state === 'given_up') return t('dashboard.hooks.givenUp', { why, count, n: formatNumber(count) });
  if (d.attempts === 0) return t('dashboard.hooks.waiting');
  const inS = d.retryAt === null ? 0 : Math.max(0, Math.round((d.retryAt - now) / 1000));
  return t('dashboard.hooks.failed', { why, seconds: formatNumber(inS) });
}

/** @param {string} id */
const eventLabel = (id) => {
  const key = id.replace(/\./g, '_');
  return /^\w+$/.test(key) && has(`dashboard.hooks.event.${key}`) ? t(`dashboard.hooks.event.${key}`) : id;
};

/** Fills the panel and keeps it current after each change. */
export async function mountWebhooks() {
  const list = optionalById('hooks-list', HTMLElement);
  const form = optionalById('hook-form', HTMLFormElement);
  if (!list || !form) return;
  const status = byId('hooks-status', HTMLElement);
  const say = (/** @type {string} */ text) => {
    status.textContent = text;
  };
  const fieldset = byId('hook-events', HTMLFieldSetElement);
  for (const e of HOOK_EVENTS) {
    const label = el('label', 'check-row');
    const box = /** @type {HTMLInputElement} */ (el('input'));
    box.type = 'checkbox';
    box.name = 'events';
    box.value = e.id;
    box.checked = !e.optIn;
    label.append(box, ` ${eventLabel(e.id)}`);
    fieldset.append(label);
  }

  const refresh = async () => {
    const r = await api('GET', '/api/dashboard/webhooks');
    if (!r.ok) return say(t('dashboard.hooks.notLoaded', { reason: friendlyError(r.error) }));
    /** @type {HookView[]} */
    const hooks = [];
    for (const item of asArray(asRecord(r.data)?.webhooks)) {
      const h = parseHook(item);
      if (h) hooks.push(h);
    }
    list.replaceChildren(...hooks.map(row));
    if (!hooks.length) say(t('dashboard.hooks.none'));
  };

  /** @param {HookView} h */
  const row = (h) => {
    const li = el('li', 'dash-hook');
    li.dataset.id = h.id;
    const head = el('div', 'dash-hook-head');
    const url = el('span', 'dash-hook-url mono', h.url);
    const meta = el(
      'span',
      'dash-hook-meta',
      `${h.format === 'discord' ? 'Discord' : 'JSON'} · ${h.events.map(eventLabel).join(', ')}`,
    );
    head.append(url, meta);
    if (h.failing) head.append(el('span', 'dash-hook-failing', t('dashboard.hooks.failing')));
    const log = /** @type {HTMLDetailsElement} */ (el('details', 'dash-hook-log'));
    const summary = el('summary', '', t('dashboard.hooks.recent'));
    const lines = el('ol', 'dash-hook-deliveries');
    log.append(summary, lines);
    log.addEventListener('toggle', () => {
      if (!log.open) return;
      void api('GET', `/api/dashboard/webhooks/${encodeURIComponent(h.id)}/deliveries`).then((r) => {
        if (!r.ok)
          return lines.replaceChildren(
            el('li', '', t('dashboard.notLoaded', { reason: friendlyError(r.error) })),
          );
        const ds = asArray(asRecord(r.data)?.deliveries)
          .map(parseDelivery)
          .filter((d) => d !== null);
        lines.replaceChildren(
          ...(ds.length
            ? ds.map((d) => {
                const item = el('li', `dash-delivery is-${d.state}`);
                item.append(
                  el('span', 'dash-delivery-event', eventLabel(d.event)),
                  ' · ',
                  el('time', '', formatDate(d.createdAt)),
                  ' · ',
                  el('span', 'dash-delivery-outcome', deliveryOutcome(d)),
                );
                return item;
              })
            : [el('li', 'name-empty', t('dashboard.hooks.nothingSent'))]),
        );
      });
    });
    const remove = /** @type {HTMLButtonElement} */ (
      el('button', 'link-button danger dash-hook-remove', t('dashboard.remove'))
    );
    remove.type = 'button';
    remove.addEventListener('click', () => {
      if (!confirm(t('dashboard.hooks.confirmRemove', { url: h.url }))) return;
      void api('DELETE', `/api/dashboard/webhooks/${encodeURIComponent(h.id)}`).then((r) => {
        say(
          r.ok ? t('dashboard.hooks.removed') : t('dashboard.notRemoved', { reason: friendlyError(r.error) }),
        );
        void refresh();
      });
    });
    li.append(head, log, remove);
    return li;
  };

  const secretBox = byId('hook-secret', HTMLElement);
  const secretValue = byId('hook-secret-value', HTMLInputElement);
  byId('hook-secret-copy', HTMLButtonElement).addEventListener(
    'click',
    asyncListener(async () => {
      secretValue.select();
      const copied = await navigator.clipboard?.writeText(secretValue.value).then(
        () => true,
        () => false,
      );
      byId('hook-secret-copied', HTMLElement).textContent = copied
        ? t('dashboard.copied')
        : t('dashboard.hooks.selected');
    }),
  );
  byId('hook-secret-hide', HTMLButtonElement).addEventListener('click', () => {
    secretValue.value = '';
    secretBox.hidden = true;
  });

  const error = query(form, '.form-error', HTMLElement);
  form.addEventListener('input', () => {
    error.textContent = '';
  });
  form.addEventListener(
    'submit',
    asyncListener(async (e) => {
      e.preventDefault();
      const data = new FormData(form);
      const url = formField(form, 'url').value.trim();
      const events = data.getAll('events').map(String);
      if (!url) return void (error.textContent = t('dashboard.hooks.urlIt'));
      if (!events.length) return void (error.textContent = t('dashboard.hooks.eventsIt'));
      const button = query(form, 'button[type="submit"]', HTMLButtonElement);
      button.disabled = true;
      const r = await api('POST', '/api/dashboard/webhooks', { url, format: data.get('format'), events });
      button.disabled = false;
      if (!r.ok) return void (error.textContent = friendlyError(r.error));
      const secret = asRecord(r.data)?.secret;
      secretValue.value = typeof secret === 'string' ? secret : '';
      byId('hook-secret-copied', HTMLElement).textContent = '';
      secretBox.hidden = false;
      formField(form, 'url').value = '';
      say(t('dashboard.hooks.added'));
      await refresh();
    }),
  );
  await refresh();
}
