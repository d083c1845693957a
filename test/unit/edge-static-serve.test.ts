/** Choosing an encoding and matching validators for page assets (src/edge/static-serve.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ServedFile, acceptedEncodings, matchesEtag } from '../../src/edge/static-serve.js';

test('Accept-Encoding: brotli before gzip, q=0 refuses, * stands for the rest, unknown names are ignored', () => {
  assert.deepEqual(acceptedEncodings('gzip, deflate, br'), ['br', 'gzip']);
  assert.deepEqual(acceptedEncodings('gzip;q=0.5, br;q=0'), ['gzip']);
  assert.deepEqual(acceptedEncodings('*'), ['br', 'gzip']);
  assert.deepEqual(acceptedEncodings('*;q=0, gzip'), ['gzip']);
  assert.deepEqual(acceptedEncodings('identity, deflate'), []);
  assert.deepEqual(acceptedEncodings(''), []);
  assert.deepEqual(acceptedEncodings('br;q=banana'), [], 'a q that is not a number refuses');
});

test('If-None-Match: weak comparison, lists and *', () => {
  const etag = 'W/"abc"';
  assert.equal(matchesEtag('W/"abc"', etag), true);
  assert.equal(matchesEtag('"abc"', etag), true);
  assert.equal(matchesEtag('"x", W/"abc"', etag), true);
  assert.equal(matchesEtag('*', etag), true);
  assert.equal(matchesEtag('"abd"', etag), false);
  assert.equal(matchesEtag('', etag), false);
});

test('small files and images are not compressed; text is, and the ETag follows the content', async () => {
  const dir = '/nonexistent/cache'; // unwritable: copies stay in memory
  assert.equal(new ServedFile(Buffer.alloc(100, 'a'), 'text/css').compressible, false);
  assert.equal(new ServedFile(Buffer.alloc(5000), 'image/png').compressible, false);
  const css = new ServedFile(Buffer.alloc(5000, 'a'), 'text/css; charset=utf-8', dir);
  assert.equal(css.copy('br'), undefined, 'not ready on first ask');
  await css.prepare();
  assert.ok(css.copy('br')!.length < 100);
  assert.ok(css.copy('gzip')!.length < 100);
  assert.notEqual(new ServedFile(Buffer.alloc(5000, 'b'), 'text/css').etag, css.etag);
  assert.equal(new ServedFile(Buffer.alloc(5000, 'a'), 'text/css').etag, css.etag);
});
