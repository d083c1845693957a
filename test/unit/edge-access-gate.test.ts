/**
 * The edge's access gate and the admission guard in front of each media viewer: nothing of a protected stream
 * is sent while protection is unknown, the hub's directory outranks the stream's own (publish-time) flag, and
 * a change of protection re-decides for viewers already attached.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AccessGate } from '../../src/edge/access-gate.js';
import { AdmittedViewer } from '../../src/edge/viewer-admission.js';
import { ViewerSession } from '../../src/edge/viewer-session.js';
import { StreamRelay } from '../../src/common/relay/stream-relay.js';
import { accessCookie, deriveKey, signAccess } from '../../src/common/protocol/session-tokens.js';
import { makeInfo, makeSegment, silentLogger } from '../helpers/fakes.js';

const SECRET = 'unit-cluster-secret-0123456789';
const cookieFor = (stream: string) =>
  `${accessCookie(stream)}=${signAccess(deriveKey(SECRET, 'stream-access'), stream, 60_000)}`;

/** A viewer's request over plain HTTP with this Cookie header. */
const plain = (cookies: string) => ({ cookies, secure: false });

function gateWith(own: Map<string, boolean>, expectDirectory: boolean, directoryGraceMs = 60_000) {
  return new AccessGate(SECRET, {
    streamSaysProtected: (s) => own.get(s),
    expectDirectory,
    directoryGraceMs,
  });
}

test('protection: unknown until the directory or the stream says; the directory outranks the stream', () => {
  const own = new Map<string, boolean>();
  const gate = gateWith(own, true);
  assert.equal(gate.access('vault', plain('')), 'unknown', 'cold edge, stream not described yet');
  own.set('vault', true);
  assert.equal(gate.access('vault', plain('')), 'deny', 'the stream says protected: enough to refuse');
  assert.equal(gate.access('vault', plain(cookieFor('vault'))), 'allow');
  assert.equal(gate.access('vault', plain(cookieFor('other'))), 'deny', 'a token is for one stream');
  own.set('open', false);
  assert.equal(
    gate.access('open', plain('')),
    'unknown',
    'an edge with a hub does not trust a publish-time "open" before the directory',
  );
  gate.setDirectory([{ name: 'vault', protected: false }]);
  assert.equal(
    gate.access('vault', plain('')),
    'allow',
    'password removed: the directory wins over the stale StreamInfo flag',
  );
  assert.equal(
    gate.access('open', plain('')),
    'allow',
    'not in the directory: its own flag decides once a directory exists',
  );
  gate.setDirectory([
    { name: 'vault', protected: false },
    { name: 'open', protected: true },
  ]);
  assert.equal(gate.access('open', plain('')), 'deny', 'password set after publish: the directory wins');
  assert.equal(gate.allows('open', plain('')), false);
  gate.close();
});

test('over HTTPS only the __Host- access cookie counts; over HTTP only the plain one', () => {
  const gate = gateWith(new Map([['vault', true]]), false);
  const token = cookieFor('vault');
  assert.equal(gate.access('vault', { cookies: token, secure: true }), 'deny', 'a plain cookie on HTTPS');
  assert.equal(gate.access('vault', { cookies: `__Host-${token}`, secure: true }), 'allow');
  assert.equal(gate.access('vault', plain(`__Host-${token}`)), 'deny', 'a __Host- cookie on HTTP');
  gate.close();
});

test('without a hub the stream decides; with a hub that never answers, the stream decides after the grace period', async () => {
  const own = new Map([['s', false]]);
  const noHub = gateWith(own, false);
  assert.equal(noHub.access('s', plain('')), 'allow');
  noHub.close();
  const slowHub = gateWith(own, true, 50);
  let changed = 0;
  slowHub.onChange(() => changed++);
  assert.equal(slowHub.access('s', plain('')), 'unknown');
  assert.equal(await slowHub.settle('s', plain(''), 5000), 'allow');
  assert.equal(changed, 1);
  slowHub.close();
});

test('listeners hear of a directory only when protection changed', () => {
  const gate = gateWith(new Map(), true);
  let changed = 0;
  gate.onChange(() => changed++);
  gate.setDirectory([{ name: 'a', protected: false }]);
  gate.setDirectory([{ name: 'a', protected: false }]);
  assert.equal(changed, 1);
  gate.setDirectory([{ name: 'a', protected: true }]);
  assert.equal(changed, 2);
  gate.close();
});

function viewerOf(gate: AccessGate, cookie = '') {
  const out = {
    texts: [] as string[],
    binary: 0,
    closed: undefined as undefined | { code: number; reason: string },
  };
  const session = new ViewerSession(
    {
      sendBinary: (f) => (out.binary += f.length),
      sendText: (t) => out.texts.push(t),
      bufferedAmount: () => 0,
      close: (code, reason) => (out.closed = { code, reason }),
    },
    { maxBackpressureBytes: 1 << 20, closeBackpressureBytes: 1 << 22, stallTimeoutMs: 10_000 },
    { onSent() {}, onSkipped() {} },
  );
  const guard = new AdmittedViewer(
    session,
    () => gate.access('demo', plain(cookie)),
    () => session.close(4403, 'PASSWORD_REQUIRED: this stream needs its password'),
  );
  return { out, guard };
}

function liveRelay(isProtected: boolean): StreamRelay {
  const relay = new StreamRelay('demo', 8, silentLogger);
  relay.start({ ...makeInfo(), ...(isProtected ? { protected: true } : {}) });
  for (const r of ['v720', 'v360', 'a0']) relay.setInit(r, Buffer.from(`init-${r}`));
  for (const c of makeSegment('v720', 0)) relay.push(c.meta, c.frame);
  return relay;
}

test('a held viewer gets nothing of the stream; refused once known protected, replayed once known open', () => {
  const relay = liveRelay(true);
  const infoOf = (r: StreamRelay) => (r.state === 'live' ? r.info?.protected === true : undefined);
  const gate = new AccessGate(SECRET, {
    streamSaysProtected: () => infoOf(relay),
    expectDirectory: true,
    directoryGraceMs: 60_000,
  });
  const refused = viewerOf(gate);
  relay.attach(refused.guard);
  for (const c of makeSegment('v720', 1)) relay.push(c.meta, c.frame);
  assert.equal(refused.out.binary, 0, 'not one byte of media');
  assert.equal(refused.out.texts.length, 0, 'not even the stream description');
  assert.equal(refused.out.closed?.code, 4403);

  // The directory says open (the password was removed after publishing): a held viewer is let in.
  const open = new StreamRelay('demo', 8, silentLogger);
  open.start(makeInfo());
  const gate2 = new AccessGate(SECRET, {
    streamSaysProtected: () => infoOf(open),
    expectDirectory: true,
    directoryGraceMs: 60_000,
  });
  const held = viewerOf(gate2);
  open.attach(held.guard);
  open.setInit('v720', Buffer.from('init'));
  assert.equal(held.out.binary + held.out.texts.length, 0, 'held while the directory has not arrived');
  gate2.setDirectory([{ name: 'demo', protected: false }]);
  assert.equal(held.guard.recheck(), 'replay');
  open.detach(held.guard);
  open.attach(held.guard);
  assert.equal(JSON.parse(held.out.texts[0]!).type, 'info');
  assert.ok(held.out.binary > 0);

  // A password set while watching: the next check closes viewers without a token, keeps those with one.
  const withToken = viewerOf(gate2, cookieFor('demo'));
  open.attach(withToken.guard);
  gate2.setDirectory([{ name: 'demo', protected: true }]);
  held.guard.recheck();
  withToken.guard.recheck();
  assert.equal(held.out.closed?.code, 4403);
  assert.equal(withToken.out.closed, undefined);
  gate.close();
  gate2.close();
});
