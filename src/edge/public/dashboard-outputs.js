// The dashboard's restream outputs (issue 16): the channel's outputs (name, server, quality) with the state
// the ingress last reported while live (connecting, live, failed: why), each with a remove button; a form to
// add one. The key goes to the hub once, in the form's request, and is never shown or kept by the page.
// While the panel is open the states are refreshed every 5 s.

import { api } from './api.js';
import { asyncListener, byId, el, formField, optionalById, query } from './dom.js';
import { asArray, asRecord } from './json.js';
import { friendlyError } from './auth-rules.js';
import { t } from './i18n.js';

export const OUTPUTS_REFRESH_MS = 5000;

/** @typedef {{id: string, name: string, url: string, rendition: string, state: string, reason: string | null}} OutputView */

/**
 * @param {unknown} v
 * @returns {OutputView | null}
 */
export function parseOutput(v) {
  const r = asRecord(v);
  if (!r || typeof r.id !== 'string' || typeof r.name !== 'string' || typeof r.url !== 'string') return null;
  return {
    id: r.id,
    name: r.name,
    url: r.url,
    rendition: typeof r.rendition === 'string' ? r.rendition : 'source',
    state: typeof r.state === 'string' ? r.state : 'off',
    reason: typeof r.reason === 'string' ? r.reason : null,
  };
}

/**
 * An output's state in words.
 * @param {OutputView} o
 */
export function outputState(o) {
  switch (o.state) {
    case 'live':
      return t('dashboard.outputs.live');
    case 'connecting':
      return t('dashboard.outputs.connecting');
    case 'failed':
      return t('dashboard.outputs.failed', { reason: o.reason ?? t('dashboard.outputs.noReason') });
    case 'stopped':
      return t('dashboard.outputs.stopped');
    default:
      return t('dashboard.outputs.waiting');
  }
}

/** Fills the panel and keeps it current. */
export async function mountOutputs() {
  const list = optionalById('outputs-list', HTMLElement);
  const form = optionalById('output-form', HTMLFormElement);
  if (!list || !form) return;
  const status = byId('outputs-status', HTMLElement);
  const say = (/** @type {string} */ text) => {
    status.textContent = text;
  };

  const refresh = async () => {
    const r = await api('GET', '/api/dashboard/outputs');
    if (!r.ok) return say(t('dashboard.outputs.notLoaded', { reason: friendlyError(r.error) }));
    const outputs = asArray(asRecord(r.data)?.outputs)
      .map(parseOutput)
      .filter((o) => o !== null);
    list.replaceChildren(...outputs.map(row));
    if (!outputs.length) say(t('dashboard.outputs.none'));
  };

  /** @param {OutputView} o */
  const row = (o) => {
    const li = el('li', 'dash-hook dash-output');
    li.dataset.id = o.id;
    const head = el('div', 'dash-hook-head');
    head.append(
      el('strong', 'dash-output-name', o.name),
      el('span', 'dash-hook-url mono', o.url),
      el('span', 'dash-hook-meta', o.rendition === 'source' ? t('player.source') : o.rendition),
      el('span', `dash-output-state is-${o.state}`, outputState(o)),
    );
    const remove = /** @type {HTMLButtonElement} */ (
      el('button', 'link-button danger dash-hook-remove', t('dashboard.remove'))
    );
    remove.type = 'button';
    remove.addEventListener('click', () => {
      if (!confirm(t('dashboard.outputs.confirmRemove', { name: o.name }))) return;
      void api('DELETE', `/api/dashboard/outputs/${encodeURIComponent(o.id)}`).then((r) => {
        say(
          r.ok
            ? t('dashboard.outputs.removed')
            : t('dashboard.notRemoved', { reason: friendlyError(r.error) }),
        );
        void refresh();
      });
    });
    li.append(head, remove);
    return li;
  };

  const error = query(form, '.form-error', HTMLElement);
  form.addEventListener('input', () => {
    error.textContent = '';
  });
  form.addEventListener(
    'submit',
    asyncListener(async (e) => {
      e.preventDefault();
      const name = formField(form, 'name').value.trim();
      const url = formField(form, 'url').value.trim();
      const keyField = formField(form, 'key');
      if (!name) return void (error.textContent = t('dashboard.outputs.nameIt'));
      if (!/^rtmps?:\/\//i.test(url)) return void (error.textContent = t('dashboard.outputs.badUrl'));
      if (!keyField.value) return void (error.textContent = t('dashboard.outputs.keyIt'));
      const button = query(form, 'button[type="submit"]', HTMLButtonElement);
      button.disabled = true;
      const rendition = byId('output-rendition', HTMLSelectElement).value;
      const r = await api('POST', '/api/dashboard/outputs', { name, url, key: keyField.value, rendition });
      button.disabled = false;
      if (!r.ok) return void (error.textContent = friendlyError(r.error));
      keyField.value = '';
      formField(form, 'name').value = '';
      formField(form, 'url').value = '';
      say(t('dashboard.outputs.added', { name }));
      await refresh();
    }),
  );
  setInterval(() => {
    if (!document.hidden) void refresh();
  }, OUTPUTS_REFRESH_MS);
  await refresh();
}
