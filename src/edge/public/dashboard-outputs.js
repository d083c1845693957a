// The dashboard's restream outputs (issue 16): the channel's outputs (name, server, quality) with the state
// the ingress last reported while live (connecting, live, failed: why), each with a remove button; a form to
// add one. The key goes to the hub once, in the form's request, and is never shown or kept by the page.
// While the panel is open the states are refreshed every 5 s.

import { api } from './api.js';
import { asyncListener, byId, el, formField, optionalById, query } from './dom.js';
import { asArray, asRecord } from './json.js';
import { friendlyError } from './auth-rules.js';

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
      return 'live';
    case 'connecting':
      return 'connecting…';
    case 'failed':
      return `failed: ${o.reason ?? 'no reason given'} (retrying)`;
    case 'stopped':
      return 'stopped with the stream';
    default:
      return 'starts when you go live';
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
    if (!r.ok) return say(`Outputs cannot be loaded: ${friendlyError(r.error)}`);
    const outputs = asArray(asRecord(r.data)?.outputs)
      .map(parseOutput)
      .filter((o) => o !== null);
    list.replaceChildren(...outputs.map(row));
    if (!outputs.length) say('No outputs yet.');
  };

  /** @param {OutputView} o */
  const row = (o) => {
    const li = el('li', 'dash-hook dash-output');
    li.dataset.id = o.id;
    const head = el('div', 'dash-hook-head');
    head.append(
      el('strong', 'dash-output-name', o.name),
      el('span', 'dash-hook-url mono', o.url),
      el('span', 'dash-hook-meta', o.rendition === 'source' ? 'Source' : o.rendition),
      el('span', `dash-output-state is-${o.state}`, outputState(o)),
    );
    const remove = /** @type {HTMLButtonElement} */ (
      el('button', 'link-button danger dash-hook-remove', 'Remove')
    );
    remove.type = 'button';
    remove.addEventListener('click', () => {
      if (!confirm(`Remove the output "${o.name}"? It applies the next time you go live.`)) return;
      void api('DELETE', `/api/dashboard/outputs/${encodeURIComponent(o.id)}`).then((r) => {
        say(r.ok ? 'Output removed.' : `Not removed: ${friendlyError(r.error)}`);
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
      if (!name) return void (error.textContent = 'Give the output a name.');
      if (!/^rtmps?:\/\//i.test(url))
        return void (error.textContent = 'The server URL starts with rtmp:// or rtmps://.');
      if (!keyField.value) return void (error.textContent = 'Enter the stream key the service gave you.');
      const button = query(form, 'button[type="submit"]', HTMLButtonElement);
      button.disabled = true;
      const rendition = byId('output-rendition', HTMLSelectElement).value;
      const r = await api('POST', '/api/dashboard/outputs', { name, url, key: keyField.value, rendition });
      button.disabled = false;
      if (!r.ok) return void (error.textContent = friendlyError(r.error));
      keyField.value = '';
      formField(form, 'name').value = '';
      formField(form, 'url').value = '';
      say(`Output "${name}" added.`);
      await refresh();
    }),
  );
  setInterval(() => {
    if (!document.hidden) void refresh();
  }, OUTPUTS_REFRESH_MS);
  await refresh();
}
