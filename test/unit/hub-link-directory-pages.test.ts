/**
 * A long directory (many streamers with long descriptions) is sent as several link messages that each fit
 * the link limit; the edge applies it once, whole, when the last page has arrived. Before, one oversize
 * directory message closed the edge's link, and protection changes never reached that edge.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { MAX_LINK_MESSAGE_BYTES } from '../../src/common/chat/index.js';
import {
  decodeHubToEdge,
  directoryPages,
  encodeLinkChecked,
  type HubDirectoryEntry,
} from '../../src/common/protocol/index.js';
import { ChatBridge } from '../../src/edge/chat-bridge.js';

const entry = (i: number): HubDirectoryEntry => ({
  name: `streamer${i}`,
  title: 'T'.repeat(140),
  category: 'Just chatting',
  description: '説明'.repeat(1000), // 2000 characters, 6000 bytes of UTF-8
  live: i % 2 === 0,
  viewers: i,
  startedAt: null,
  protected: i === 299,
  thumbnail: null,
});

function bridge(onDirectory: (e: HubDirectoryEntry[]) => void): ChatBridge {
  return new ChatBridge({
    queueLimit: 10,
    edgeId: 'edge-t',
    logger: pino({ level: 'silent' }),
    publish: () => undefined,
    sendToHub: () => true,
    onDirectory,
  });
}

test('300 streamers with 2000-character descriptions: pages within the link limit, applied whole at the edge', () => {
  const entries = Array.from({ length: 300 }, (_, i) => entry(i));
  assert.ok(
    Buffer.byteLength(JSON.stringify(entries)) > MAX_LINK_MESSAGE_BYTES,
    'the directory alone is over one link message',
  );
  const pages = directoryPages(entries);
  assert.ok(pages.length >= 4);
  for (const p of pages) assert.ok(Buffer.byteLength(encodeLinkChecked(p)) <= MAX_LINK_MESSAGE_BYTES);
  const applied: HubDirectoryEntry[][] = [];
  const r = bridge((e) => applied.push(e));
  for (const p of pages.slice(0, -1)) r.onHubMessage(p);
  assert.equal(applied.length, 0, 'nothing applied before the last page');
  r.onHubMessage(pages.at(-1)!);
  assert.equal(applied.length, 1);
  assert.deepEqual(
    applied[0]!.map((e) => e.name),
    entries.map((e) => e.name),
  );
  assert.equal(applied[0]!.find((e) => e.protected)?.name, 'streamer299');
});

test('a short directory is one message without page numbers; a broken sequence is not applied', () => {
  assert.deepEqual(directoryPages([entry(1)]), [{ t: 'directory', entries: [entry(1)] }]);
  const pages = directoryPages(Array.from({ length: 300 }, (_, i) => entry(i)));
  const applied: HubDirectoryEntry[][] = [];
  const r = bridge((e) => applied.push(e));
  r.onHubMessage(pages[0]!);
  r.onHubMessage(pages[2]!); // page 1 missing
  for (const p of pages.slice(3)) r.onHubMessage(p);
  assert.equal(applied.length, 0);
  for (const p of pages) r.onHubMessage(p); // the next push is complete
  assert.equal(applied.length, 1);
});

test('which live streams are recorded comes as a message of its own, with only well-formed broadcast ids', () => {
  const ok = { t: 'recordings', streams: { cam: '20261201T230642Z-c331e7ec' } };
  assert.deepEqual(decodeHubToEdge(JSON.stringify(ok)), ok);
  for (const bad of ['../x', '20261201T230642Z-c331e7ec/..', 7])
    assert.throws(
      () => decodeHubToEdge(JSON.stringify({ t: 'recordings', streams: { cam: bad } })),
      /PROTOCOL_MALFORMED_FRAME|invalid/,
    );
  assert.throws(() =>
    decodeHubToEdge(JSON.stringify({ t: 'recordings', streams: { '../x': ok.streams.cam } })),
  );
  // The directory's entries stay as they were: an edge of an earlier release still takes them.
  const entries = directoryPages([entry(1)]);
  assert.equal(JSON.stringify(entries).includes('broadcast'), false);
});
