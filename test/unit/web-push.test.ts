/**
 * Web Push's two ends outside the network (issue 16): the hub's endpoint check (https on a public address
 * unless the operator allows private ones; nothing at all when push is off), and the service worker a browser
 * runs (public/push-sw.js), run here in a context of its own with the events a browser would dispatch: a push
 * shows one notification per channel, titled in the viewer's language once a page gave it the words, odd
 * payloads get plain defaults and never a URL off the site, and a click focuses a tab already on that channel
 * or opens one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { runInNewContext } from 'node:vm';
import { createWebPush, goLivePayload } from '../../src/hub/push/web-push.js';
import { logger } from '../helpers/network.js';
import type { Store } from '../../src/hub/store/types.js';

const settingsOnly = {
  settings: { getOrCreate: (_n: string, make: () => string) => make() },
} as unknown as Store;

test('an endpoint must be https on a public address unless private endpoints are allowed', async () => {
  const strict = createWebPush({
    store: settingsOnly,
    config: { enabled: true, allowPrivateEndpoints: false },
    logger,
  });
  assert.match(strict.publicKey ?? '', /^[A-Za-z0-9_-]{87}$/);
  const resolve = async (url: string) => strict.checkEndpoint(url);
  assert.match((await resolve('http://203.0.113.9/push/x')) ?? '', /scheme must be https/);
  assert.match((await resolve('https://127.0.0.1/push/x')) ?? '', /not a public address/);
  assert.match((await resolve('https://[::1]/push/x')) ?? '', /not a public address/);
  assert.match((await resolve('https://10.1.2.3/push/x')) ?? '', /not a public address/);
  assert.equal(await resolve('https://203.0.113.9/push/x'), undefined);
  const lan = createWebPush({
    store: settingsOnly,
    config: { enabled: true, allowPrivateEndpoints: true },
    logger,
  });
  assert.equal(await lan.checkEndpoint('http://127.0.0.1:9/push/x'), undefined);
  assert.match((await lan.checkEndpoint('ftp://127.0.0.1/push/x')) ?? '', /scheme/);
  const off = createWebPush({
    store: settingsOnly,
    config: { enabled: false, allowPrivateEndpoints: false },
    logger,
  });
  assert.equal(off.publicKey, undefined);
  assert.match((await off.checkEndpoint('https://203.0.113.9/push/x')) ?? '', /turned off/);
  assert.equal(await off.goLive('alice', 'x'), 0);
});

test("the go-live payload names the channel, its title (at most 140 characters) and the channel's page", () => {
  assert.deepEqual(goLivePayload('alice', 'Morning coding'), {
    title: 'alice is live',
    body: 'Morning coding',
    url: '/watch/alice',
    tag: 'golive-alice',
    channel: 'alice',
  });
  assert.equal(goLivePayload('bob', 'x'.repeat(500)).body.length, 140);
});

/** The service worker in a scope of its own; `tabs` are the open windows `clients.matchAll` finds. */
function serviceWorker(tabs: Array<{ url: string }> = []) {
  const listeners = new Map<string, (e: unknown) => void>();
  const shown: Array<{ title: string; options: Record<string, unknown> }> = [];
  const focused: string[] = [];
  const opened: string[] = [];
  // Cache Storage, as far as the worker uses it: one cache of Responses by URL.
  const stored = new Map<string, Response>();
  const caches = {
    open: () =>
      Promise.resolve({
        put: (key: string, r: Response) => Promise.resolve(void stored.set(key, r)),
        match: (key: string) => Promise.resolve(stored.get(key)?.clone()),
      }),
  };
  const scope = {
    caches,
    Response,
    location: new URL('https://tv.example.org/sw.js'),
    addEventListener: (type: string, fn: (e: unknown) => void) => listeners.set(type, fn),
    skipWaiting: () => Promise.resolve(),
    registration: {
      showNotification: (title: string, options: Record<string, unknown>) =>
        Promise.resolve(void shown.push({ title, options })),
    },
    clients: {
      claim: () => Promise.resolve(),
      matchAll: () =>
        Promise.resolve(
          tabs.map((t) => ({ url: t.url, focus: () => Promise.resolve(void focused.push(t.url)) })),
        ),
      openWindow: (url: string) => Promise.resolve(void opened.push(url)),
    },
  };
  runInNewContext(readFileSync('src/edge/public/push-sw.js', 'utf8'), { globalThis: scope, URL, ...scope });
  const dispatch = async (type: string, e: Record<string, unknown>) => {
    const waits: Array<Promise<unknown>> = [];
    listeners.get(type)!({ ...e, waitUntil: (p: Promise<unknown>) => waits.push(p) });
    await Promise.all(waits);
  };
  const push = (data: unknown) =>
    dispatch('push', {
      data:
        data === null
          ? null
          : {
              json: (): unknown => (typeof data === 'string' ? (JSON.parse(data) as unknown) : data),
            },
    });
  return { shown, focused, opened, push, dispatch };
}

test('the service worker shows a pushed go-live, one notification per channel', async () => {
  const sw = serviceWorker();
  await sw.push(goLivePayload('alice', 'Morning coding'));
  assert.deepEqual(JSON.parse(JSON.stringify(sw.shown)), [
    {
      title: 'alice is live',
      options: {
        body: 'Morning coding',
        tag: 'golive-alice',
        icon: '/static/favicon.svg',
        data: { url: '/watch/alice' },
      },
    },
  ]);
});

test('a push is titled in the language of the page that last gave the worker its words; odd words are ignored', async () => {
  const sw = serviceWorker();
  const words = (w: Record<string, unknown>) =>
    sw.dispatch('message', { data: { type: 'push-words', ...w } });
  const sv = { lang: 'sv', live: '{{channel}} sänder live', someone: 'En kanal du följer sänder live' };
  await words(sv);
  await sw.push(goLivePayload('alice', 'Morning coding'));
  await sw.push({ title: 'x', url: '/watch/bob' }); // an older hub's payload: no channel
  // Words that are not a title with the channel's slot, too long, or not a page's message change nothing.
  await words({ ...sv, lang: 'ru', live: 'в эфире' });
  await words({ ...sv, lang: 'ru', someone: 'x'.repeat(201) });
  await sw.dispatch('message', { data: { ...sv, type: 'other', lang: 'ru' } });
  await sw.push(goLivePayload('carol', 'x'));
  assert.deepEqual(
    sw.shown.map((n) => n.title),
    ['alice sänder live', 'En kanal du följer sänder live', 'carol sänder live'],
  );
});

test('odd payloads get plain defaults, and a URL off the site opens the home page', async () => {
  const sw = serviceWorker();
  await sw.push(null);
  await sw.push('not json {');
  await sw.push({ title: 42, url: 'https://evil.example/phish', tag: '' });
  await sw.push({ title: 'x', url: '//evil.example/watch/a' });
  await sw.push({ title: 'x', url: '/watch/../../admin' });
  assert.deepEqual(
    sw.shown.map((n) => [n.title, (n.options.data as { url: string }).url, n.options.tag]),
    [
      ['A channel you follow is live', '/', 'golive'],
      ['A channel you follow is live', '/', 'golive'],
      ['A channel you follow is live', '/', 'golive'],
      ['x', '/', 'golive'],
      ['x', '/', 'golive'],
    ],
  );
});

test("a click focuses a tab already on the channel, or opens the channel's page", async () => {
  const sw = serviceWorker([
    { url: 'https://tv.example.org/watch/alice' },
    { url: 'https://tv.example.org/' },
  ]);
  let closed = 0;
  const click = (url: unknown) =>
    sw.dispatch('notificationclick', { notification: { data: { url }, close: () => closed++ } });
  await click('/watch/alice');
  await click('/watch/bob');
  await click('javascript:alert(1)');
  assert.equal(closed, 3);
  assert.deepEqual(sw.focused, ['https://tv.example.org/watch/alice', 'https://tv.example.org/']);
  assert.deepEqual(sw.opened, ['https://tv.example.org/watch/bob']);
});
