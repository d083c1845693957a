/**
 * The edge forwards only allow-listed account routes to the hub, matched after normalisation: every
 * spelling that a URL parser downstream (fetch, the hub's router) could resolve to another route is either
 * refused or reduced to the one route it names. The forwarded path is rebuilt from the match.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalPath } from '../../src/common/http/path.js';
import { VIEWER_API_ROUTES, matchViewerApi } from '../../src/common/http/viewer-api.js';

test('every allow-listed route matches itself and forwards its own path', () => {
  for (const r of VIEWER_API_ROUTES) {
    const path = r.path
      .replace(':name', 'demo')
      .replace(':id', '20261201T173000Z-1a2b3c4d')
      .replace(':clip', '0123456789ab')
      .replace(':hook', 'wh_0123456789ab')
      .replace(':output', 'out_0123456789ab');
    assert.deepEqual(matchViewerApi(r.method, `/api${path}`), { ok: true, path });
  }
});

test('a broadcast id segment takes only a broadcast id', () => {
  for (const bad of ['demo', '..', '20261201T173000Z-1A2B', '20261201T173000Z-1a2b3c4d5e', '%2e%2e'])
    assert.equal(matchViewerApi('GET', `/api/videos/${bad}`).ok, false, bad);
  assert.equal(matchViewerApi('GET', '/api/videos/20261201T173000Z-1a2b').ok, true);
});

test('a restream output id segment takes only an output id', () => {
  for (const bad of [
    'demo',
    '..',
    'out_0123456789a',
    'out_0123456789abc',
    'wh_0123456789ab',
    'out_0123456789a/',
    '%2e%2e',
  ])
    assert.equal(matchViewerApi('DELETE', `/api/dashboard/outputs/${bad}`).ok, false, bad);
  assert.equal(matchViewerApi('DELETE', '/api/dashboard/outputs/out_0123456789ab').ok, true);
});

test('a webhook id segment takes only a webhook id', () => {
  for (const bad of ['demo', '..', 'wh_0123456789a', 'wh_0123456789abc', 'wh_0123456789a.', '%2e%2e'])
    assert.equal(matchViewerApi('DELETE', `/api/dashboard/webhooks/${bad}`).ok, false, bad);
  assert.equal(matchViewerApi('DELETE', '/api/dashboard/webhooks/wh_0123456789ab').ok, true);
});

test('paths that escape /api or reach the hub’s cluster-only routes are refused, however they are spelled', () => {
  const hostile = [
    '/api/../internal/streams/demo/live',
    '/api/./../internal/streams/demo/live',
    '/api/%2e%2e/internal/streams/demo/live',
    '/api/%2E%2E/internal/streams/demo/live',
    '/api/.%2e/internal/publish/authorize',
    '/api/%252e%252e/internal/publish/authorize',
    '/api/..%2finternal/publish/authorize',
    '/api/..%5cinternal/publish/authorize',
    '/api\\..\\internal\\publish\\authorize',
    '/api/..\\internal/streams/demo/thumbnail',
    '/api/..;/internal/streams/demo/live',
    '/api/me/../../internal/publish/authorize',
    '//api/../internal/publish/authorize',
    '/api/%00/me',
    '/api/me%00',
    '/api/internal/publish/authorize',
    '/api/streams/demo/live',
    '/api/streams/..%2f..%2finternal/unlock',
    '/api/follows/%2e%2e',
    '/api/follows/..',
    '/api/dashboard/rotate-key/..%252f..%252finternal',
    '/api/%',
  ];
  for (const path of hostile) {
    for (const method of ['GET', 'POST', 'PUT', 'DELETE', 'PATCH']) {
      const m = matchViewerApi(method, path);
      assert.equal(m.ok, false, `${method} ${path} must be refused`);
    }
  }
});

test('harmless spellings of an allowed route are reduced to it', () => {
  assert.deepEqual(matchViewerApi('GET', '/api//me'), { ok: true, path: '/me' });
  assert.deepEqual(matchViewerApi('GET', '/api/./me'), { ok: true, path: '/me' });
  assert.deepEqual(matchViewerApi('GET', '/api/x/../me'), { ok: true, path: '/me' });
  assert.deepEqual(matchViewerApi('GET', '/api/me;jsessionid=1'), { ok: true, path: '/me' });
  assert.deepEqual(matchViewerApi('POST', '/api/streams/%64emo/unlock'), {
    ok: true,
    path: '/streams/demo/unlock',
  });
  assert.deepEqual(matchViewerApi('POST', '/api\\auth\\login'), { ok: true, path: '/auth/login' });
});

test('a known route with the wrong method is refused as such; unknown names are not forwarded', () => {
  assert.equal(matchViewerApi('DELETE', '/api/me').ok, false);
  assert.deepEqual(matchViewerApi('DELETE', '/api/me'), {
    ok: false,
    code: 'METHOD_NOT_ALLOWED',
    reason: 'DELETE is not allowed here',
  });
  assert.equal(matchViewerApi('PUT', '/api/follows/bad name').ok, false);
  assert.equal(matchViewerApi('PUT', `/api/follows/${'a'.repeat(65)}`).ok, false);
});

test('canonical paths never climb above the root', () => {
  assert.equal(canonicalPath('/../../etc/passwd'), '/etc/passwd');
  assert.equal(canonicalPath('/a/b/../../..'), '/');
});
