// This browser's Web Push subscription for the signed-in account (issue 16): once the viewer allowed
// notifications, the service worker (/sw.js) subscribes with the site's VAPID key and the hub stores the
// subscription, so go-lives reach this device with every tiercast page closed. At each page load the
// subscription is sent again (another account may have signed in on this browser since: it moves to this
// one); logging out removes it. A browser without push, or whose push service is unreachable, keeps the
// bell and the notifications shown while a page is open.

import { api } from './api.js';
import { asRecord } from './json.js';
import { errorText, lang, t, template } from './i18n.js';

export const SW_URL = '/sw.js';

/** Whether this browser can take pushes at all. */
export function pushSupported() {
  return (
    typeof navigator !== 'undefined' && 'serviceWorker' in navigator && typeof PushManager !== 'undefined'
  );
}

/**
 * The VAPID public key as the bytes `pushManager.subscribe` takes.
 * @param {string} b64url
 */
export function keyBytes(b64url) {
  const b64 = b64url.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (b64url.length % 4)) % 4);
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

/**
 * @param {ArrayBuffer | null} a
 * @param {Uint8Array} b
 */
function sameBytes(a, b) {
  if (!a || a.byteLength !== b.length) return false;
  const x = new Uint8Array(a);
  return x.every((v, i) => v === b[i]);
}

/**
 * Gives the service worker the words of its notifications in this page's language: a push comes with every
 * page closed, so the worker keeps them (push-sw.js). Each page load sends them again, a language switch too.
 * @param {ServiceWorkerRegistration} reg
 */
function tellLanguage(reg) {
  reg.active?.postMessage({
    type: 'push-words',
    lang,
    live: template('bell.isLive'),
    someone: template('bell.someoneLive'),
  });
}

/**
 * Subscribes this browser (or refreshes its subscription) and stores it at the hub for `account`.
 * @param {string} account
 * @returns {Promise<{ok: true} | {ok: false, reason: string}>}
 */
export async function subscribePush(account) {
  if (!pushSupported()) return { ok: false, reason: t('bell.noWebPush') };
  const key = await api('GET', '/api/me/push');
  const publicKey = key.ok ? asRecord(key.data)?.publicKey : undefined;
  if (typeof publicKey !== 'string')
    return { ok: false, reason: key.ok ? t('bell.noKey') : errorText(key.error) };
  try {
    const reg = await navigator.serviceWorker.register(SW_URL);
    await navigator.serviceWorker.ready;
    tellLanguage(reg);
    const key = keyBytes(publicKey);
    let sub = await reg.pushManager.getSubscription();
    // Made with another key (the site's key pair was replaced): the push service would refuse every push.
    if (sub && !sameBytes(sub.options.applicationServerKey, key)) {
      await sub.unsubscribe();
      sub = null;
    }
    sub ??= await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
    // Sent once per tab session and account (each page load would otherwise write it again).
    const sent = `tc_push_sent:${account}:${sub.endpoint}`;
    if (sessionStorage.getItem(sent)) return { ok: true };
    const stored = await api('PUT', '/api/me/push', sub.toJSON());
    if (stored.ok) sessionStorage.setItem(sent, '1');
    return stored.ok ? { ok: true } : { ok: false, reason: errorText(stored.error) };
  } catch (err) {
    return { ok: false, reason: err instanceof Error ? err.message : String(err) };
  }
}

/** Forgets this browser's subscription at the hub and in the browser (before logging out). */
export async function unsubscribePush() {
  if (!pushSupported()) return;
  try {
    const reg = await navigator.serviceWorker.getRegistration(SW_URL);
    const sub = await reg?.pushManager.getSubscription();
    if (!sub) return;
    await api('POST', '/api/me/push/remove', { endpoint: sub.endpoint });
    await sub.unsubscribe();
  } catch {
    // Logging out goes on; the next account to sign in on this browser moves the subscription to itself.
  }
}
