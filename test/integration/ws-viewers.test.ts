/**
 * The WebSocket push path: a viewer gets the stream's info, inits and contiguous chunks; quality switches;
 * slow viewers do not delay a fast one.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { publish, startNetwork, stop, waitFor, type TestNetwork } from '../helpers/network.js';
import { TestViewer } from '../helpers/viewer.js';

let net: TestNetwork;
let pub: ReturnType<typeof publish>;
let wsBase: string;

before(async () => {
  net = await startNetwork({ intermediates: 1 });
  wsBase = net.edgeUrl.replace('http', 'ws');
  pub = publish(net.rtmpUrl, undefined, 120);
  await waitFor('stream live at the edge', async () => {
    const list = (await (await fetch(`${net.edgeUrl}/api/streams`)).json()) as Array<{ name: string }>;
    return list.some((s) => s.name === 'cam');
  });
});

after(async () => {
  await stop(pub);
  await net.close();
});

test('a viewer gets info, the inits of one video rendition and audio, then contiguous chunks from a keyframe', async () => {
  const v = new TestViewer(`${wsBase}/live/cam/ws`);
  await v.opened;
  await waitFor('chunks', () => v.of('v360').length > 12 && v.of('a0').length > 12);
  assert.equal(v.texts[0]?.type, 'info');
  assert.deepEqual(v.inits.sort(), ['a0', 'v360']);
  assert.equal(v.of('v240').length, 0, 'only the selected video rendition is sent');
  assert.equal(v.of('v360')[0]!.chunk, 0, 'starts on a segment start');
  assert.ok((v.of('v360')[0]!.flags & 1) !== 0, 'which is a keyframe');
  assert.deepEqual(v.continuityProblems('v360'), []);
  assert.deepEqual(v.continuityProblems('a0'), []);
  const r = await fetch(`${net.edgeUrl}/api/streams`);
  const list = (await r.json()) as Array<{ name: string; viewers: number }>;
  assert.equal(list.find((s) => s.name === 'cam')?.viewers, 1);
  v.close();
});

test('select switches rendition at the next keyframe; bad control messages get an error, not a disconnect', async () => {
  const v = new TestViewer(`${wsBase}/live/cam/ws`);
  await v.opened;
  await waitFor('chunks', () => v.of('v360').length > 3);
  v.send({ type: 'select', video: 'v240' });
  await waitFor('v240 chunks', () => v.of('v240').length > 3, 5000);
  assert.equal(v.of('v240')[0]!.chunk, 0);
  assert.ok(v.inits.includes('v240'));
  v.send({ type: 'select', video: 'v9999' });
  v.ws.send('not json at all');
  v.send({ type: 'ping', t: 5 });
  await waitFor(
    'replies',
    () => v.texts.filter((t) => t.type === 'error').length >= 2 && v.texts.some((t) => t.type === 'pong'),
  );
  assert.equal(v.closed, undefined);
  v.close();
});

test('a viewer of an unknown stream is told it is not live', async () => {
  const v = new TestViewer(`${wsBase}/live/nobody/ws`);
  await v.opened;
  await waitFor('end message', () => v.texts.some((t) => t.type === 'end'), 8000);
  v.close();
});

test('slow viewers that stop reading do not delay a fast one', async () => {
  const slow = [0, 1, 2].map(() => new TestViewer(`${wsBase}/live/cam/ws`));
  await Promise.all(slow.map((s) => s.opened));
  // Stop reading: the edge's socket buffers for them fill up while the fast viewer keeps going.
  for (const s of slow) (s.ws as unknown as { _socket: Socket })._socket.pause();
  const fast = new TestViewer(`${wsBase}/live/cam/ws`);
  await fast.opened;
  await new Promise((r) => setTimeout(r, 6000));
  const chunks = fast.of('v360');
  assert.ok(chunks.length >= 25, `fast viewer got ${chunks.length} chunks in 6 s`);
  assert.deepEqual(fast.continuityProblems('v360'), []);
  // Live chunks (after the join backlog) reach the fast viewer promptly.
  const live = chunks
    .slice(10)
    .map((c) => c.at - c.ingressTime)
    .sort((a, b) => a - b);
  const p95 = live[Math.floor(live.length * 0.95)]!;
  assert.ok(p95 < 1500, `fast viewer p95 delay ${p95} ms`);
  fast.close();
  for (const s of slow) s.close();
});
