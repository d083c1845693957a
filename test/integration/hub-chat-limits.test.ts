/**
 * Chat limits along the whole path, with a real hub process and a real edge (issue 8): oversize drawings and
 * over-long messages are refused at the first hop with their codes and never take the edge's hub link down;
 * a history of many maximum-size drawings reaches a new viewer in pages while messages keep flowing; frames
 * past the edge's ceiling are closed with 1009 and a reason; a password set while viewers chat closes their
 * sockets with 4403 unless they hold the stream's access token.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import WebSocket from 'ws';
import { CHAT_FRAME_CEILING_BYTES, MAX_LINK_MESSAGE_BYTES } from '../../src/common/chat/index.js';
import { AUTH_HEADER, HUB_SUBPROTOCOL, createClusterToken } from '../../src/common/protocol/index.js';
import { KEY, SECRET, startNetwork, waitFor, type TestNetwork } from '../helpers/network.js';
import { ChatClient } from '../helpers/chat-client.js';
import { cli, startHubWithCam, type HubProcess } from '../helpers/hub-process.js';

const dataDir = mkdtempSync(join(tmpdir(), 'tiercast-chatlimits-'));
let hub: HubProcess;
let net: TestNetwork;
/** The hub's directory push interval in this file. */
const PUSH_MS = 1000;
/** The hub's default chat.maxDrawingBytes. */
const HUB_MAX_DRAWING = 100_000;

before(async () => {
  // The directory push every second instead of the default 5 s: the password test waits on it.
  hub = await startHubWithCam(dataDir, KEY, { TIERCAST_DIRECTORY_PUSH_INTERVAL_MS: String(PUSH_MS) });
  net = await startNetwork({ intermediates: 0, hubUrl: hub.url });
  // Linked once the hub's own limits have reached the edge (until then it uses the ceilings).
  const probe = new ChatClient(net.edgeUrl, 'cam', { name: 'probe' });
  await waitFor('edge linked to the hub', () =>
    probe.events.some((e) => e.type === 'limits' && e.maxDrawingBytes === HUB_MAX_DRAWING),
  );
  probe.close();
});

after(async () => {
  await net.close();
  await hub.kill();
});

async function joined(c: ChatClient): Promise<void> {
  await c.opened;
  await waitFor('joined', () => c.you());
}

/** A PNG data URL of exactly `bytes` bytes (a multiple of 4 after the prefix keeps it valid base64). */
function png(bytes: number): string {
  const prefix = 'data:image/png;base64,';
  const head = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0]).toString('base64');
  return prefix + head + 'A'.repeat(Math.floor((bytes - prefix.length - head.length) / 4) * 4);
}

const draw = (c: ChatClient, image: string) => c.ws.send(JSON.stringify({ type: 'draw', image }));
const linkDropped = (...cs: ChatClient[]) =>
  cs.some((c) => c.events.some((e) => e.type === 'status' && e.state === 'reconnecting'));
const count = (c: ChatClient, code: string) => c.notices().filter((n) => n === code).length;

test("drawings of 0.6 MB and 3 MB get DRAWING_TOO_LARGE at the edge; the link stays up and others' messages flow", async () => {
  const a = new ChatClient(net.edgeUrl, 'cam', { name: 'artist' });
  const b = new ChatClient(net.edgeUrl, 'cam', { name: 'watcher' });
  await Promise.all([joined(a), joined(b)]);
  await waitFor('the hub announced its limits', () =>
    a.events.some((e) => e.type === 'limits' && e.maxDrawingBytes === HUB_MAX_DRAWING),
  );
  for (const bytes of [600_000, 3_000_000, HUB_MAX_DRAWING + 4]) {
    const before = count(a, 'DRAWING_TOO_LARGE');
    draw(a, png(bytes));
    await waitFor(`${bytes}-byte drawing refused`, () => count(a, 'DRAWING_TOO_LARGE') > before);
    assert.ok(!a.closed, 'the sender keeps its socket');
  }
  b.send('still talking');
  a.send('me too');
  await waitFor(
    'messages delivered after the refusals',
    () => a.texts().includes('watcher: still talking') && b.texts().includes('artist: me too'),
  );
  assert.ok(!linkDropped(a, b), 'the edge never lost its hub link');
  assert.ok(!b.messages().some((m) => m.kind === 'drawing'), 'nothing oversize was delivered');
  a.close();
  b.close();
});

test('a 20,001-character message gets MESSAGE_TOO_LONG, not BAD_REQUEST', async () => {
  const a = new ChatClient(net.edgeUrl, 'cam', { name: 'talker' });
  await joined(a);
  a.send('x'.repeat(20_001));
  a.send('y'.repeat(501)); // over the hub's chat.maxMessageChars (500), under every ceiling
  await waitFor('both refused', () => count(a, 'MESSAGE_TOO_LONG') === 2);
  assert.ok(!a.notices().includes('BAD_REQUEST'));
  a.send('short');
  await waitFor('a legal message still goes through', () => a.texts().includes('talker: short'));
  a.close();
});

test('a frame past the edge ceiling is closed with 1009 and a reason, not dropped (1006)', async () => {
  const a = new ChatClient(net.edgeUrl, 'cam', { name: 'flooder' });
  const b = new ChatClient(net.edgeUrl, 'cam', { name: 'bystander' });
  await Promise.all([joined(a), joined(b)]);
  draw(a, png(CHAT_FRAME_CEILING_BYTES + 256 * 1024));
  await waitFor('closed', () => a.closed);
  assert.equal(a.closed!.code, 1009);
  assert.match(a.closed!.reason, /^PAYLOAD_TOO_LARGE: chat messages are at most \d+ bytes/);
  b.send('unaffected');
  await waitFor('the others go on', () => b.texts().includes('bystander: unaffected'));
  b.close();
});

test('with ten maximum-size drawings stored, a new viewer gets the whole history in pages and chat keeps flowing', async () => {
  const painters = [
    new ChatClient(net.edgeUrl, 'cam', { name: 'painter1' }),
    new ChatClient(net.edgeUrl, 'cam', { name: 'painter2' }),
  ];
  await Promise.all(painters.map(joined));
  // Five each: within the per-user (5 / 5 s) and per-address (20 / 5 s) rate limits.
  for (let i = 0; i < 5; i++) for (const p of painters) draw(p, png(HUB_MAX_DRAWING));
  await waitFor(
    'ten drawings stored and broadcast',
    () => painters[0]!.messages().filter((m) => m.kind === 'drawing').length >= 10,
    20_000,
  );
  assert.deepEqual(
    painters.flatMap((p) => p.notices()),
    [],
    'no drawing was refused',
  );
  for (const p of painters) p.close();

  const late = new ChatClient(net.edgeUrl, 'cam', { name: 'latecomer' });
  const other = new ChatClient(net.edgeUrl, 'cam', { name: 'regular' });
  await Promise.all([joined(late), joined(other)]);
  const pages = () => late.events.filter((e) => e.type === 'history');
  await waitFor(
    'all ten drawings in the history',
    () => late.messages().filter((m) => m.kind === 'drawing').length >= 10,
    15_000,
  );
  assert.ok(pages().length >= 2, `history came in ${pages().length} pages`);
  assert.ok(
    pages()
      .slice(1)
      .every((p) => p.append === true),
    'pages after the first add to the list',
  );
  late.send('hello after the history');
  other.send('welcome');
  await waitFor(
    'messages flow on the edge',
    () =>
      other.texts().includes('latecomer: hello after the history') &&
      late.texts().includes('regular: welcome'),
  );
  // Joins again and again: each gets the history; the link never drops (it flapped on every join before).
  for (let i = 0; i < 3; i++) {
    const c = new ChatClient(net.edgeUrl, 'cam', { name: `visitor${i}` });
    await joined(c);
    await waitFor('history', () => c.messages().filter((m) => m.kind === 'drawing').length >= 10, 15_000);
    c.close();
  }
  assert.ok(!linkDropped(late, other), 'the edge never lost its hub link');
  late.close();
  other.close();
});

test('an oversize message on the hub link costs that message, not the link', async () => {
  const ws = new WebSocket(`${hub.url.replace('http', 'ws')}/internal/edge`, HUB_SUBPROTOCOL, {
    headers: { [AUTH_HEADER]: createClusterToken(SECRET, 'edge-raw', 'hub-link') },
  });
  const got: Array<Record<string, unknown>> = [];
  let closed: number | undefined;
  ws.on('message', (d: Buffer) => got.push(JSON.parse(d.toString()) as Record<string, unknown>));
  ws.on('close', (code) => (closed = code));
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  // What a buggy or older edge might send: a drawing over the link limit.
  ws.send(
    JSON.stringify({
      t: 'act',
      conn: 'c1',
      action: { type: 'draw', image: png(MAX_LINK_MESSAGE_BYTES + 100_000) },
    }),
  );
  ws.send(
    JSON.stringify({
      t: 'join',
      conn: 'c1',
      channel: 'cam',
      identity: { guestName: 'rawedge', ip: '127.0.0.2' },
    }),
  );
  await waitFor('the next message on the same link is served', () =>
    got.some((m) => m.t === 'direct' && (m.event as { type: string }).type === 'you'),
  );
  assert.equal(closed, undefined, 'the link is still open');
  ws.close();
});

test('a drawing stored under an older, larger limit is shown as a short line; the history still arrives', async () => {
  await hub.kill();
  const db = new Database(join(dataDir, 'tiercast.db'));
  const id = (db.prepare("SELECT id FROM streamers WHERE name = 'cam'").get() as { id: number }).id;
  const last = (
    db.prepare('SELECT last_seq FROM chat_channels WHERE streamer_id = ?').get(id) as { last_seq: number }
  ).last_seq;
  db.prepare(
    "INSERT INTO chat_messages (streamer_id, seq, kind, author, color, badge, text, image, at) VALUES (?, ?, 'drawing', 'oldtimer', '#ffffff', 'guest', '', ?, ?)",
  ).run(id, last + 1, png(2_000_000), Date.now());
  db.prepare('UPDATE chat_channels SET last_seq = ? WHERE streamer_id = ?').run(last + 1, id);
  db.close();
  await hub.start();
  const c = new ChatClient(net.edgeUrl, 'cam', { name: 'archivist' });
  await waitFor('joined after the hub came back', () => !c.closed && c.you(), 15_000);
  await waitFor(
    'history with the old drawing replaced',
    () => c.messages().some((m) => m.seq === last + 1),
    15_000,
  );
  const old = c.messages().find((m) => m.seq === last + 1)!;
  assert.equal(old.kind, 'system');
  assert.match(old.text, /drawing by oldtimer is too large to show/);
  assert.ok(c.messages().filter((m) => m.kind === 'drawing').length >= 10, 'the other drawings still arrive');
  c.send('after the restart');
  await waitFor('delivered', () => c.texts().includes('archivist: after the restart'));
  c.close();
});

test('setting a password closes open chat sockets with 4403, except for viewers holding the access token', async () => {
  const plain = new ChatClient(net.edgeUrl, 'cam', { name: 'nopass' });
  await joined(plain);
  const set = await cli([
    'streamer',
    'set',
    '--name',
    'cam',
    '--password',
    'open sesame',
    '--data-dir',
    dataDir,
  ]);
  assert.equal(set.code, 0, set.stderr);
  try {
    // The CLI writes the store; the hub pushes its directory to the edges within PUSH_MS.
    await waitFor('closed with 4403', () => plain.closed, 15_000);
    assert.equal(plain.closed!.code, 4403);
    assert.match(plain.closed!.reason, /^PASSWORD_REQUIRED/);

    const csrf = ((await (await fetch(`${net.edgeUrl}/api/auth/csrf`)).json()) as { csrf: string }).csrf;
    const unlock = await fetch(`${net.edgeUrl}/api/streams/cam/unlock`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-tiercast-csrf': csrf, cookie: `tc_csrf=${csrf}` },
      body: JSON.stringify({ password: 'open sesame' }),
    });
    assert.equal(unlock.status, 200);
    const cookie = unlock.headers
      .getSetCookie()
      .find((c) => c.startsWith('tc_access_cam='))!
      .split(';')[0]!;
    const holder = new ChatClient(net.edgeUrl, 'cam', { name: 'haspass', cookie });
    await joined(holder);
    holder.send('I know the password');
    await waitFor('delivered', () => holder.texts().includes('haspass: I know the password'));
    // Later directory pushes (two or more, every PUSH_MS) must not close a socket that holds a valid token.
    await new Promise((r) => setTimeout(r, 2.5 * PUSH_MS));
    assert.equal(holder.closed, undefined);
    holder.close();
  } finally {
    await cli(['streamer', 'set', '--name', 'cam', '--no-password', '--data-dir', dataDir]);
  }
});
