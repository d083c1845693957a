// The dashboard's chat rules and moderation log (issue 16): slow mode, who may chat, links (with the domains
// always allowed) and the channel's own masked words, saved together; the log lists who did what, newest
// first, and is read again after each save. The hub checks every value and enforces the rules.

import { api } from './api.js';
import { asyncListener, el, formField, optionalById, query } from './dom.js';
import { asArray, asRecord } from './json.js';
import { friendlyError } from './auth-rules.js';
import { formatDate, formatNumber, has, t } from './i18n.js';

/**
 * @typedef {{slowModeS: number, who: string, links: string, linkAllow: string[], blockedWords: string[]}} Rules
 * @typedef {{at: number, actor: string, action: string, target: string | null,
 *   details: Record<string, unknown> | null}} LogEntry
 */

/**
 * The rules as the form sends them: numbers as numbers, one list item per non-empty line.
 * @param {{slowModeS: string, who: string, links: string, linkAllow: string, blockedWords: string}} values
 * @returns {Rules}
 */
export function rulesFromForm(values) {
  const lines = (/** @type {string} */ s) =>
    s
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
  const slow = Number(values.slowModeS || 0);
  return {
    slowModeS: Number.isFinite(slow) ? Math.trunc(slow) : -1,
    who: values.who,
    links: values.links,
    linkAllow: lines(values.linkAllow),
    blockedWords: lines(values.blockedWords),
  };
}

/**
 * One log line in words: "dave muted carol for 5 min", "alice changed the rules: slow mode 30 s".
 * @param {LogEntry} e
 */
export function logLine(e) {
  const d = e.details ?? {};
  const vars = { actor: e.actor, target: e.target ?? '' };
  const minutes = typeof d.minutes === 'number' ? { ...vars, minutes: formatNumber(d.minutes) } : null;
  switch (e.action) {
    case 'mute':
      return minutes ? t('dashboard.log.muteFor', minutes) : t('dashboard.log.mute', vars);
    case 'ban':
      return minutes ? t('dashboard.log.banFor', minutes) : t('dashboard.log.ban', vars);
    case 'rules': {
      const parts = [];
      if (typeof d.slowModeS === 'number')
        parts.push(
          d.slowModeS
            ? t('dashboard.log.slow', { seconds: formatNumber(d.slowModeS) })
            : t('dashboard.log.slowOff'),
        );
      if (typeof d.who === 'string') parts.push(t('dashboard.log.who', { who: ruleValue('who', d.who) }));
      if (typeof d.links === 'string')
        parts.push(t('dashboard.log.links', { links: ruleValue('links', d.links) }));
      if (d.linkAllow !== undefined) parts.push(t('dashboard.log.allowed'));
      if (d.blockedWords !== undefined) parts.push(t('dashboard.log.masked'));
      return parts.length
        ? t('dashboard.log.rulesWhat', { actor: e.actor, what: parts.join(', ') })
        : t('dashboard.log.rules', vars);
    }
    case 'approve':
      return t('dashboard.log.approve', vars);
    case 'reject':
      return t('dashboard.log.reject', vars);
    case 'raid':
      return t('dashboard.log.raid', vars);
    default:
      return `${e.actor}: ${e.action}${e.target ? ` ${e.target}` : ''}`;
  }
}

/**
 * A rule's value in words ("accounts" → "accounts only"); a value this page does not know, as it is.
 * @param {'who' | 'links'} rule
 * @param {string} value
 */
function ruleValue(rule, value) {
  if (!/^\w+$/.test(value)) return value;
  if (rule === 'who')
    return has(`dashboard.log.whoValue.${value}`) ? t(`dashboard.log.whoValue.${value}`) : value;
  return has(`dashboard.log.linksValue.${value}`) ? t(`dashboard.log.linksValue.${value}`) : value;
}

/** @param {unknown} v @returns {Rules | null} */
function parseRules(v) {
  const r = asRecord(asRecord(v)?.rules);
  if (!r || typeof r.slowModeS !== 'number' || typeof r.who !== 'string' || typeof r.links !== 'string')
    return null;
  const strings = (/** @type {unknown} */ a) => asArray(a).filter((x) => typeof x === 'string');
  return {
    slowModeS: r.slowModeS,
    who: r.who,
    links: r.links,
    linkAllow: strings(r.linkAllow),
    blockedWords: strings(r.blockedWords),
  };
}

export async function mountChatRules() {
  const form = optionalById('rules-form', HTMLFormElement);
  const log = optionalById('modlog', HTMLElement);
  if (!form || !log) return;
  const ok = query(form, '.form-ok', HTMLElement);
  const error = query(form, '.form-error', HTMLElement);
  const field = (/** @type {string} */ name) =>
    /** @type {HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement} */ (form.elements.namedItem(name));

  /** @param {Rules} r */
  const fill = (r) => {
    field('slowModeS').value = String(r.slowModeS);
    field('who').value = r.who;
    field('links').value = r.links;
    field('linkAllow').value = r.linkAllow.join('\n');
    field('blockedWords').value = r.blockedWords.join('\n');
  };

  const refreshLog = async () => {
    const r = await api('GET', '/api/dashboard/moderation-log');
    if (!r.ok)
      return log.replaceChildren(
        el('li', 'name-empty', t('dashboard.notLoaded', { reason: friendlyError(r.error) })),
      );
    const entries = asArray(asRecord(r.data)?.entries)
      .map((x) => asRecord(x))
      .filter((x) => x !== null && typeof x.actor === 'string' && typeof x.action === 'string');
    log.replaceChildren(
      ...(entries.length
        ? entries.map((x) => {
            const e = /** @type {LogEntry} */ (/** @type {unknown} */ (x));
            const li = el('li', 'dash-modlog-line');
            li.append(el('time', '', formatDate(e.at)), ` · ${logLine(e)}`);
            return li;
          })
        : [el('li', 'name-empty', t('dashboard.nothingYet'))]),
    );
  };

  form.addEventListener('input', () => {
    ok.textContent = error.textContent = '';
  });
  form.addEventListener(
    'submit',
    asyncListener(async (e) => {
      e.preventDefault();
      const rules = rulesFromForm({
        slowModeS: formField(form, 'slowModeS').value,
        who: field('who').value,
        links: field('links').value,
        linkAllow: formField(form, 'linkAllow').value,
        blockedWords: formField(form, 'blockedWords').value,
      });
      const button = query(form, 'button[type="submit"]', HTMLButtonElement);
      button.disabled = true;
      const r = await api('PUT', '/api/dashboard/chat-rules', rules);
      button.disabled = false;
      if (!r.ok) return void (error.textContent = friendlyError(r.error));
      const saved = parseRules(r.data);
      if (saved) fill(saved);
      // The log first: once the page says "Saved", everything on it is current.
      await refreshLog();
      ok.textContent = t('dashboard.rules.saved');
    }),
  );

  const r = await api('GET', '/api/dashboard/chat-rules');
  const rules = r.ok ? parseRules(r.data) : null;
  if (rules) fill(rules);
  else error.textContent = r.ok ? t('dashboard.rules.unexpected') : friendlyError(r.error);
  await refreshLog();
}
