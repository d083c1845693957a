/**
 * The directory says when a stream goes live and when it ends, once each (ADR 0021: the hub's
 * `stream.started` and `stream.ended` come from here): a refresh is not a start, and an ingress that stops
 * reporting ends its streams when the sweep notices, as an explicit offline or a departed ingress does.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Directory, LIVE_TTL_MS } from '../../src/hub/directory.js';
import { HubEvents, raiseLiveEvents } from '../../src/hub/hub-events.js';
import type { StreamerRecord } from '../../src/hub/store/types.js';
import type { HubEvent } from '../../src/common/protocol/hub-events.js';

test('live changes: a start once, refreshes and a takeover are not starts, every way of ending is an end', () => {
  let now = 1_000_000;
  const d = new Directory(() => now);
  const seen: string[] = [];
  d.onLiveChange((c) =>
    seen.push(`${c.stream} ${c.live ? 'live' : 'ended'} since ${c.startedAt} at ${c.at}`),
  );

  d.setLive('alice', 'ingress-1', 999_000);
  now += 5000;
  d.setLive('alice', 'ingress-1', 999_000); // the 5 s refresh
  d.setLive('alice', 'ingress-2', 1_004_000); // another ingress took it over
  d.setLive('bob', 'ingress-1', 1_005_000);
  d.setLive('carol', 'ingress-3', 1_005_000);
  assert.deepEqual(seen, [
    'alice live since 999000 at 1000000',
    'bob live since 1005000 at 1005000',
    'carol live since 1005000 at 1005000',
  ]);
  seen.length = 0;

  d.setOffline('bob');
  d.setOffline('bob'); // already ended: nothing more
  d.dropIngress('ingress-2');
  assert.deepEqual(seen, ['bob ended since 1005000 at 1005000', 'alice ended since 1004000 at 1005000']);
  seen.length = 0;

  // carol's ingress stops reporting: the sweep ends her stream once the reports are too old.
  now += LIVE_TTL_MS;
  d.sweep();
  assert.deepEqual(seen, []);
  now += 1;
  d.sweep();
  assert.deepEqual(seen, [`carol ended since 1005000 at ${now}`]);
  assert.equal(d.isLive('carol'), false);
  d.sweep();
  assert.equal(seen.length, 1, 'ended once');
});

test('the hub raises stream.started with the channel as stored and stream.ended with its length; a throwing listener does not silence the others', () => {
  let now = 2_000_000;
  const d = new Directory(() => now);
  const events = new HubEvents();
  const heard: HubEvent[] = [];
  events.on(() => {
    throw new Error('a broken listener');
  });
  events.on((e) => heard.push(e));
  const stored = new Map([['alice', { title: 'Morning coding', category: 'Software' }]]);
  raiseLiveEvents(d, (name) => stored.get(name) as StreamerRecord | undefined, events);
  d.setLive('alice', 'ingress-1', 1_990_000);
  d.setLive('bob', 'ingress-1', 2_000_000);
  now += 90_000;
  d.setOffline('alice');
  assert.deepEqual(heard, [
    {
      type: 'stream.started',
      channel: 'alice',
      at: 2_000_000,
      title: 'Morning coding',
      category: 'Software',
    },
    { type: 'stream.started', channel: 'bob', at: 2_000_000, title: 'bob', category: '' },
    { type: 'stream.ended', channel: 'alice', at: 2_090_000, durationS: 100 },
  ]);
});
