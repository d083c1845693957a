// The dashboard's webhooks (issue 16): the channel's hooks with their events and whether they are failing,
// each with its delivery log (the last 50: event, when, attempts, outcome) and a remove button; a form to add
// one (address, JSON or Discord, which events; chat messages only when ticked). A new hook's secret is shown
// once, as the stream key is after a rotation, and never kept by the page. The hub checks every address.

import { api } from './api.js';
import { asyncListener, byId, el, formField, optionalById, query } from './dom.js';
import { asArray, asRecord } from './json.js';
import { friendlyError } from './auth-rules.js';

/** The events a hook may ask for, as the streamer reads them; `optIn` ones are not ticked by default. */
export const HOOK_EVENTS = [
  { id: 'stream.started', label: 'Went live' },
  { id: 'stream.ended', label: 'Stream ended' },
  { id: 'stream.title_changed', label: 'Title or category changed' },
  { id: 'channel.followed', label: 'New follower' },
  { id: 'clip.created', label: 'Clip made' },
  { id: 'chat.message', label: 'Every chat message (busy: many requests)', optIn: true },
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
  const why = d.lastStatus !== null ? `HTTP ${d.lastStatus}` : (d.lastError ?? 'no answer');
  const tries = `${d.attempts} ${d.attempts === 1 ? 'attempt' : 'attempts'}`;
  if (d.state === 'delivered') return `delivered (${why}, ${tries})`;
  if (d.state === 'given_up') return `given up (${why}, ${tries})`;
  if (d.attempts === 0) return 'waiting';
  const inS = d.retryAt === null ? 0 : Math.max(0, Math.round((d.retryAt - now) / 1000));
  return `failed (${why}), next try in ${inS} s`;
}

/** @param {string} id */
const eventLabel = (id) => HOOK_EVENTS.find((e) => e.id === id)?.label ?? id;

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
    label.append(box, ` ${e.label}`);
    fieldset.append(label);
  }

  const refresh = async () => {
    const r = await api('GET', '/api/dashboard/webhooks');
    if (!r.ok) return say(`Webhooks cannot be loaded: ${friendlyError(r.error)}`);
    /** @type {HookView[]} */
    const hooks = [];
    for (const item of asArray(asRecord(r.data)?.webhooks)) {
      const h = parseHook(item);
      if (h) hooks.push(h);
    }
    list.replaceChildren(...hooks.map(row));
    if (!hooks.length) say('No webhooks yet.');
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
    if (h.failing) head.append(el('span', 'dash-hook-failing', 'failing: tried hourly'));
    const log = /** @type {HTMLDetailsElement} */ (el('details', 'dash-hook-log'));
    const summary = el('summary', '', 'Recent deliveries');
    const lines = el('ol', 'dash-hook-deliveries');
    log.append(summary, lines);
    log.addEventListener('toggle', () => {
      if (!log.open) return;
      void api('GET', `/api/dashboard/webhooks/${encodeURIComponent(h.id)}/deliveries`).then((r) => {
        if (!r.ok) return lines.replaceChildren(el('li', '', `Not loaded: ${friendlyError(r.error)}`));
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
                  el('time', '', new Date(d.createdAt).toLocaleString()),
                  ' · ',
                  el('span', 'dash-delivery-outcome', deliveryOutcome(d)),
                );
                return item;
              })
            : [el('li', 'name-empty', 'Nothing sent yet.')]),
        );
      });
    });
    const remove = /** @type {HTMLButtonElement} */ (
      el('button', 'link-button danger dash-hook-remove', 'Remove')
    );
    remove.type = 'button';
    remove.addEventListener('click', () => {
      if (!confirm(`Remove the webhook to ${h.url}? It stops receiving events at once.`)) return;
      void api('DELETE', `/api/dashboard/webhooks/${encodeURIComponent(h.id)}`).then((r) => {
        say(r.ok ? 'Webhook removed.' : `Not removed: ${friendlyError(r.error)}`);
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
      byId('hook-secret-copied', HTMLElement).textContent = copied ? 'Copied.' : 'Selected: copy it now.';
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
      if (!url) return void (error.textContent = 'Enter the address of the receiver.');
      if (!events.length) return void (error.textContent = 'Choose at least one event.');
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
      say('Webhook added.');
      await refresh();
    }),
  );
  await refresh();
}
