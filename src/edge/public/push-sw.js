// The service worker of Web Push (issue 16), served at /sw.js so its scope is the whole site. The hub pushes
// {title, body, url, tag, channel} when a followed channel goes live; this shows it (one per channel: a newer
// one replaces it) and a click focuses a tab already on that channel or opens one. Only site paths are opened.
// The title is in the language of the page that last registered this worker: pages send it the words
// (push-subscribe.js), kept in Cache Storage since a push comes with every page closed; the hub's English
// title serves until a page has. A classic script (no imports): every browser with Web Push runs those as
// service workers.

/**
 * @typedef {{ title: string, body: string, url: string, tag: string, channel: string }} GoLivePush
 * @typedef {{ lang: string, live: string, someone: string }} PushWords
 * @typedef {{ url: string, focus(): Promise<unknown> }} WindowClientLike
 * @typedef {{
 *   registration: { showNotification(title: string, options: NotificationOptions): Promise<void> },
 *   clients: {
 *     matchAll(o: { type: 'window', includeUncontrolled: boolean }): Promise<WindowClientLike[]>,
 *     openWindow(url: string): Promise<unknown>,
 *     claim(): Promise<void>,
 *   },
 *   skipWaiting(): Promise<void>,
 *   location: Location,
 *   addEventListener(type: string, listener: (e: any) => void): void,
 * }} WorkerScope
 */

const worker = /** @type {WorkerScope} */ (/** @type {unknown} */ (globalThis));

/**
 * The push's payload, checked: a missing or odd field gets a plain default, a URL off this site goes home.
 * @param {unknown} data
 * @returns {GoLivePush}
 */
function readPush(data) {
  const r = data && typeof data === 'object' ? /** @type {Record<string, unknown>} */ (data) : {};
  const text = (/** @type {unknown} */ v, /** @type {string} */ dflt) =>
    typeof v === 'string' && v.length > 0 ? v.slice(0, 200) : dflt;
  const url = typeof r.url === 'string' && /^\/watch\/[A-Za-z0-9_%-]{1,200}$/.test(r.url) ? r.url : '/';
  return {
    title: text(r.title, 'A channel you follow is live'),
    body: text(r.body, ''),
    url,
    tag: text(r.tag, 'golive'),
    channel: text(r.channel, ''),
  };
}

const WORDS_CACHE = 'tiercast-push-words';
const WORDS_KEY = '/__tiercast/push-words';

/**
 * A page's words, checked: short strings, the title with its {{channel}} slot; anything else is ignored.
 * @param {unknown} data
 * @returns {PushWords | null}
 */
function readWords(data) {
  const r = data && typeof data === 'object' ? /** @type {Record<string, unknown>} */ (data) : {};
  const ok = (/** @type {unknown} */ v) => typeof v === 'string' && v.length > 0 && v.length <= 200;
  if (r.type !== 'push-words' || !ok(r.lang) || !ok(r.live) || !ok(r.someone)) return null;
  const words = /** @type {PushWords} */ ({ lang: r.lang, live: r.live, someone: r.someone });
  return words.live.includes('{{channel}}') ? words : null;
}

/** @returns {Promise<PushWords | null>} */
async function storedWords() {
  try {
    const r = await (await caches.open(WORDS_CACHE)).match(WORDS_KEY);
    return r ? readWords(await r.json()) : null;
  } catch {
    return null;
  }
}

/**
 * The notification's title in the page's language, else the hub's.
 * @param {GoLivePush} p
 * @param {PushWords | null} words
 */
function titleOf(p, words) {
  if (!words) return p.title;
  return p.channel ? words.live.split('{{channel}}').join(p.channel) : words.someone;
}

worker.addEventListener(
  'message',
  (/** @type {{data: unknown, waitUntil(p: Promise<unknown>): void}} */ e) => {
    const words = readWords(e.data);
    if (!words) return;
    const body = JSON.stringify({ type: 'push-words', ...words });
    e.waitUntil(
      caches
        .open(WORDS_CACHE)
        .then((c) =>
          c.put(WORDS_KEY, new Response(body, { headers: { 'content-type': 'application/json' } })),
        ),
    );
  },
);

worker.addEventListener('install', () => void worker.skipWaiting());
worker.addEventListener('activate', (/** @type {{waitUntil(p: Promise<unknown>): void}} */ e) =>
  e.waitUntil(worker.clients.claim()),
);

worker.addEventListener(
  'push',
  (/** @type {{data: {json(): unknown} | null, waitUntil(p: Promise<unknown>): void}} */ e) => {
    let data = null;
    try {
      data = e.data?.json() ?? null;
    } catch {
      data = null;
    }
    const p = readPush(data);
    e.waitUntil(
      storedWords().then((words) =>
        worker.registration.showNotification(titleOf(p, words), {
          body: p.body,
          tag: p.tag,
          icon: '/static/favicon.svg',
          data: { url: p.url },
        }),
      ),
    );
  },
);

worker.addEventListener(
  'notificationclick',
  (/** @type {{notification: {data: unknown, close(): void}, waitUntil(p: Promise<unknown>): void}} */ e) => {
    e.notification.close();
    const data = e.notification.data;
    const url = readPush(
      data && typeof data === 'object' ? { url: /** @type {Record<string, unknown>} */ (data).url } : null,
    ).url;
    const target = new URL(url, worker.location.origin).href;
    e.waitUntil(
      worker.clients.matchAll({ type: 'window', includeUncontrolled: true }).then((tabs) => {
        const open = tabs.find((t) => t.url === target);
        return open ? open.focus() : worker.clients.openWindow(target);
      }),
    );
  },
);
