/**
 * Chat through the edges: two edges and a hub; the same conversation in the same order on both; a mute on
 * one edge holds on the other; the hub is killed and restarted mid-chat and messages sent meanwhile arrive.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { edgeSchema } from '../../src/common/config/index.js';
import { startEdge, type EdgeNode } from '../../src/edge/main.js';
import { KEY, SECRET, logger, startNetwork, waitFor, type TestNetwork } from '../helpers/network.js';
import { ChatClient } from '../helpers/chat-client.js';
import { HubProcess, startHubWithCam } from '../helpers/hub-process.js';

const dataDir = mkdtempSync(join(tmpdir(), 'tiercast-hubchat-'));
let hub: HubProcess;
let net: TestNetwork;
let edgeB: EdgeNode;

before(async () => {
  hub = await startHubWithCam(dataDir, KEY);
  net = await startNetwork({ intermediates: 1, hubUrl: hub.url });
  edgeB = await startEdge(
    edgeSchema.parse({
      nodeId: 'edge-b',
      clusterSecret: SECRET,
      http: { host: '127.0.0.1', port: 0 },
      upstream: { parents: [net.intermediates[0]!.url] },
      hub: { url: hub.url, reconnectBackoffMaxMs: 300 },
    }),
    logger,
  );
});

after(async () => {
  await edgeB.close();
  await net.close();
  await hub.kill();
});

async function joined(c: ChatClient): Promise<void> {
  await c.opened;
  await waitFor('joined', () => c.you());
}

test('viewers on two edges see the same messages in the same order', async () => {
  const a = new ChatClient(net.edgeUrl, 'cam', { name: 'alice' });
  const b = new ChatClient(edgeB.url, 'cam', { name: 'bob' });
  await Promise.all([joined(a), joined(b)]);
  for (let i = 0; i < 4; i++) {
    a.send(`a${i}`);
    b.send(`b${i}`);
  }
  await waitFor('all 8 on both', () => a.texts().length >= 8 && b.texts().length >= 8);
  assert.deepEqual(a.texts(), b.texts());
  assert.ok(a.texts().includes('alice: a3') && a.texts().includes('bob: b0'));
  const members = a.events.filter((e) => e.type === 'members').at(-1)!.members as Array<{ name: string }>;
  assert.deepEqual(members.map((m) => m.name).sort(), ['alice', 'bob']);
  a.close();
  b.close();
});

test('markup in a message is delivered as literal text', async () => {
  const a = new ChatClient(net.edgeUrl, 'cam', { name: 'mallory' });
  await joined(a);
  a.send('<script>alert(1)</script><img src=x onerror=alert(2)>');
  await waitFor('echo', () => a.texts().some((t) => t.includes('<script>')));
  assert.ok(a.texts().includes('mallory: <script>alert(1)</script><img src=x onerror=alert(2)>'));
  a.close();
});

test('a mute given on one edge holds on the other', async () => {
  const host = new ChatClient(net.edgeUrl, 'cam', { cookie: await streamerCookie(net.edgeUrl) });
  const troll = new ChatClient(edgeB.url, 'cam', { name: 'troll' });
  const watcher = new ChatClient(net.edgeUrl, 'cam', { name: 'watcher' });
  await Promise.all([joined(host), joined(troll), joined(watcher)]);
  assert.equal(host.you()?.badge, 'host');
  host.send('/mute troll 10');
  await waitFor('mute announced', () =>
    watcher.messages().some((m) => m.kind === 'system' && m.text.includes('troll')),
  );
  troll.send('spam spam');
  await waitFor('troll told he is muted', () => troll.notices().includes('MUTED'));
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(!watcher.texts().some((t) => t.includes('spam spam')));
  // a non-moderator cannot mute
  watcher.send('/mute host');
  await waitFor('forbidden', () => watcher.notices().includes('FORBIDDEN'));
  for (const c of [host, troll, watcher]) c.close();
});

test('the hub is killed and restarted mid-chat: messages sent meanwhile arrive, video is unaffected', async () => {
  const a = new ChatClient(net.edgeUrl, 'cam', { name: 'carol' });
  const b = new ChatClient(edgeB.url, 'cam', { name: 'dave' });
  await Promise.all([joined(a), joined(b)]);
  a.send('before');
  await waitFor('before', () => b.texts().includes('carol: before'));
  await hub.kill();
  await waitFor('reconnecting shown', () =>
    a.events.some((e) => e.type === 'status' && e.state === 'reconnecting'),
  );
  a.send('during-1');
  b.send('during-2');
  await waitFor(
    'queued notices',
    () => a.notices().includes('CHAT_QUEUED') && b.notices().includes('CHAT_QUEUED'),
  );
  const apiDuringOutage = await fetch(`${net.edgeUrl}/api/streams`);
  assert.equal(apiDuringOutage.status, 200, 'the edge keeps serving');
  await hub.start();
  await waitFor(
    'queued messages delivered to both edges',
    () => ['carol: during-1', 'dave: during-2'].every((t) => a.texts().includes(t) && b.texts().includes(t)),
    15_000,
  );
  assert.deepEqual(a.texts(), b.texts());
  assert.ok(a.events.some((e) => e.type === 'status' && e.state === 'connected'));
  a.close();
  b.close();
});

async function streamerCookie(edgeUrl: string): Promise<string> {
  const c = await fetch(`${edgeUrl}/api/auth/csrf`);
  const csrf = ((await c.json()) as { csrf: string }).csrf;
  const r = await fetch(`${edgeUrl}/api/auth/streamer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-tiercast-csrf': csrf, cookie: `tc_csrf=${csrf}` },
    body: JSON.stringify({ key: KEY }),
  });
  assert.equal(r.status, 200, await r.clone().text());
  const session = r.headers.getSetCookie().find((s) => s.startsWith('tc_session='))!;
  return session.split(';')[0]!;
}
