/**
 * Who the client is behind a proxy (src/common/http/client.ts) and the cookies set for it: forwarding headers
 * count only from configured proxies, are walked from the right, and cannot be spoofed by a client; HTTPS
 * names cookies `__Host-` with Secure, and a secure request reads only those.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProxyTrust, normalizeAddress, parseTrustList } from '../../src/common/http/client.js';
import { cookie, cookieName, parseCookies, readCookie } from '../../src/common/http/request.js';
import { ConfigError } from '../../src/common/errors/index.js';

const PROXY = '10.0.0.5';

test('without trustProxy the socket peer is the client, whatever the headers claim', () => {
  const t = new ProxyTrust({ trustProxy: [] });
  assert.deepEqual(t.resolve('203.0.113.9', { xff: '1.1.1.1', proto: 'https', forwarded: 'for=2.2.2.2' }), {
    ip: '203.0.113.9',
    secure: false,
  });
});

test('a trusted proxy: the rightmost address that is not a proxy is the client; entries left of it are not believed', () => {
  const t = new ProxyTrust({ trustProxy: ['10.0.0.0/8', '192.168.1.1'] });
  assert.equal(t.resolve(PROXY, { xff: '198.51.100.7' }).ip, '198.51.100.7');
  // The client wrote "6.6.6.6" itself; nginx appended the address it saw.
  assert.equal(t.resolve(PROXY, { xff: '6.6.6.6, 198.51.100.7' }).ip, '198.51.100.7');
  // Two proxies of ours in a row (a load balancer, then nginx): both skipped.
  assert.equal(t.resolve(PROXY, { xff: '6.6.6.6, 198.51.100.7, 192.168.1.1, 10.1.2.3' }).ip, '198.51.100.7');
  // A proxy that sent no header: the proxy itself is all we know.
  assert.equal(t.resolve(PROXY, {}).ip, PROXY);
  // Garbage or "unknown" stops the walk at the last real hop.
  assert.equal(t.resolve(PROXY, { xff: '198.51.100.7, unknown' }).ip, PROXY);
  assert.equal(t.resolve(PROXY, { xff: 'not-an-ip' }).ip, PROXY);
});

test('a peer outside trustProxy gets no say: its X-Forwarded-For and X-Forwarded-Proto are ignored', () => {
  const t = new ProxyTrust({ trustProxy: ['10.0.0.0/8'] });
  assert.deepEqual(t.resolve('203.0.113.9', { xff: '10.0.0.7', proto: 'https' }), {
    ip: '203.0.113.9',
    secure: false,
  });
});

test('HTTPS: from the trusted proxy’s X-Forwarded-Proto, or always when the node or the site is secure', () => {
  const t = new ProxyTrust({ trustProxy: [PROXY] });
  assert.equal(t.resolve(PROXY, { xff: '198.51.100.7', proto: 'https' }).secure, true);
  assert.equal(t.resolve(PROXY, { xff: '198.51.100.7', proto: 'http, HTTPS' }).secure, true);
  assert.equal(
    t.resolve(PROXY, { xff: '198.51.100.7', proto: 'https, http' }).secure,
    false,
    'the last value is the proxy’s; one before it may be the client’s',
  );
  assert.equal(t.resolve(PROXY, { xff: '198.51.100.7', proto: 'http' }).secure, false);
  const always = new ProxyTrust({ trustProxy: [], secure: true });
  assert.equal(always.resolve('203.0.113.9', { proto: 'http' }).secure, true);
});

test('forwardedHeader "forwarded": RFC 7239 for= and proto=, and X-Forwarded-For is then ignored', () => {
  const t = new ProxyTrust({ trustProxy: ['10.0.0.0/8'], forwardedHeader: 'forwarded' });
  assert.deepEqual(
    t.resolve(PROXY, {
      forwarded: 'for=6.6.6.6;proto=http, for="[2001:db8::17]:4711";proto=https, for=10.0.0.9',
      xff: '7.7.7.7',
    }),
    { ip: '2001:db8::17', secure: true },
    'proto from the element our outermost proxy wrote for the client',
  );
  assert.equal(
    t.resolve(PROXY, { forwarded: 'for=6.6.6.6;proto=https, for=198.51.100.7, for=10.0.0.9' }).secure,
    false,
    'a proto= the client wrote itself does not count',
  );
  assert.deepEqual(t.resolve(PROXY, { forwarded: 'for=198.51.100.7;proto=https' }), {
    ip: '198.51.100.7',
    secure: true,
  });
  assert.equal(t.resolve(PROXY, { xff: '7.7.7.7' }).ip, PROXY, 'in this mode X-Forwarded-For is not read');
  const xffMode = new ProxyTrust({ trustProxy: ['10.0.0.0/8'] });
  assert.equal(xffMode.resolve(PROXY, { forwarded: 'for=7.7.7.7' }).ip, PROXY, 'and the other way round');
});

test('addresses: IPv4-mapped IPv6 (both spellings), ports and brackets are normalised; IPv6 blocks match', () => {
  assert.equal(normalizeAddress('::ffff:10.0.0.5'), '10.0.0.5');
  assert.equal(normalizeAddress('0000:0000:0000:0000:0000:ffff:7f00:0001'), '127.0.0.1');
  assert.equal(normalizeAddress('198.51.100.7:5555'), '198.51.100.7');
  assert.equal(normalizeAddress('[2001:db8::1]:443'), '2001:db8::1');
  const t = new ProxyTrust({ trustProxy: ['127.0.0.1', 'fd00::/8'] });
  assert.equal(t.trusts('0000:0000:0000:0000:0000:ffff:7f00:0001'), true);
  assert.equal(t.trusts('fd12::1'), true);
  assert.equal(t.trusts('2001:db8::1'), false);
  assert.equal(t.resolve('fd12::1', { xff: '2001:db8::1' }).ip, '2001:db8::1');
});

test('a trustProxy entry that is not an address or block stops the start, naming it', () => {
  for (const bad of ['10.0.0.0/33', 'proxy.example', '10.0.0.1/8/2', 'fd00::/129', '10.0.0.0/x']) {
    assert.throws(
      () => parseTrustList(['127.0.0.1', bad]),
      (e: unknown) => e instanceof ConfigError && e.message.startsWith(`trustProxy[1]: "${bad}"`),
      bad,
    );
  }
});

test('cookies: __Host- with Secure and Path=/ over HTTPS, plain over HTTP; a secure request reads only __Host-', () => {
  assert.equal(
    cookie('tc_session', 'a b', { maxAgeS: 60, secure: true }),
    '__Host-tc_session=a%20b; Max-Age=60; Path=/; HttpOnly; Secure; SameSite=Strict',
  );
  assert.equal(cookie('tc_csrf', 'x', { httpOnly: false }), 'tc_csrf=x; Path=/; SameSite=Strict');
  assert.equal(cookieName('tc_csrf', true), '__Host-tc_csrf');
  const jar = parseCookies('tc_session=plain; __Host-tc_session=hosted; tc_session=later; bad=%zz');
  assert.equal(jar.tc_session, 'plain', 'the first of a repeated name wins');
  assert.equal(jar.bad, '%zz', 'a bad escape is kept as sent');
  assert.equal(readCookie(jar, 'tc_session', true), 'hosted');
  assert.equal(readCookie(jar, 'tc_session', false), 'plain');
  assert.equal(readCookie(parseCookies('tc_session=plain'), 'tc_session', true), undefined);
});
