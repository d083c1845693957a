/**
 * The watch page's transports: which ones a browser is offered and in what order, and how the page moves to
 * the next when one fails (fake players, fake timers): a fatal error or no picture in time moves on and closes
 * the old player; an offline stream, a blocked autoplay or a transport that has played does not.
 */
import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { chooseTransport } from '../../src/edge/public/transport-choice.js';
import { TransportChain, PLAY_BLOCKED } from '../../src/edge/public/transport-chain.js';
import type { ChainHooks } from '../../src/edge/public/transport-chain.js';
import type { Transport } from '../../src/edge/public/transport-choice.js';
import { levelRendition } from '../../src/edge/public/hlsjs-player.js';
import { useEnglish } from '../helpers/page-language.js';

// Pages served in English (the catalogue as the edge serves it to a page).
useEnglish();

const ALL = { mse: true, managedMse: false, nativeHls: true };

test('MSE browsers try WebSocket, hls.js, dash.js, then the built-in player; ?transport= puts one first', () => {
  assert.deepEqual(chooseTransport(null, ALL).order, ['ws', 'hls', 'dash', 'native']);
  assert.deepEqual(chooseTransport('bogus', ALL).order, ['ws', 'hls', 'dash', 'native']);
  assert.deepEqual(chooseTransport('hls', ALL).order, ['hls', 'ws', 'dash', 'native']);
  assert.deepEqual(chooseTransport('dash', ALL).order, ['dash', 'ws', 'hls', 'native']);
  assert.deepEqual(chooseTransport('native', ALL).order, ['native', 'ws', 'hls', 'dash']);
  // No built-in HLS (Firefox, older Chrome): the MSE players only, and ?transport=native is ignored.
  const mseOnly = { mse: true, managedMse: false, nativeHls: false };
  assert.deepEqual(chooseTransport('native', mseOnly).order, ['ws', 'hls', 'dash']);
});

test('a ManagedMediaSource counts as MSE: iPhones from iOS 17.1 get the WebSocket player first', () => {
  const iphone = { mse: false, managedMse: true, nativeHls: true };
  assert.deepEqual(chooseTransport(null, iphone).order, ['ws', 'hls', 'dash', 'native']);
});

test('without any MediaSource, HLS means the built-in player; with nothing, a reason in words', () => {
  const oldIphone = { mse: false, managedMse: false, nativeHls: true };
  for (const asked of [null, 'ws', 'dash', 'hls', 'native']) {
    assert.deepEqual(chooseTransport(asked, oldIphone).order, ['native'], String(asked));
  }
  const none = chooseTransport('ws', { mse: false, managedMse: false, nativeHls: false });
  assert.deepEqual(none.order, []);
  assert.match(none.reason ?? '', /neither Media Source Extensions nor a built-in HLS player/);
});

test('hls.js levels are named by the edge’s rendition directories', () => {
  assert.equal(levelRendition('http://127.0.0.1:8080/live/cam/v360/playlist.m3u8', 0), 'v360');
  assert.equal(levelRendition('https://e.example/live/a%20b/v1080p60/playlist.m3u8?x=1', 1), 'v1080p60');
  assert.equal(levelRendition('https://e.example/other.m3u8', 2), '2');
});

class FakePlayer {
  started = false;
  closed = false;
  constructor(
    readonly transport: Transport,
    readonly hooks: ChainHooks,
  ) {}
  start(): void {
    this.started = true;
    this.hooks.onStatus('connecting');
  }
  close(): void {
    this.closed = true;
  }
}

function chain(order: Transport[] = ['ws', 'hls', 'dash', 'native']) {
  const players: FakePlayer[] = [];
  const statuses: string[] = [];
  const switches: Array<{ transport: Transport; failed: string | null }> = [];
  const c = new TransportChain<FakePlayer>({
    order,
    create: (t, hooks) => {
      const p = new FakePlayer(t, hooks);
      players.push(p);
      return p;
    },
    onStatus: (s, d) => statuses.push(d ? `${s}:${d}` : s),
    onSwitch: (t, _p, failed) => switches.push({ transport: t, failed: failed?.transport ?? null }),
    startTimeoutMs: 10_000,
  });
  const current = () => players[players.length - 1]!;
  return { c, players, statuses, switches, current };
}

test('a fatal failure moves to the next transport at once and closes the old player', (t) => {
  t.mock.method(console, 'warn', () => {});
  const { c, players, switches, current } = chain();
  c.start();
  assert.equal(c.transport, 'ws');
  current().hooks.onFailure('cannot play avc1.640028 through MSE');
  assert.equal(c.transport, 'hls');
  assert.equal(players[0]!.closed, true);
  assert.equal(players[1]!.started, true);
  assert.deepEqual(switches, [
    { transport: 'ws', failed: null },
    { transport: 'hls', failed: 'ws' },
  ]);
  assert.deepEqual(c.failures, [{ transport: 'ws', reason: 'cannot play avc1.640028 through MSE' }]);
  // A closed player's late callbacks change nothing.
  players[0]!.hooks.onFailure('late');
  players[0]!.hooks.onStatus('live');
  assert.equal(c.transport, 'hls');
  assert.equal(c.proven, false);
  c.close();
  assert.equal(players[1]!.closed, true);
});

test('a player that throws on start, or whose start rejects, is a failure too', async (t) => {
  t.mock.method(console, 'warn', () => {});
  const order: Transport[] = ['ws', 'hls', 'dash'];
  const created: Transport[] = [];
  const c = new TransportChain({
    order,
    create: (tr) => {
      created.push(tr);
      return {
        start: () => {
          if (tr === 'ws') throw new Error('no WebSocket');
          if (tr === 'hls') return Promise.reject(new Error('could not load /static/hls.min.js'));
          return undefined;
        },
        close: () => {},
      };
    },
  });
  c.start();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(created, ['ws', 'hls', 'dash']);
  assert.deepEqual(
    c.failures.map((f) => `${f.transport}: ${f.reason}`),
    ['ws: no WebSocket', 'hls: could not load /static/hls.min.js'],
  );
});

test('no picture within the start timeout moves on; offline, blocked autoplay and a proven transport do not', (t) => {
  t.mock.method(console, 'warn', () => {});
  mock.timers.enable({ apis: ['setTimeout'] });
  t.after(() => mock.timers.reset());
  const { c, players, current } = chain();
  c.start();
  // The WebSocket keeps reconnecting (a proxy refuses it): after 10 s hls.js is tried.
  mock.timers.tick(5_000);
  current().hooks.onStatus('reconnecting'); // does not restart the clock
  mock.timers.tick(5_000);
  assert.equal(c.transport, 'hls');
  assert.equal(players[0]!.closed, true);
  assert.match(c.failures[0]!.reason, /nothing played within 10 s/);

  // hls.js finds the stream offline: wait as long as it takes.
  current().hooks.onStatus('offline');
  mock.timers.tick(60_000);
  assert.equal(c.transport, 'hls');
  // The stream comes back: the clock starts again from there.
  current().hooks.onStatus('buffering');
  mock.timers.tick(9_000);
  assert.equal(c.transport, 'hls');
  // Autoplay blocked: the viewer must click, whatever the transport.
  current().hooks.onStatus('error', PLAY_BLOCKED);
  mock.timers.tick(60_000);
  assert.equal(c.transport, 'hls');
  current().hooks.onStatus('live');
  // Proven: later trouble is the player's own, even a fatal error.
  current().hooks.onStatus('reconnecting');
  mock.timers.tick(60_000);
  current().hooks.onFailure('fatal media error');
  assert.equal(c.transport, 'hls');
  assert.equal(players.length, 2);
  c.close();
});

test('the last transport is never given up on: it keeps retrying and the page says what is wrong', (t) => {
  t.mock.method(console, 'warn', () => {});
  mock.timers.enable({ apis: ['setTimeout'] });
  t.after(() => mock.timers.reset());
  const { c, players, statuses, current } = chain(['hls', 'native']);
  c.start();
  current().hooks.onFailure('bufferIncompatibleCodecsError');
  assert.equal(c.transport, 'native');
  mock.timers.tick(120_000);
  assert.equal(c.transport, 'native');
  current().hooks.onFailure('media error 4');
  assert.equal(players.length, 2);
  assert.equal(players[1]!.closed, false);
  assert.equal(statuses.at(-1), 'error:Playback failed: media error 4');
  c.close();
});

test('after a failure the chain skips the transports the page says are not worth trying, but never the last', async (t) => {
  t.mock.method(console, 'warn', () => {});
  const created: Transport[] = [];
  const run = async (order: Transport[], skipWs: boolean) => {
    created.length = 0;
    const c = new TransportChain({
      order,
      create: (tr) => {
        created.push(tr);
        return { start: () => Promise.reject(new Error(`${tr} refused`)), close: () => {} };
      },
      // As the watch page: a second WebSocket player (MSE after WebCodecs) only when the first got the stream.
      skip: (tr, failed) => skipWs && tr === 'ws' && failed.transport === 'ws',
    });
    c.start();
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    return c;
  };
  await run(['ws', 'ws', 'hls', 'dash'], true);
  assert.deepEqual(created, ['ws', 'hls', 'dash'], 'the second ws is skipped');
  await run(['ws', 'ws', 'hls', 'dash'], false);
  assert.deepEqual(created, ['ws', 'ws', 'hls', 'dash'], 'and tried when worth it');
  const c = await run(['ws', 'ws'], true);
  assert.deepEqual(created, ['ws', 'ws'], 'the last transport is always tried');
  assert.equal(c.failures.length, 2);
});
