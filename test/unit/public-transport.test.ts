/** The watch page picks the transport by what the browser can play, and says why when nothing can. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseTransport } from '../../src/edge/public/native-hls-player.js';

test('MSE browsers get the WebSocket player unless they ask for another transport they can play', () => {
  const all = { mse: true, nativeHls: true };
  assert.equal(chooseTransport(null, all).transport, 'ws');
  assert.equal(chooseTransport('dash', all).transport, 'dash');
  assert.equal(chooseTransport('hls', all).transport, 'hls');
  assert.equal(chooseTransport('bogus', all).transport, 'ws');
  assert.equal(chooseTransport('hls', { mse: true, nativeHls: false }).transport, 'ws');
});

test('without MSE, native HLS whatever was asked; with neither, a reason in words', () => {
  for (const asked of [null, 'ws', 'dash', 'hls']) {
    assert.equal(chooseTransport(asked, { mse: false, nativeHls: true }).transport, 'hls', String(asked));
  }
  const none = chooseTransport('ws', { mse: false, nativeHls: false });
  assert.equal(none.transport, 'none');
  assert.match(none.reason ?? '', /neither Media Source Extensions nor a built-in HLS player/);
});
