import { test } from 'node:test';
import assert from 'node:assert/strict';
import { socketUrlsFromList } from '../../src/edge/public/edge-list.js';

test("the player's failover list: other edges' media sockets in the edge's order, this one and junk left out", () => {
  const body = {
    region: 'eu',
    self: 'eu-1',
    edges: [
      { id: 'eu-2', region: 'eu', url: 'http://10.0.0.2:8080' },
      { id: 'eu-1', region: 'eu', url: 'http://10.0.0.1:8080' },
      { id: 'us-1', region: 'us', url: 'https://us-1.example/tv/' },
      { id: 'bad', region: 'us', url: 'javascript:alert(1)' },
      { id: 'worse', region: 'us', url: 'not a url' },
      { id: 'none', region: 'us' },
      'junk',
    ],
  };
  assert.deepEqual(socketUrlsFromList(body, 'my cam'), [
    'ws://10.0.0.2:8080/live/my%20cam/ws',
    'wss://us-1.example/tv/live/my%20cam/ws',
  ]);
  for (const bad of [null, 'x', 42, {}, { edges: 'no' }])
    assert.deepEqual(socketUrlsFromList(bad, 'cam'), []);
});
