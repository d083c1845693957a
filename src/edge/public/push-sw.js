// The service worker of Web Push (issue 16), served at /sw.js so its scope is the whole site. The hub pushes
// {title, body, url, tag} when a followed channel goes live; this shows it (one per channel: a newer one
// replaces it) and a click focuses a tab already on that channel or opens one. Only site paths are opened.
// A classic script (no imports): every browser with Web Push runs those as service workers.

/**
 * @typedef {{ title: string, body: string, url: string, tag: string }} GoLivePush
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
  };
}

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
      worker.registration.showNotification(p.title, {
        body: p.body,
        tag: p.tag,
        icon: '/static/favicon.svg',
        data: { url: p.url },
      }),
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
