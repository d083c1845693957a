import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  baseOfSocketUrl,
  edgeBasesFromList,
  socketUrlAt,
  socketUrlsFromList,
} from '../../src/edge/public/edge-list.js';

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

test("the player's failover list: other edges' media sockets in the edge's order, this one and junk left out", () => {
  assert.deepEqual(socketUrlsFromList(body, 'my cam'), [
    'ws://10.0.0.2:8080/live/my%20cam/ws',
    'wss://us-1.example/tv/live/my%20cam/ws',
  ]);
  for (const bad of [null, 'x', 42, {}, { edges: 'no' }])
    assert.deepEqual(socketUrlsFromList(bad, 'cam'), []);
});

test("the HTTP players' failover list: other edges' base URLs, in order, without a trailing slash", () => {
  assert.deepEqual(edgeBasesFromList(body), ['http://10.0.0.2:8080', 'https://us-1.example/tv']);
  for (const bad of [null, 'x', 42, {}, { edges: 'no' }]) assert.deepEqual(edgeBasesFromList(bad), []);
});

test('a media socket and its edge base URL map to each other (the page says which edge it plays from)', () => {
  for (const base of ['http://10.0.0.2:8080', 'https://us-1.example/tv']) {
    const url = socketUrlAt(base, 'my cam');
    assert.equal(baseOfSocketUrl(url), base);
  }
  assert.equal(socketUrlAt('https://us-1.example/tv', 'cam'), 'wss://us-1.example/tv/live/cam/ws');
});
