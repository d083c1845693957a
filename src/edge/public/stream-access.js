// Password-protected streams on the watch page. The player and the chat both wait for `ready`: for an open
// stream at once; for a protected one after the viewer typed the password (POST /api/streams/NAME/unlock
// sets an HttpOnly access cookie). A viewer who unlocked earlier still holds the cookie, which the page
// cannot read, so a protected stream's manifest is asked first: a 403 PASSWORD_REQUIRED means "show the form".
// The edge saves all that when it already knows (player-page.ts): the page's <meta name="tiercast-access">
// says "open" (no password) or "unlocked" (this viewer holds a valid token), and the player starts at once.

import { api } from './api.js';
import { friendlyError } from './auth-rules.js';
import { parseChannelEntry } from './format.js';
import { asyncListener, byId, query } from './dom.js';
import { asRecord } from './json.js';
import { t } from './i18n.js';

/** @import { ChannelEntry } from './format.js' */
/**
 * @typedef {object} AccessGate
 * @property {Promise<boolean>} locked whether the password form is shown
 * @property {Promise<void>} ready when playback and chat may start
 * @property {Promise<boolean>} open whether the stream is known to need no password (its media may be
 *   fetched from another edge, which would not see this edge's access cookie)
 */

const DIRECTORY_TIMEOUT_MS = 3000;
const PROBE_TIMEOUT_MS = 1500;

/** @type {AccessGate | null} */
let gate = null;

/**
 * @param {string} name
 * @returns {Promise<ChannelEntry | null>}
 */
async function directoryEntry(name) {
  const ctl = new AbortController();
  const t = setTimeout(() => ctl.abort(), DIRECTORY_TIMEOUT_MS);
  try {
    const res = await fetch('/api/streams', { cache: 'no-store', signal: ctl.signal });
    if (!res.ok) return null;
    /** @type {unknown} */
    const list = await res.json();
    return Array.isArray(list)
      ? (list.map(parseChannelEntry).find((e) => e && e.name === name) ?? null)
      : null;
  } catch {
    return null;
  } finally {
    clearTimeout(t);
  }
}

/**
 * True if the edge refuses this stream's manifest for want of the password.
 * @param {string} name
 */
async function needsPassword(name) {
  const ctl = new AbortController();
  const t = setTimeout(() => ctl.abort(), PROBE_TIMEOUT_MS);
  try {
    const res = await fetch(`/live/${encodeURIComponent(name)}/manifest.mpd`, {
      cache: 'no-store',
      signal: ctl.signal,
    });
    if (res.status !== 403) return false;
    const body = asRecord(await res.json().catch(() => null));
    const error = asRecord(body?.error);
    return !body || !body.error || error?.code === 'PASSWORD_REQUIRED';
  } catch {
    // A slow answer means the edge is waiting for an offline stream: it let us through.
    return false;
  } finally {
    clearTimeout(t);
    ctl.abort();
  }
}

/**
 * @param {string} name
 * @param {() => void} resolve
 */
function showForm(name, resolve) {
  const form = byId('unlock', HTMLFormElement);
  const input = byId('unlock-password', HTMLInputElement);
  const error = byId('unlock-error', HTMLElement);
  const button = query(form, 'button[type="submit"]', HTMLButtonElement);
  form.hidden = false;
  input.focus();
  form.addEventListener(
    'submit',
    asyncListener(async (e) => {
      e.preventDefault();
      const password = input.value;
      if (!password) {
        error.textContent = t('player.unlock.empty');
        return;
      }
      button.disabled = true;
      error.textContent = '';
      const r = await api('POST', `/api/streams/${encodeURIComponent(name)}/unlock`, { password });
      button.disabled = false;
      if (r.ok) {
        form.hidden = true;
        input.value = '';
        resolve();
        return;
      }
      error.textContent =
        r.error.code === 'BAD_CREDENTIALS' ? t('player.unlock.wrong') : friendlyError(r.error);
      input.select();
    }),
  );
}

/**
 * The page's access gate for stream `name` (one per page, shared by the player and the chat).
 * `locked` resolves to whether the form is shown; `ready` when playback and chat may start.
 * @param {string} name
 * @returns {AccessGate}
 */
export function streamAccess(name) {
  if (gate) return gate;
  const hint = document.querySelector('meta[name="tiercast-access"]')?.getAttribute('content');
  if (hint === 'open' || hint === 'unlocked') {
    gate = {
      locked: Promise.resolve(false),
      ready: Promise.resolve(),
      open: Promise.resolve(hint === 'open'),
    };
    return gate;
  }
  const entry = directoryEntry(name);
  const open = entry.then((e) => e !== null && !e.protected);
  const locked = entry.then((e) => (e && e.protected ? needsPassword(name) : false));
  /** @type {Promise<void>} */
  const ready = locked.then((isLocked) =>
    isLocked ? new Promise((resolve) => showForm(name, () => resolve(undefined))) : undefined,
  );
  gate = { locked, ready, open };
  return gate;
}
