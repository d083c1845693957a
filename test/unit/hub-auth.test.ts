import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { hashSecret, verifyNothing, verifySecret } from '../../src/hub/auth/passwords.js';
import { RateLimiter } from '../../src/hub/auth/rate-limit.js';
import { createCsrfToken, csrfOk } from '../../src/hub/auth/csrf.js';
import {
  deriveKey,
  sessionUserId,
  signAccess,
  signSession,
  signToken,
  verifyAccess,
  verifySession,
  verifyToken,
} from '../../src/common/protocol/session-tokens.js';

const SECRET = 'cluster-secret-for-tests-0123456789';
const sessionKey = deriveKey(SECRET, 'session');
const accessKey = deriveKey(SECRET, 'stream-access');
const NOW = 1_700_000_000_000;

test('hashSecret makes salted scrypt hashes that verifySecret checks', () => {
  const h1 = hashSecret('correct horse');
  const h2 = hashSecret('correct horse');
  assert.match(h1, /^scrypt\$16384\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
  assert.notEqual(h1, h2, 'a fresh salt each time');
  assert.ok(!h1.includes('correct'));
  assert.equal(verifySecret('correct horse', h1), true);
  assert.equal(verifySecret('correct horse', h2), true);
  assert.equal(verifySecret('correct hors', h1), false);
  assert.equal(verifySecret('Correct horse', h1), false);
  assert.equal(verifySecret('café', hashSecret('cafe\u0301')), true, 'Unicode-normalised');
});

test('verifySecret says no to malformed or hostile stored values without throwing', () => {
  const good = hashSecret('secret-value');
  const parts = good.split('$');
  for (const bad of [
    '',
    'plain-text',
    good.replace('scrypt', 'bcrypt'),
    parts.slice(0, 5).join('$'),
    ['scrypt', '1073741824', '8', '1', parts[4], parts[5]].join('$'),
    ['scrypt', '1000', '8', '1', parts[4], parts[5]].join('$'),
    ['scrypt', '16384', '999', '1', parts[4], parts[5]].join('$'),
    ['scrypt', '16384', '8', '1', parts[4], 'c2hvcnQ'].join('$'),
    ['scrypt', '16384', '8', '1', 'not base64!', parts[5]].join('$'),
  ]) {
    assert.equal(verifySecret('secret-value', bad), false, bad);
  }
  assert.equal(verifyNothing('secret-value'), false);
});

test('a signed token verifies until it expires and carries its payload', () => {
  const t = signToken(sessionKey, { typ: 'session', sub: 'u:7', name: 'carol', role: 'user' }, 60_000, NOW);
  assert.match(t, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
  assert.deepEqual(verifyToken(sessionKey, t, NOW), {
    typ: 'session',
    sub: 'u:7',
    name: 'carol',
    role: 'user',
    exp: NOW + 60_000,
  });
  assert.ok(verifyToken(sessionKey, t, NOW + 59_999));
  assert.equal(verifyToken(sessionKey, t, NOW + 60_000), undefined, 'expired');
  assert.ok(verifyToken(sessionKey, t, NOW, 'session'));
  assert.equal(verifyToken(sessionKey, t, NOW, 'access'), undefined, 'wrong typ');
  assert.ok(!t.includes(SECRET));
});

test('tampered, re-signed, non-canonical and malformed tokens are refused', () => {
  const t = signToken(sessionKey, { typ: 'session', sub: 'u:7', name: 'carol', role: 'user' }, 60_000, NOW);
  const [body, sig] = t.split('.') as [string, string];
  const forged = Buffer.from(
    JSON.stringify({ typ: 'session', sub: 'u:1', name: 'root', role: 'admin', exp: NOW + 60_000 }),
  ).toString('base64url');
  assert.equal(verifyToken(sessionKey, `${forged}.${sig}`, NOW), undefined, 'payload swapped');
  const flipped = sig.slice(0, 10) + (sig[10] === 'A' ? 'B' : 'A') + sig.slice(11);
  assert.equal(verifyToken(sessionKey, `${body}.${flipped}`, NOW), undefined, 'signature changed');
  // The last base64url character of a 32-byte MAC carries 2 unused bits: other spellings decode the same.
  const last = sig.at(-1) as string;
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const sibling = alphabet[alphabet.indexOf(last) ^ 1] as string;
  assert.deepEqual(Buffer.from(sig.slice(0, -1) + sibling, 'base64url'), Buffer.from(sig, 'base64url'));
  assert.equal(
    verifyToken(sessionKey, `${body}.${sig.slice(0, -1)}${sibling}`, NOW),
    undefined,
    'non-canonical signature',
  );
  // A correctly MACed body that is not a proper payload.
  const signRaw = (raw: string) => {
    const b = Buffer.from(raw).toString('base64url');
    return `${b}.${createHmac('sha256', sessionKey).update(b).digest('base64url')}`;
  };
  assert.ok(
    verifyToken(sessionKey, signRaw(JSON.stringify({ typ: 'x', exp: NOW + 1 })), NOW),
    'the helper signs correctly',
  );
  for (const raw of [
    'not json',
    '[1,2]',
    'null',
    JSON.stringify({ typ: 'x' }),
    JSON.stringify({ exp: NOW + 1 }),
    JSON.stringify({ typ: 'x', exp: '9999999999999' }),
  ]) {
    assert.equal(verifyToken(sessionKey, signRaw(raw), NOW), undefined, raw);
  }
  for (const junk of [
    '',
    '.',
    'abc',
    `${body}.`,
    `.${sig}`,
    `${body}.${sig}.x`,
    `${body}.${sig}=`,
    `${body} .${sig}`,
    'a'.repeat(5000),
  ]) {
    assert.equal(verifyToken(sessionKey, junk, NOW), undefined, junk.slice(0, 20));
  }
});

test('keys are per purpose: a session token is not a stream-access token and vice versa', () => {
  assert.notDeepEqual(sessionKey, accessKey);
  assert.deepEqual(
    deriveKey(SECRET, 'session'),
    sessionKey,
    'deterministic: every node derives the same key',
  );
  assert.notDeepEqual(deriveKey(`${SECRET}x`, 'session'), sessionKey);
  const access = signAccess(accessKey, 'alice', 60_000, NOW);
  assert.deepEqual(verifyAccess(accessKey, access, 'alice', NOW), {
    typ: 'access',
    stream: 'alice',
    exp: NOW + 60_000,
  });
  assert.equal(verifyAccess(accessKey, access, 'bob', NOW), undefined, 'for another stream');
  assert.equal(verifyAccess(sessionKey, access, 'alice', NOW), undefined, 'wrong purpose key');
  assert.equal(verifySession(accessKey, access, NOW), undefined);
  // Even an access-typed payload signed with the session key fails as access (wrong key) ...
  const accessWithSessionKey = signToken(sessionKey, { typ: 'access', stream: 'alice' }, 60_000, NOW);
  assert.equal(verifyAccess(accessKey, accessWithSessionKey, 'alice', NOW), undefined);
  // ... and as a session (wrong typ).
  assert.equal(verifySession(sessionKey, accessWithSessionKey, NOW), undefined);
  assert.equal(verifyAccess(accessKey, access, 'alice', NOW + 60_000), undefined, 'expired');
});

test('session tokens: account and streamer subjects, with a role that fits', () => {
  const user = signSession(sessionKey, { sub: 'u:42', name: 'carol', role: 'admin' }, 1000, NOW);
  const p = verifySession(sessionKey, user, NOW);
  assert.deepEqual(p, { typ: 'session', sub: 'u:42', name: 'carol', role: 'admin', exp: NOW + 1000 });
  assert.equal(p && sessionUserId(p), 42);
  const streamer = verifySession(
    sessionKey,
    signSession(sessionKey, { sub: 's:alice', name: 'alice', role: 'streamer' }, 1000, NOW),
    NOW,
  );
  assert.equal(streamer?.role, 'streamer');
  assert.equal(streamer && sessionUserId(streamer), undefined);
  const bad = (sub: string, role: string) =>
    signToken(sessionKey, { typ: 'session', sub, name: 'x', role }, 1000, NOW);
  assert.equal(verifySession(sessionKey, bad('s:alice', 'admin'), NOW), undefined);
  assert.equal(verifySession(sessionKey, bad('u:42', 'streamer'), NOW), undefined);
  assert.equal(verifySession(sessionKey, bad('u:abc', 'user'), NOW), undefined);
  assert.equal(verifySession(sessionKey, bad('x:1', 'user'), NOW), undefined);
  assert.equal(verifySession(sessionKey, bad('s:', 'streamer'), NOW), undefined);
  assert.equal(verifySession(sessionKey, bad('u:1', 'root'), NOW), undefined);
});

test('csrf: random tokens, double-submit check', () => {
  const a = createCsrfToken();
  assert.match(a, /^[A-Za-z0-9_-]{43}$/);
  assert.notEqual(a, createCsrfToken());
  assert.equal(csrfOk(a, a), true);
  assert.equal(csrfOk(a, createCsrfToken()), false);
  assert.equal(csrfOk(a, `${a}x`), false);
  assert.equal(csrfOk(a, undefined), false);
  assert.equal(csrfOk(undefined, a), false);
  assert.equal(csrfOk('', ''), false, 'empty cookie and header are not a match');
  assert.equal(csrfOk('short', 'short'), false);
});

test('rate limiter: a burst of capacity, then refills at capacity per window', () => {
  const rl = new RateLimiter({ capacity: 3, perMs: 3000 });
  const t = 1_000_000;
  assert.deepEqual(
    [1, 2, 3, 4].map(() => rl.take('ip:1', t)),
    [true, true, true, false],
  );
  assert.equal(rl.take('ip:2', t), true, 'keys are independent');
  assert.equal(rl.retryAfterMs('ip:1', t), 1000);
  assert.equal(rl.take('ip:1', t + 999), false);
  assert.equal(rl.take('ip:1', t + 1000), true, 'one token back per second');
  assert.equal(rl.take('ip:1', t + 1000), false, 'refused attempts do not count, but do not refill either');
  assert.deepEqual(
    [1, 2, 3].map(() => rl.take('ip:1', t + 10_000)),
    [true, true, true],
    'refills up to capacity, no more',
  );
  assert.equal(rl.take('ip:1', t + 10_000), false);
  assert.equal(rl.retryAfterMs('never-seen', t), 0);
  rl.reset('ip:1');
  assert.equal(rl.take('ip:1', t + 10_000), true);
  assert.equal(rl.take('ip:1', t + 5_000), true, 'a clock going backwards does not break it');
});

test('rate limiter memory is bounded: idle keys are dropped, and a cap evicts the least recently used', () => {
  const rl = new RateLimiter({ capacity: 2, perMs: 1000, maxKeys: 100 });
  for (let i = 0; i < 1000; i++) rl.take(`k${i}`, 5000);
  assert.equal(rl.size(), 100);
  assert.equal(rl.take('k999', 5000), true);
  assert.equal(rl.take('k999', 5000), false, 'recent keys are kept');
  rl.take('other', 7000);
  assert.equal(rl.size(), 1, 'keys whose bucket refilled are swept');
  assert.throws(() => new RateLimiter({ capacity: 0, perMs: 1000 }), RangeError);
});
