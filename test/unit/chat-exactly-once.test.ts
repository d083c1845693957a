/**
 * Chat actions are exactly-once across a lost hub link (ADR 0018): the edge names each action (its origin)
 * and keeps it until the hub acknowledges it, sending what was unacknowledged again, first and in order,
 * when a link comes back; the hub posts an origin once, even when the action comes again to a new hub
 * instance on the same store.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { EdgeToHub } from '../../src/common/protocol/index.js';
import { ChatBridge, type ChatViewer } from '../../src/edge/chat-bridge.js';
import { makeHarness, quietLogger } from './hub-chat-fake-store.js';

type Act = Extract<EdgeToHub, { t: 'act' }>;

function edge() {
  const sent: EdgeToHub[] = [];
  let up = true;
  const bridge = new ChatBridge({
    queueLimit: 100,
    edgeId: 'edge/1 (test)',
    logger: quietLogger,
    publish: () => undefined,
    sendToHub: (m) => {
      if (!up) return false;
      sent.push(m);
      return true;
    },
    onDirectory: () => undefined,
  });
  const seen: string[] = [];
  const viewer: ChatViewer = { send: (json) => void seen.push(json), close: () => undefined };
  bridge.onConnected();
  bridge.join('c1', 'alice', { ip: '10.0.0.1', guestName: 'ann' }, viewer);
  const acts = () => sent.filter((m): m is Act => m.t === 'act');
  const down = () => {
    up = false;
    bridge.onDisconnected();
  };
  const back = () => {
    up = true;
    sent.length = 0;
    bridge.onConnected();
  };
  return { bridge, acts, down, back, seen };
}

describe('the edge side', () => {
  it('names every action with a distinct origin of link-safe characters', () => {
    const e = edge();
    for (const text of ['one', 'two', 'three']) e.bridge.act('c1', { type: 'send', text });
    const origins = e.acts().map((a) => a.origin!);
    assert.equal(new Set(origins).size, 3);
    for (const o of origins) assert.match(o, /^edge_1__test_\.[A-Za-z0-9_-]+:\d+$/);
  });

  it('sends what the hub never acknowledged again, first and in order, with the same origins', () => {
    const e = edge();
    for (const text of ['one', 'two', 'three']) e.bridge.act('c1', { type: 'send', text });
    const [one, two, three] = e.acts();
    e.bridge.onHubMessage({ t: 'ack', origin: one!.origin! });
    assert.equal(e.bridge.unacknowledged, 2);
    e.down();
    e.bridge.act('c1', { type: 'send', text: 'four' }); // queued while the link is down
    e.back();
    const again = e.acts();
    assert.deepEqual(
      again.map((a) => (a.action as { text: string }).text),
      ['two', 'three', 'four'],
    );
    assert.deepEqual(
      again.slice(0, 2).map((a) => a.origin),
      [two!.origin, three!.origin],
    );
    assert.equal(e.bridge.unacknowledged, 3, "all three wait for the new hub's acknowledgement");
  });

  it('an acknowledgement covers every action before it (one link keeps them in order)', () => {
    const e = edge();
    for (const text of ['a', 'b', 'c']) e.bridge.act('c1', { type: 'send', text });
    e.bridge.onHubMessage({ t: 'ack', origin: e.acts()[2]!.origin! });
    assert.equal(e.bridge.unacknowledged, 0);
    e.down();
    e.back();
    assert.deepEqual(e.acts(), [], 'nothing is sent twice');
  });
});

describe('the hub side', () => {
  it('an origin is posted once, by this hub or by a new one on the same store; a resend repeats its message', () => {
    const h = makeHarness();
    const ref = h.join('e1', 'c1', 'alice', { guestName: 'ann' });
    h.hub.act(ref, { type: 'send', text: 'hello' }, 'e1.x:1');
    h.hub.act(ref, { type: 'send', text: 'hello' }, 'e1.x:1');
    const [first, again] = h.net.messages(ref);
    assert.equal(first?.text, 'hello');
    assert.deepEqual(
      again,
      first,
      'the same message (same seq) is sent again: viewers who have it ignore it',
    );
    // The leader changed (and perhaps died before broadcasting): a fresh ChatHub on the same store gets it.
    h.hub.close();
    h.hub = h.newHub();
    const back = h.join('e1', 'c1', 'alice', { guestName: 'ann' });
    h.net.clearInbox(back);
    h.hub.act(back, { type: 'send', text: 'hello' }, 'e1.x:1');
    h.hub.act(back, { type: 'send', text: 'and more' }, 'e1.x:2');
    assert.deepEqual(
      h.net.messages(back).map((m) => [m.seq, m.text]),
      [
        [first.seq, 'hello'],
        [first.seq + 1, 'and more'],
      ],
    );
    assert.deepEqual(
      h.store.chat.recent('alice', 10).map((m) => m.text),
      ['hello', 'and more'],
      'stored once each',
    );
  });

  it('a refused action leaves its origin free (it may be accepted when sent again)', () => {
    const h = makeHarness({ limits: { userRate: { messages: 1, perMs: 10_000 } } });
    const ref = h.join('e1', 'c1', 'alice', { guestName: 'ann' });
    h.hub.act(ref, { type: 'send', text: 'first' }, 'e1.x:1');
    h.hub.act(ref, { type: 'send', text: 'too soon' }, 'e1.x:2');
    assert.equal(h.net.lastNoticeCode(ref), 'RATE_LIMITED');
    assert.equal(h.store.chat.hasOrigin('e1.x:2'), false);
    h.clock.now += 10_001;
    h.hub.act(ref, { type: 'send', text: 'too soon' }, 'e1.x:2');
    assert.deepEqual(
      h.net.messages(ref).map((m) => m.text),
      ['first', 'too soon'],
    );
  });

  it("a command's notices carry no origin; its first posted message does", () => {
    const h = makeHarness();
    const ref = h.join('e1', 'c1', 'alice', { guestName: 'ann' });
    h.hub.act(ref, { type: 'send', text: '/me waves' }, 'e1.x:7');
    assert.equal(h.store.chat.hasOrigin('e1.x:7'), true);
    h.hub.act(ref, { type: 'send', text: '/me waves' }, 'e1.x:7');
    assert.deepEqual(
      h.store.chat.recent('alice', 10).map((m) => m.text),
      ['waves'],
    );
  });
});
