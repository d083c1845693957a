/**
 * The chat panel's bookkeeping, run in Node: messages stay in seq order whatever order they arrive in, a
 * seq already shown is ignored, the window is bounded, and the socket reconnects with backoff after a drop
 * but never after a kick (4403). The WebSocket is a fake; the rules are the page's own.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageLog, isNearBottom } from '../../src/edge/public/chat-log.js';
import {
  ChatConnection,
  chatUrl,
  reconnectDelay,
  type ConnectionState,
} from '../../src/edge/public/chat-connection.js';

test('messages are kept in seq order and a repeated seq is ignored', () => {
  const log = new MessageLog(10);
  assert.deepEqual(log.add(5), { before: null, evicted: [] });
  assert.deepEqual(log.add(7), { before: null, evicted: [] });
  assert.deepEqual(log.add(6), { before: 7, evicted: [] }, 'a late message goes in front of the next seq');
  assert.deepEqual(log.add(1), { before: 5, evicted: [] });
  assert.equal(log.add(6), null);
  assert.deepEqual(log.seqs, [1, 5, 6, 7]);
  assert.deepEqual(log.remove([5, 99]), [5]);
  assert.equal(log.has(5), false);
  log.clear();
  assert.equal(log.size, 0);
});

test('the window is bounded: the oldest messages are evicted', () => {
  const log = new MessageLog(3);
  for (const s of [1, 2, 3]) log.add(s);
  assert.deepEqual(log.add(4), { before: null, evicted: [1] });
  // Older than everything in a full log: evicted at once.
  assert.deepEqual(log.add(0), { before: 2, evicted: [0] });
  assert.deepEqual(log.seqs, [2, 3, 4]);
});

test('following the bottom of the list tolerates a little slack', () => {
  assert.equal(isNearBottom(900, 100, 1000), true);
  assert.equal(isNearBottom(860, 100, 1000), true);
  assert.equal(isNearBottom(500, 100, 1000), false);
});

test('reconnect delays double up to a ceiling, with jitter', () => {
  const mid = () => 0.5;
  assert.deepEqual(
    [0, 1, 2, 3, 10].map((a) => reconnectDelay(a, mid)),
    [500, 1000, 2000, 4000, 15000],
  );
  assert.equal(
    reconnectDelay(0, () => 0),
    400,
  );
  assert.equal(
    reconnectDelay(0, () => 1),
    600,
  );
});

test('the chat URL carries the guest name only when there is one', () => {
  assert.equal(chatUrl({ protocol: 'http:', host: 'h:8080' }, 'demo', null), 'ws://h:8080/chat/demo');
  assert.equal(
    chatUrl({ protocol: 'https:', host: 'h' }, 'demo', 'Guest Ü'),
    'wss://h/chat/demo?name=Guest%20%C3%9C',
  );
});

class FakeSocket {
  static all: FakeSocket[] = [];
  readyState = 0;
  sent: string[] = [];
  closedWith: number | null = null;
  onopen: (() => void) | null = null;
  onmessage: ((e: { data: unknown }) => void) | null = null;
  onclose: ((e: { code: number; reason: string }) => void) | null = null;
  onerror: (() => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  send(s: string) {
    this.sent.push(s);
  }
  close(code: number) {
    this.closedWith = code;
    this.readyState = 3;
  }
  open() {
    this.readyState = 1;
    this.onopen?.();
  }
  drop(code: number, reason = '') {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
}

function harness() {
  FakeSocket.all = [];
  const states: Array<[ConnectionState, string | undefined]> = [];
  const events: Array<{ type: string }> = [];
  const timers: Array<{ fn: () => void; ms: number }> = [];
  const conn = new ChatConnection({
    url: () => 'ws://edge/chat/demo',
    onEvent: (e) => events.push(e),
    onState: (s, d) => states.push([s, d?.code ?? undefined]),
    WebSocketImpl: FakeSocket,
    setTimer: (fn, ms) => timers.push({ fn, ms }),
    clearTimer: () => {},
    random: () => 0.5,
  });
  return { conn, states, events, timers };
}

test('a dropped socket reconnects after the backoff; events are parsed and bad frames ignored', () => {
  const { conn, states, events, timers } = harness();
  conn.start();
  const ws = FakeSocket.all[0]!;
  assert.equal(conn.send({ type: 'send', text: 'early' }), false, 'nothing is sent before the socket opens');
  ws.open();
  assert.equal(conn.send({ type: 'send', text: 'hi' }), true);
  assert.deepEqual(ws.sent, ['{"type":"send","text":"hi"}']);
  ws.onmessage?.({ data: '{"type":"you","name":"x"}' });
  ws.onmessage?.({ data: 'not json' });
  ws.onmessage?.({ data: '{"no":"type"}' });
  assert.deepEqual(events, [{ type: 'you', name: 'x' }]);
  ws.drop(1006);
  assert.equal(timers.length, 1);
  assert.equal(timers[0]!.ms, 500);
  timers[0]!.fn();
  assert.equal(FakeSocket.all.length, 2, 'a new socket after the delay');
  FakeSocket.all[1]!.drop(1001);
  assert.equal(timers[1]!.ms, 1000, 'failures in a row back off further');
  assert.deepEqual(
    states.map(([s]) => s),
    ['connecting', 'open', 'retrying', 'connecting', 'retrying'],
  );
});

test('a kick (4403) is final: no reconnect, and the code is reported', () => {
  const { conn, states, timers } = harness();
  conn.start();
  FakeSocket.all[0]!.open();
  FakeSocket.all[0]!.drop(4403, 'BANNED');
  assert.equal(timers.length, 0);
  assert.deepEqual(states.at(-1), ['closed', 'BANNED']);
  assert.equal(conn.send({ type: 'send', text: 'x' }), false);
});

test('restart and close drop the current socket without triggering a reconnect', () => {
  const { conn, timers } = harness();
  conn.start();
  const first = FakeSocket.all[0]!;
  first.open();
  conn.restart();
  assert.equal(first.closedWith, 1000);
  assert.equal(FakeSocket.all.length, 2);
  first.drop(1000);
  assert.equal(timers.length, 0, 'the old socket no longer drives the connection');
  conn.close();
  assert.equal(FakeSocket.all[1]!.closedWith, 1000);
  assert.equal(timers.length, 0);
});
