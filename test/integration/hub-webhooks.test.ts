/**
 * Webhooks end to end at a real hub (issue 16, ADR 0021): a stream that goes live and ends reaches the
 * channel's hook and the operator's as signed JSON that a receiver can check, over real HTTP; the delivery
 * log in the store says how each ended; a hook whose host is a private address is refused unless the
 * operator allowed private targets, and a refused or failing hook never holds up another.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hubSchema } from '../../src/common/config/index.js';
import { startHub, type HubNode } from '../../src/hub/main.js';
import { verifySignature } from '../../src/hub/webhooks/signature.js';
import { webhookReceiver as receiver } from '../helpers/webhook-receiver.js';
import { waitFor } from '../helpers/network.js';

const closers: Array<() => unknown> = [];
after(async () => {
  for (const c of closers.reverse()) await c();
});

async function hub(allowPrivateTargets: boolean, hooks: object[] = []): Promise<HubNode> {
  const h = await startHub(
    hubSchema.parse({
      nodeId: 'hub',
      clusterSecret: 'hub-webhooks-test-secret-0123456789',
      http: { host: '127.0.0.1', port: 0 },
      dataDir: mkdtempSync(join(tmpdir(), 'tiercast-webhooks-')),
      webhooks: { allowPrivateTargets, publicUrl: 'https://tv.example.com', hooks },
    }),
  );
  closers.push(() => h.close());
  h.store.streamers.add({ name: 'alice', key: 'alice-key-0123456789' });
  h.store.streamers.update('alice', { title: 'Morning coding', category: 'Software' });
  return h;
}

test("a stream going live and ending reaches the channel's and the operator's hooks, signed; the log says delivered", async () => {
  const r = await receiver(() => 204);
  closers.push(() => r.server.close());
  const hook = (id: string) => ({
    url: `${r.url}/${id}`,
    secret: `whsec_${id}_0123456789abcdef`,
    format: 'json' as const,
    events: ['stream.started', 'stream.ended'],
  });
  // The operator's hook comes from the hub's config; the channel's is added as its API would.
  const h = await hub(true, [{ name: 'operator', ...hook('operator') }]);
  h.store.webhooks.add({ id: 'mine', channel: 'alice', ...hook('mine') });
  h.webhooks.reload();
  assert.equal(h.store.webhooks.get('op_operator')?.channel, null, "the operator's hook is every channel's");

  h.directory.setLive('alice', 'ingress-1', Date.now());
  await waitFor('both hooks told of the start', () => r.got.length >= 2, 10_000, 50);
  h.directory.setOffline('alice');
  await waitFor('both hooks told of the end', () => r.got.length >= 4, 10_000, 50);

  const stored = (id: string) => (id === 'operator' ? 'op_operator' : id);
  for (const id of ['mine', 'operator']) {
    const mine = r.got.filter((g) => g.path === `/${id}`);
    assert.deepEqual(
      mine.map((g) => (JSON.parse(g.body) as { event: string }).event),
      ['stream.started', 'stream.ended'],
      `${id}: in order`,
    );
    for (const g of mine) {
      const check = verifySignature(`whsec_${id}_0123456789abcdef`, g.body, g.signature, Date.now());
      assert.equal(check.ok, true, `${id}: the signature checks out (${JSON.stringify(check)})`);
      assert.equal(verifySignature('another-secret-0123456789', g.body, g.signature, Date.now()).ok, false);
    }
    const start = JSON.parse(mine[0]!.body) as { channel: string; data: { title: string; category: string } };
    assert.equal(start.channel, 'alice');
    assert.deepEqual(start.data, { title: 'Morning coding', category: 'Software' });
    await waitFor(
      `${id}: the log says delivered`,
      () =>
        h.store.webhooks
          .deliveries(stored(id), 10)
          .every((d) => d.state === 'delivered' && d.lastStatus === 204),
      5000,
      50,
    );
    assert.equal(h.store.webhooks.deliveries(stored(id), 10).length, 2);
  }
});

test('a hook on a private address is refused unless allowed; a failing one does not hold up another', async () => {
  const r = await receiver((path) => (path === '/broken' ? 500 : 200));
  closers.push(() => r.server.close());
  const h = await hub(false);
  h.store.webhooks.add({
    id: 'private',
    channel: 'alice',
    url: `${r.url}/private`,
    secret: 'whsec_private_0123456789',
    format: 'json',
    events: ['stream.started'],
  });
  h.webhooks.reload();
  h.directory.setLive('alice', 'ingress-1', Date.now());
  await waitFor(
    'the attempt is refused and logged',
    () =>
      h.store.webhooks.deliveries('private', 1)[0]?.lastError !== null &&
      h.store.webhooks.deliveries('private', 1)[0]?.lastError !== undefined,
    10_000,
    50,
  );
  const d = h.store.webhooks.deliveries('private', 1)[0]!;
  assert.match(d.lastError ?? '', /target refused: its host resolves to 127\.0\.0\.1/);
  assert.equal(d.state, 'pending', 'retried later: the operator may still allow it');
  assert.equal(r.got.length, 0, 'nothing reached the private address');

  const open = await hub(true);
  for (const [id, path] of [
    ['broken', '/broken'],
    ['fine', '/fine'],
  ] as const)
    open.store.webhooks.add({
      id,
      channel: 'alice',
      url: `${r.url}${path}`,
      secret: `whsec_${id}_0123456789`,
      format: 'json',
      events: ['stream.started'],
    });
  open.webhooks.reload();
  open.directory.setLive('alice', 'ingress-1', Date.now());
  await waitFor('the fine hook is told', () => r.got.some((g) => g.path === '/fine'), 10_000, 50);
  await waitFor(
    'the broken one is logged for a retry',
    () => open.store.webhooks.deliveries('broken', 1)[0]?.lastStatus === 500,
    5000,
    50,
  );
  const broken = open.store.webhooks.deliveries('broken', 1)[0]!;
  assert.equal(broken.state, 'pending');
  assert.ok((broken.retryAt ?? 0) > Date.now(), 'a retry is scheduled');
});

test('a title change through the remote API reaches a hook that asked for it; a save that changes nothing does not', async () => {
  const r = await receiver(() => 200);
  closers.push(() => r.server.close());
  const h = await hub(true);
  h.store.webhooks.add({
    id: 'titles',
    channel: 'alice',
    url: `${r.url}/titles`,
    secret: 'whsec_titles_0123456789',
    format: 'json',
    events: ['stream.title_changed'],
  });
  h.webhooks.reload();
  const patch = (body: unknown) =>
    fetch(`${h.url}/api/v1/streams/alice`, {
      method: 'PATCH',
      headers: {
        authorization: `Basic ${Buffer.from('alice:alice-key-0123456789').toString('base64')}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify(body),
    });
  assert.equal((await patch({ title: 'Morning coding' })).status, 200, 'the same title again');
  assert.equal((await patch({ title: 'Evening coding', category: 'Software' })).status, 200);
  await waitFor('the hook is told', () => r.got.length >= 1, 10_000, 50);
  await new Promise((res) => setTimeout(res, 300));
  assert.equal(r.got.length, 1, 'one change, one delivery');
  const b = JSON.parse(r.got[0]!.body) as { event: string; data: { title: string } };
  assert.equal(b.event, 'stream.title_changed');
  assert.equal(b.data.title, 'Evening coding');
});

test('the remote API: a streamer adds a hook (its secret once), lists it without the secret, reads its log, removes it; bad targets and other channels are refused', async () => {
  const r = await receiver(() => 200);
  closers.push(() => r.server.close());
  const h = await hub(true);
  h.store.streamers.add({ name: 'bob', key: 'bob-key-0123456789ab' });
  const basic = (who: string, key: string) => `Basic ${Buffer.from(`${who}:${key}`).toString('base64')}`;
  const alice = basic('alice', 'alice-key-0123456789');
  const call = async (method: string, path: string, body?: unknown, auth = alice) => {
    const res = await fetch(`${h.url}/api/v1/streams/${path}`, {
      method,
      headers: { authorization: auth, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return {
      status: res.status,
      body: (text ? JSON.parse(text) : null) as Record<string, unknown> | null,
      text,
    };
  };

  const made = await call('POST', 'alice/webhooks', { url: `${r.url}/bot`, events: ['stream.started'] });
  assert.equal(made.status, 201, made.text);
  const secret = made.body!.secret as string;
  assert.match(secret, /^whsec_[\w-]{43}$/);
  const id = (made.body!.webhook as { id: string }).id;
  const listed = await call('GET', 'alice/webhooks');
  assert.equal(listed.status, 200);
  assert.deepEqual(
    (listed.body!.webhooks as Array<{ id: string; events: string[]; failing: boolean }>).map((w) => [
      w.id,
      w.events,
      w.failing,
    ]),
    [[id, ['stream.started'], false]],
  );
  assert.ok(!listed.text.includes(secret), 'a listing never shows the secret');

  // The hook works at once, signed with the secret its creation showed.
  h.directory.setLive('alice', 'ingress-1', Date.now());
  await waitFor('the new hook is told', () => r.got.some((g) => g.path === '/bot'), 10_000, 50);
  const got = r.got.find((g) => g.path === '/bot')!;
  assert.equal(verifySignature(secret, got.body, got.signature, Date.now()).ok, true);
  await waitFor(
    'its log shows the delivery',
    async () =>
      ((await call('GET', `alice/webhooks/${id}/deliveries`)).body?.deliveries as unknown[]).length === 1,
    5000,
    50,
  );
  const log = await call('GET', `alice/webhooks/${id}/deliveries`);
  assert.match(log.text, /"state":"delivered"/);

  // Refused: bad targets, unknown events, another channel's credentials or hook.
  const bad = await call('POST', 'alice/webhooks', { url: 'ftp://example.com/x' });
  assert.equal(bad.status, 400);
  assert.equal((bad.body!.error as { code: string }).code, 'WEBHOOK_TARGET_REFUSED');
  const creds = await call('POST', 'alice/webhooks', { url: 'https://user:pw@example.com/x' });
  assert.equal((creds.body!.error as { code: string }).code, 'WEBHOOK_TARGET_REFUSED');
  assert.equal(
    (await call('POST', 'alice/webhooks', { url: `${r.url}/x`, events: ['stream.exploded'] })).status,
    400,
  );
  const bob = basic('bob', 'bob-key-0123456789ab');
  assert.equal((await call('GET', 'alice/webhooks', undefined, bob)).status, 403);
  assert.equal((await call('DELETE', `bob/webhooks/${id}`, undefined, bob)).status, 404, "not bob's hook");

  const gone = await call('DELETE', `alice/webhooks/${id}`);
  assert.equal(gone.status, 204);
  assert.deepEqual((await call('GET', 'alice/webhooks')).body!.webhooks, []);
  assert.equal((await call('GET', `alice/webhooks/${id}/deliveries`)).status, 404);
});

test('chat messages reach only the hooks that asked for them by name', async () => {
  const r = await receiver(() => 200);
  closers.push(() => r.server.close());
  const h = await hub(true);
  const auth = `Basic ${Buffer.from('alice:alice-key-0123456789').toString('base64')}`;
  const add = async (url: string, events?: string[]) =>
    fetch(`${h.url}/api/v1/streams/alice/webhooks`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/json' },
      body: JSON.stringify({ url, ...(events ? { events } : {}) }),
    });
  assert.equal((await add(`${r.url}/default`)).status, 201);
  assert.equal((await add(`${r.url}/chat`, ['chat.message'])).status, 201);
  const say = await fetch(`${h.url}/api/v1/streams/alice/chat`, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/json' },
    body: JSON.stringify({ text: 'hello <b>hooks</b>' }),
  });
  assert.equal(say.status, 201);
  await waitFor('the chat hook is told', () => r.got.some((g) => g.path === '/chat'), 10_000, 50);
  await new Promise((res) => setTimeout(res, 300));
  assert.equal(r.got.filter((g) => g.path === '/default').length, 0, 'chat is opt-in');
  const b = JSON.parse(r.got.find((g) => g.path === '/chat')!.body) as {
    event: string;
    data: { author: string; text: string };
  };
  assert.equal(b.event, 'chat.message');
  assert.deepEqual(b.data, { author: 'alice', text: 'hello <b>hooks</b>' });
});
