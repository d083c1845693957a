/**
 * The hub's past broadcasts (issue 15) over a real SQLite store and a real local recording directory:
 * deletion takes the media with the row, and retention removes the oldest broadcasts by age or by a
 * channel's bytes, never one still live and never the channel's newest.
 */
import { after, afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { LocalDirStore } from '../../src/common/storage/object-store.js';
import { Broadcasts } from '../../src/hub/broadcasts.js';
import { Directory } from '../../src/hub/directory.js';
import type { Store } from '../../src/hub/store/types.js';
import { sqliteBackend } from '../helpers/store-backends.js';

const backend = sqliteBackend();
const DAY = 86_400_000;
const NOW = Date.UTC(2026, 11, 1);
const open: Array<{ close(): void }> = [];
afterEach(() => {
  for (const o of open.splice(0)) o.close();
});
after(() => backend.cleanup());

function setup(retention: { days: number; bytesPerChannel: number }) {
  const store: Store = backend.open(backend.fresh());
  const storage = new LocalDirStore(mkdtempSync(join(tmpdir(), 'tiercast-broadcasts-')));
  store.streamers.add({ name: 'alice', key: 'alice-key-0123456789', title: 'Alice live' });
  store.streamers.add({ name: 'bob', key: 'bob-key-0123456789ab' });
  const broadcasts = new Broadcasts({
    store,
    directory: new Directory(),
    storage,
    retention: { ...retention, checkEveryMs: 3600_000 },
    logger: pino({ level: 'silent' }),
    now: () => NOW,
  });
  open.push(broadcasts, store, storage);
  /** A broadcast that ended `ageDays` ago, with `bytes` of media and one object in storage. */
  const add = async (stream: string, id: string, ageDays: number, bytes: number, ended = true) => {
    broadcasts.started({ id, stream, startedAt: NOW - ageDays * DAY - 60_000 });
    await storage.put(`${stream}/${id}/broadcast.json`, Buffer.from('{}'));
    if (ended) broadcasts.ended(id, { endedAt: NOW - ageDays * DAY, durationMs: 60_000, bytes });
  };
  const ids = () => store.broadcasts.all().map((b) => b.id);
  return { store, storage, broadcasts, add, ids };
}

test('a broadcast takes its title from the channel, and deleting it removes its media', async () => {
  const { broadcasts, add, storage, ids } = setup({ days: 0, bytesPerChannel: 0 });
  await add('alice', '20261101T100000Z-0000000a', 30, 100);
  assert.equal(broadcasts.list('alice', false)[0]?.title, 'Alice live');
  await broadcasts.remove('20261101T100000Z-0000000a', 'alice');
  assert.deepEqual(ids(), []);
  assert.deepEqual(await storage.list('alice/'), []);
  await assert.rejects(broadcasts.remove('20261101T100000Z-0000000a', 'alice'), { code: 'NOT_FOUND' });
});

test('retention by age removes what ended before the window, and nothing still live', async () => {
  const { broadcasts, add, storage, ids } = setup({ days: 7, bytesPerChannel: 0 });
  await add('alice', '20261101T100000Z-0000000a', 30, 100);
  await add('alice', '20261128T100000Z-0000000b', 3, 100);
  await add('bob', '20261120T100000Z-0000000c', 10, 100);
  await add('bob', '20261010T100000Z-0000000d', 50, 100, false); // still live (never ended)
  assert.equal(await broadcasts.applyRetention(), 2);
  assert.deepEqual(ids().sort(), ['20261010T100000Z-0000000d', '20261128T100000Z-0000000b']);
  assert.deepEqual((await storage.list('')).map((o) => o.key.split('/')[1]).sort(), [
    '20261010T100000Z-0000000d',
    '20261128T100000Z-0000000b',
  ]);
});

test("retention by bytes removes a channel's oldest broadcasts past its limit, keeping the newest", async () => {
  const { broadcasts, add, ids } = setup({ days: 0, bytesPerChannel: 250 });
  await add('alice', '20261101T100000Z-0000000a', 30, 100);
  await add('alice', '20261110T100000Z-0000000b', 20, 100);
  await add('alice', '20261120T100000Z-0000000c', 10, 100);
  await add('bob', '20261121T100000Z-0000000d', 9, 1000); // alone over the limit: the newest stays
  assert.equal(await broadcasts.applyRetention(), 1);
  assert.deepEqual(ids(), [
    '20261110T100000Z-0000000b',
    '20261120T100000Z-0000000c',
    '20261121T100000Z-0000000d',
  ]);
});

test('a hub that does not lead leaves retention to the leader', async () => {
  const { store, add, ids } = setup({ days: 1, bytesPerChannel: 0 });
  await add('alice', '20261101T100000Z-0000000a', 30, 100);
  const standby = new Broadcasts({
    store,
    directory: new Directory(),
    storage: undefined,
    retention: { days: 1, bytesPerChannel: 0, checkEveryMs: 3600_000 },
    leads: () => false,
    logger: pino({ level: 'silent' }),
    now: () => NOW,
  });
  open.push(standby);
  assert.equal(await standby.applyRetention(), 0);
  assert.equal(ids().length, 1);
});

test('a broadcast whose ingress went silent is closed once its stream has been offline for staleAfterMs', async () => {
  let now = NOW;
  const store: Store = backend.open(backend.fresh());
  store.streamers.add({ name: 'alice', key: 'alice-key-0123456789' });
  const directory = new Directory(() => now, 8000);
  const broadcasts = new Broadcasts({
    store,
    directory,
    storage: undefined,
    retention: { days: 0, bytesPerChannel: 0, checkEveryMs: 3600_000 },
    staleAfterMs: 2000,
    logger: pino({ level: 'silent' }),
    now: () => now,
  });
  open.push(broadcasts, store);
  const id = '20261201T000000Z-0000000a';
  broadcasts.started({ id, stream: 'alice', startedAt: now });
  directory.setLive('alice', 'ingress-1', now);
  now += 5000;
  directory.setLive('alice', 'ingress-1', now); // a refresh keeps the stream's start
  assert.equal(directory.entries(store.streamers.list())[0]?.startedAt, NOW);
  assert.equal(await broadcasts.closeStale(), 0, 'live: left alone');
  now += 9000; // no report for longer than the live timeout: the ingress is gone
  assert.equal(directory.isLive('alice'), false);
  assert.equal(await broadcasts.closeStale(), 0, 'offline, but not for staleAfterMs yet');
  now += 2500;
  assert.equal(await broadcasts.closeStale(), 1);
  const b = store.broadcasts.get(id)!;
  assert.equal(b.endedAt, b.startedAt + b.durationMs);
  assert.equal(b.durationMs, 16_500, 'without storage: its wall time');
  // A newer broadcast of a stream makes an older unended one stale at once.
  broadcasts.started({ id: '20261201T010000Z-0000000b', stream: 'alice', startedAt: now });
  broadcasts.started({ id: '20261201T020000Z-0000000c', stream: 'alice', startedAt: now + 1 });
  directory.setLive('alice', 'ingress-2', now);
  assert.equal(await broadcasts.closeStale(), 1);
  assert.deepEqual(
    store.broadcasts.unended().map((x) => x.id),
    ['20261201T020000Z-0000000c'],
  );
});
