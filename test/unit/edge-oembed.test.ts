/** oEmbed for watch links: only tiercast watch addresses, escaped HTML, sizes within the caller's maximum. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { oembedResponse, parseWatchUrl } from '../../src/edge/oembed.js';

test('watch addresses, absolute or relative, name the stream and their origin', () => {
  assert.deepEqual(parseWatchUrl('https://tv.example/watch/demo'), {
    name: 'demo',
    origin: 'https://tv.example',
  });
  assert.deepEqual(parseWatchUrl('/watch/demo'), { name: 'demo', origin: undefined });
  for (const bad of [
    null,
    '',
    'javascript:alert(1)//watch/demo',
    'https://x/watch/de%22mo',
    'https://x/other/demo',
    'ftp://x/watch/demo',
    'https://x/watch/a/b',
  ]) {
    assert.ok('error' in parseWatchUrl(bad), String(bad));
  }
});

test('the iframe is escaped and sized within maxwidth/maxheight at 16:9', () => {
  const r = oembedResponse('demo', 'A <b>"title"</b> & more', 'https://tv.example', {});
  assert.equal(r.type, 'video');
  assert.equal(r.width, 640);
  assert.match(
    String(r.html),
    /^<iframe src="https:\/\/tv.example\/embed\/demo" width="640" height="360" title="A &lt;b&gt;&quot;title&quot;&lt;\/b&gt; &amp; more"/,
  );
  const small = oembedResponse('demo', 't', '', { width: 320 });
  assert.deepEqual([small.width, small.height], [320, 180]);
  assert.match(String(small.html), /src="\/embed\/demo"/);
});
