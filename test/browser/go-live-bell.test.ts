/**
 * The go-live bell in a real Chromium (issue 16): an account that follows a channel sees the bell count a
 * notification when the channel goes live (with the page open: no reload), gets it through the browser's
 * Notification API too once allowed, and opening the bell lists it with a link to the channel and clears the
 * count; a Web Push delivered to the service worker is titled in the viewer's language. A stream-key login has
 * no bell.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { KEY, waitFor, type TestNetwork } from '../helpers/network.js';
import { startHubSite, type HubSite } from '../helpers/hub-site.js';
import type { HubNode } from '../../src/hub/main.js';
import { goLivePayload } from '../../src/hub/push/web-push.js';

let site: HubSite;
let hub: HubNode;
let net: TestNetwork;
let browser: Browser;

before(async () => {
  site = await startHubSite();
  ({ hub, net, browser } = site);
  const carol = hub.store.users.create('carol', 'carol-password-1');
  hub.store.follows.follow(carol.id, 'cam');
});

after(() => site?.close());

/** Records what the page shows through the Notification API (headless Chromium shows nothing itself). */
const RECORD_NOTIFICATIONS = `
  window.__shown = [];
  const Real = window.Notification;
  class Recorded extends EventTarget {
    static get permission() { return Real.permission; }
    static requestPermission() { return Real.requestPermission(); }
    constructor(title, options) { super(); window.__shown.push({ title, body: options && options.body }); }
  }
  window.Notification = Recorded;
`;

test('a follower sees the bell count a channel going live, gets a browser notification, and opens the list', async () => {
  const context = await browser.newContext();
  await context.grantPermissions(['notifications'], { origin: net.edgeUrl });
  await context.addInitScript(RECORD_NOTIFICATIONS);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  try {
    await page.goto(`${net.edgeUrl}/login?next=%2F`);
    await page.fill('#login-name', 'carol');
    await page.fill('#login-password', 'carol-password-1');
    await page.click('#panel-login button[type="submit"]');
    await page.waitForURL(`${net.edgeUrl}/`);
    const bell = page.locator('.bell-button');
    await bell.waitFor();
    assert.equal(await page.locator('.bell-count').isHidden(), true, 'nothing unread yet');

    hub.directory.setLive('cam', 'ingress-t', Date.now());
    await waitFor(
      'the bell counts it, the page still open',
      async () => (await page.locator('.bell-count').innerText()) === '1',
      25_000,
      250,
    );
    assert.equal(await bell.getAttribute('aria-label'), 'Notifications: 1 unread');
    const shown = await page.evaluate<Array<{ title: string; body: string }>>('window.__shown');
    assert.deepEqual(shown, [{ title: 'cam is live', body: 'Test cam' }]);

    await bell.click();
    const item = page.locator('.bell-item').first();
    assert.match(await item.innerText(), /cam went live: Test cam/);
    assert.equal(await item.locator('a').getAttribute('href'), '/watch/cam');
    await waitFor('opening it reads it', async () => await page.locator('.bell-count').isHidden());
    // Allowed notifications also subscribe this browser to Web Push through /sw.js. Headless Chromium has no
    // push service to reach, so the bell says pushes only come while a page is open, and nothing is stored.
    const scope = await page.evaluate(
      async () => (await navigator.serviceWorker.getRegistration('/'))?.scope,
    );
    assert.equal(scope, `${net.edgeUrl}/`, 'the push service worker covers every page');
    const pushState = page.locator('.bell-push');
    await waitFor(
      'the bell says how go-lives reach this device',
      async () => (await pushState.innerText()) !== '',
      20_000,
      250,
    );
    const said = await pushState.innerText();
    console.log(`# Web Push in this Chromium: ${said}`);
    const stored = hub.store.push.endpoints(hub.store.users.getByName('carol')!.id).length;
    if (stored === 1) assert.match(said, /even with tiercast closed/);
    else assert.match(said, /Only while a tiercast page is open: push is not available here/);
    const carol = hub.store.users.getByName('carol')!;
    assert.equal(hub.store.notifications.unreadCount(carol.id), 0);

    // A push comes with every page closed: the worker titles it in the language of the page that last
    // registered it. The viewer switches to Swedish; the push is delivered as the browser's push service
    // would (DevTools' ServiceWorker.deliverPushMessage), with the hub's own payload.
    await context.addCookies([{ name: 'tc_lang', value: 'sv', url: net.edgeUrl }]);
    await page.reload();
    await waitFor(
      'the Swedish page to give the worker its words',
      () =>
        page.evaluate(async () => {
          const words = await (await caches.open('tiercast-push-words')).match('/__tiercast/push-words');
          return words ? ((await words.json()) as { lang: string }).lang === 'sv' : false;
        }),
      15_000,
      250,
    );
    const cdp = await context.newCDPSession(page);
    const registrations: Array<{ registrationId: string; scopeURL: string }> = [];
    cdp.on('ServiceWorker.workerRegistrationUpdated', (e) => registrations.push(...e.registrations));
    await cdp.send('ServiceWorker.enable');
    const registration = await waitFor(
      "the worker's registration",
      () => registrations.find((r) => r.scopeURL === `${net.edgeUrl}/`) ?? false,
      5000,
    );
    await cdp.send('ServiceWorker.deliverPushMessage', {
      origin: net.edgeUrl,
      registrationId: registration.registrationId,
      data: JSON.stringify(goLivePayload('cam', 'Test cam')),
    });
    const titles = await waitFor(
      'the notification',
      async () => {
        const shownNow = await page.evaluate(async () =>
          (await (await navigator.serviceWorker.ready).getNotifications()).map((n) => [n.title, n.body]),
        );
        return shownNow.length > 0 ? shownNow : false;
      },
      10_000,
      250,
    );
    assert.deepEqual(titles, [['cam sänder live', 'Test cam']]);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('a stream-key login has no bell', async () => {
  const page = await browser.newPage();
  try {
    await page.goto(`${net.edgeUrl}/dashboard`);
    await page.fill('#key-login-key', KEY);
    await page.click('#key-login-form button[type="submit"]');
    await page.locator('#dash-content').waitFor();
    await page.locator('.topbar .session .session-user').waitFor();
    assert.equal(await page.locator('.bell-button').count(), 0);
  } finally {
    await page.close();
  }
});
