/**
 * Go-live notifications at a real hub (issue 16): a channel going live notifies each of its followers (and
 * nobody else) through the edge-facing API the bell reads; going live again minutes later does not notify
 * twice; the bell's "read" leaves nothing unread; a stream-key login has no bell.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestHub, SECRET, waitFor } from '../helpers/network.js';
import { AUTH_HEADER, createClusterToken } from '../../src/common/protocol/auth.js';
import type { HubNode } from '../../src/hub/main.js';

let hub: HubNode | undefined;
after(() => hub?.close());

test('a channel going live notifies its followers once; the bell reads and clears them', async () => {
  hub = await startTestHub();
  const h = hub;
  h.store.streamers.add({ name: 'alice', key: 'alice-key-0123456789', title: 'Morning coding' });
  const carol = h.store.users.create('carol', 'carol-password-1');
  const dave = h.store.users.create('dave', 'dave-password-1');
  h.store.follows.follow(carol.id, 'alice');

  h.directory.setLive('alice', 'ingress-1', Date.now());
  await waitFor('carol is notified', () => h.store.notifications.unreadCount(carol.id) === 1, 5000, 50);
  assert.equal(h.store.notifications.unreadCount(dave.id), 0, 'not a follower: nothing');
  // The encoder drops and comes back: no second notification.
  h.directory.setOffline('alice');
  h.directory.setLive('alice', 'ingress-1', Date.now());
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(h.store.notifications.list(carol.id, 10).length, 1);

  // What the bell reads, through the API the edge forwards (carol's session cookie).
  const csrf = 'c'.repeat(40);
  let cookie = `tc_csrf=${csrf}`;
  const call = (method: string, path: string, body?: unknown) =>
    fetch(`${h.url}/edge-api${path}`, {
      method,
      headers: {
        [AUTH_HEADER]: createClusterToken(SECRET, 'edge-t', 'viewer-proxy'),
        cookie,
        'x-tiercast-csrf': csrf,
        'content-type': 'application/json',
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const login = await call('POST', '/auth/login', { name: 'carol', password: 'carol-password-1' });
  assert.equal(login.status, 200);
  const session = /tc_session=[^;]+/.exec(login.headers.get('set-cookie') ?? '')?.[0];
  assert.ok(session, 'a session cookie');
  cookie = `${session}; tc_csrf=${csrf}`;
  const got = (await (await call('GET', '/me/notifications')).json()) as {
    unread: number;
    notifications: Array<{ channel: string; title: string; read: boolean }>;
  };
  assert.equal(got.unread, 1);
  assert.deepEqual(
    got.notifications.map((n) => [n.channel, n.title, n.read]),
    [['alice', 'Morning coding', false]],
  );
  const read = await call('POST', '/me/notifications/read', {});
  assert.equal(read.status, 200);
  assert.deepEqual(await read.json(), { unread: 0 });
  const bad = await call('POST', '/me/notifications/read', { upTo: 'all' });
  assert.equal(bad.status, 400);
});
