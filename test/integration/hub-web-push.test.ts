/**
 * Web Push of go-live from a real hub process (issue 16) to a push service started by the test
 * (test/helpers/push-service.ts: it checks the VAPID signature and decrypts the payload as a browser would;
 * the hub trusts its certificate through NODE_EXTRA_CA_CERTS, as an operator's LAN push service would be).
 * An account's browsers subscribe through the API the edge forwards; a channel going live pushes to every
 * subscribed browser of every follower and to nobody else; a browser the push service says is gone is
 * dropped; the VAPID key pair is made once and kept across restarts; bad subscriptions are refused.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, freePort, HubProcess } from '../helpers/hub-process.js';
import { SECRET, waitFor } from '../helpers/network.js';
import { startPushService, type PushService } from '../helpers/push-service.js';
import { AUTH_HEADER, createClusterToken } from '../../src/common/protocol/auth.js';

let push: PushService;
let hub: HubProcess;
const dataDir = mkdtempSync(join(tmpdir(), 'tiercast-push-'));

before(async () => {
  push = await startPushService();
  const add = await cli([
    'streamer',
    'add',
    '--name',
    'alice',
    '--key',
    'alice-key-0123456789',
    '--title',
    'Morning coding',
    '--data-dir',
    dataDir,
  ]);
  assert.equal(add.code, 0, add.stderr);
  hub = new HubProcess(await freePort(), dataDir, [], {
    NODE_EXTRA_CA_CERTS: push.caFile,
    TIERCAST_PUSH__ALLOW_PRIVATE_ENDPOINTS: 'true',
    TIERCAST_PUSH__SUBJECT: 'mailto:ops@example.org',
  });
  await hub.start();
});

after(async () => {
  await hub?.kill();
  await push?.close();
});

/** A browser's session with the hub, through the routes an edge forwards. */
function viewer() {
  const csrf = 'c'.repeat(40);
  let cookie = `tc_csrf=${csrf}`;
  const call = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(`${hub.url}/edge-api${path}`, {
      method,
      headers: {
        [AUTH_HEADER]: createClusterToken(SECRET, 'edge-t', 'viewer-proxy'),
        cookie,
        'x-tiercast-csrf': csrf,
        'content-type': 'application/json',
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const session = /tc_session=[^;]+/.exec(r.headers.get('set-cookie') ?? '')?.[0];
    if (session) cookie = `${session}; tc_csrf=${csrf}`;
    const text = await r.text();
    return {
      status: r.status,
      body: (text ? JSON.parse(text) : null) as Record<string, unknown> & { error?: { code: string } },
    };
  };
  return call;
}

const goLive = (live: boolean) =>
  fetch(`${hub.url}/internal/streams/alice/live`, {
    method: 'POST',
    headers: {
      [AUTH_HEADER]: createClusterToken(SECRET, 'ingress-t', 'node-api'),
      'content-type': 'application/json',
    },
    body: JSON.stringify({ live }),
  });

test("followers' subscribed browsers are pushed a go-live, signed and encrypted; a gone browser is dropped", async () => {
  const carol = viewer();
  const dave = viewer();
  assert.equal(
    (await carol('POST', '/auth/register', { name: 'carol', password: 'carol-password-1' })).status,
    201,
  );
  assert.equal(
    (await dave('POST', '/auth/register', { name: 'dave', password: 'dave-password-1' })).status,
    201,
  );
  assert.equal((await carol('PUT', '/follows/alice')).status < 300, true, 'carol follows alice');

  const key = await carol('GET', '/me/push');
  assert.equal(key.status, 200);
  const publicKey = key.body.publicKey as string;
  assert.equal(Buffer.from(publicKey, 'base64url').length, 65, 'an uncompressed P-256 key');

  // Carol on two browsers (the second will have unsubscribed at its push service), dave on one.
  const phone = push.subscribe(publicKey);
  const laptop = push.subscribe(publicKey);
  const daves = push.subscribe(publicKey);
  assert.deepEqual((await carol('PUT', '/me/push', phone)).body, { browsers: 1 });
  assert.deepEqual((await carol('PUT', '/me/push', { ...laptop, expirationTime: null })).body, {
    browsers: 2,
  });
  assert.deepEqual((await dave('PUT', '/me/push', daves)).body, { browsers: 1 });
  push.respondWith(laptop.endpoint, 410);

  assert.equal((await goLive(true)).status, 204);
  const [msg] = await push.waitFor(1);
  assert.equal(msg!.endpoint, phone.endpoint);
  assert.deepEqual(msg!.payload, {
    title: 'alice is live',
    body: 'Morning coding',
    url: '/watch/alice',
    tag: 'golive-alice',
    channel: 'alice',
  });
  assert.equal(msg!.ttl, 600);
  assert.equal(msg!.urgency, 'high');
  assert.equal(msg!.vapidPublicKey, publicKey);
  assert.equal(msg!.vapidSubject, 'mailto:ops@example.org');
  await waitFor(
    'the gone browser is dropped',
    async () => (await carol('GET', '/me/push')).body.browsers === 1,
  );
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(
    push.received.map((m) => m.endpoint),
    [phone.endpoint],
    'nothing for dave (not a follower), nothing more for carol',
  );
  assert.deepEqual(push.rejected, [], "every push the hub sent passed the push service's checks");

  // Unsubscribing (logging out) removes the browser.
  assert.deepEqual((await carol('POST', '/me/push/remove', { endpoint: phone.endpoint })).body, {
    browsers: 0,
  });
  await goLive(false);
});

test('bad subscriptions are refused with a code; without a session there is nothing to subscribe', async () => {
  const erin = viewer();
  assert.equal((await erin('GET', '/me/push')).body.error?.code, 'UNAUTHENTICATED');
  assert.equal(
    (await erin('POST', '/auth/register', { name: 'erin', password: 'erin-password-1' })).status,
    201,
  );
  const good = push.subscribe();
  const cases: Array<[string, unknown, string]> = [
    ['a scheme other than https', { ...good, endpoint: 'ftp://push.example.org/x' }, 'PUSH_ENDPOINT_REFUSED'],
    [
      'credentials in the URL',
      { ...good, endpoint: `https://u:p@127.0.0.1/push/x` },
      'PUSH_ENDPOINT_REFUSED',
    ],
    [
      'not a P-256 point',
      { ...good, keys: { ...good.keys, p256dh: Buffer.alloc(65, 4).toString('base64url') } },
      'INVALID_VALUE',
    ],
    ['a short auth secret', { ...good, keys: { ...good.keys, auth: 'AAAA' } }, 'INVALID_VALUE'],
    ['no keys', { endpoint: good.endpoint }, 'INVALID_VALUE'],
  ];
  for (const [what, body, code] of cases) {
    const r = await erin('PUT', '/me/push', body);
    assert.equal(r.body.error?.code, code, what);
  }
  assert.equal((await erin('GET', '/me/push')).body.browsers, 0, 'nothing was stored');
});

test('the VAPID key pair is made once: a restarted hub signs with the same key', async () => {
  const frank = viewer();
  assert.equal(
    (await frank('POST', '/auth/register', { name: 'frank', password: 'frank-password-1' })).status,
    201,
  );
  const before = (await frank('GET', '/me/push')).body.publicKey;
  await hub.kill();
  await hub.start();
  const again = viewer();
  assert.equal(
    (await again('POST', '/auth/login', { name: 'frank', password: 'frank-password-1' })).status,
    200,
  );
  assert.equal((await again('GET', '/me/push')).body.publicKey, before);
});
