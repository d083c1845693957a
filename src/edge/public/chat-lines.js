// The lines the hub writes into the chat itself (moderation announcements, replies to commands, refusals),
// in the page's language. The hub sends each with a catalogue key and its params beside its English text
// (src/common/chat/lines.ts, ADR 0023); the page shows the catalogue's sentence for the key, filled with the
// params, or the English for a key it does not know. Pure: chat-view.js and chat.js put the result in as text.

import { asRecord } from './json.js';
import { has, t } from './i18n.js';

/** @typedef {Record<string, string | number>} LineParams */

/** The keys the hub writes its own lines with (src/common/chat/lines.ts): `chat.system.X`, `chat.notice.X[.Y]`. */
const LINE_KEY_RE = /^chat\.(system|notice)\.([A-Za-z_]{1,64}(?:\.[A-Za-z_]{1,64})?)$/;

/**
 * The values a hub line names (people's names, seconds, counts): strings and finite numbers, nothing else.
 * They reach the page as text, like every translated string.
 * @param {unknown} value
 * @returns {LineParams | undefined}
 */
export function parseParams(value) {
  const raw = asRecord(value);
  if (!raw) return undefined;
  /** @type {LineParams} */
  const out = {};
  for (const [k, v] of Object.entries(raw)) {
    if (!/^[A-Za-z]{1,32}$/.test(k)) continue;
    if (typeof v === 'string') out[k] = v.slice(0, 500);
    else if (typeof v === 'number' && Number.isFinite(v)) out[k] = v;
  }
  return out;
}

/**
 * What the hub wrote (a system line, a notice) in the page's language: the catalogue's sentence for its key,
 * filled with its params; the hub's English `text` for a key this page's catalogue does not have (a newer
 * hub) or whose variables the params do not fill.
 * @param {unknown} key
 * @param {unknown} params
 * @param {string} text
 */
export function lineText(key, params, text) {
  const m = typeof key === 'string' ? LINE_KEY_RE.exec(key) : null;
  if (!m) return text;
  const vars = parseParams(params) ?? {};
  if (key === 'chat.notice.help') return helpText(vars.commands, text);
  let s;
  if (m[1] === 'system') {
    if (!has(`chat.system.${m[2]}`, vars)) return text;
    s = t(`chat.system.${m[2]}`, vars);
  } else {
    if (!has(`chat.notice.${m[2]}`, vars)) return text;
    s = t(`chat.notice.${m[2]}`, vars);
  }
  // i18next leaves a variable it has no value for as it is: show the hub's words rather than "{{name}}".
  const unfilled = s.includes('{{') && !Object.values(vars).some((v) => String(v).includes('{{'));
  return unfilled ? text : s;
}

/**
 * /help: the commands the hub named, each with its usage and what it does, one a line (the notice keeps its
 * line breaks); the hub's English when it names a command this page does not know.
 * @param {unknown} commands space-separated names
 * @param {string} text
 */
function helpText(commands, text) {
  const names = typeof commands === 'string' ? commands.split(' ') : [];
  const known = (/** @type {string} */ n) =>
    /^[a-z]{1,16}$/.test(n) && has(`chat.help.usage.${n}`) && has(`chat.help.about.${n}`);
  if (!names.length || !names.every(known)) return text;
  const lines = names.map((n) => `${t(`chat.help.usage.${n}`)} — ${t(`chat.help.about.${n}`)}`);
  return [t('chat.help.heading'), ...lines, t('chat.help.slashes')].join('\n');
}
