/**
 * The player pages carry what the edge knows of the viewer's access (player-page.ts): "open" for a stream that
 * needs no password, "unlocked" for a protected one whose token this viewer holds, nothing otherwise, so the
 * page only skips its directory question when the edge's own checks would let the media through.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { AccessGate } from '../../src/edge/access-gate.js';
import { accessHint, PlayerPages } from '../../src/edge/player-page.js';
import { ServedFile } from '../../src/edge/static-serve.js';
import { accessCookie, deriveKey, signAccess } from '../../src/common/protocol/session-tokens.js';

const SECRET = 'player-page-test-secret-0123456789';
const token = (stream: string, secret = SECRET) =>
  `${accessCookie(stream)}=${signAccess(deriveKey(secret, 'stream-access'), stream, 60_000)}`;
const viewer = (cookies = '') => ({ cookies, secure: false });

test('the hint follows the access the edge would grant, and says nothing while it cannot tell', () => {
  const gate = new AccessGate(SECRET, { expectDirectory: true, directoryGraceMs: 60_000 });
  try {
    // No directory yet: the edge cannot tell, even for a stream that says it is open.
    assert.equal(accessHint(gate, 'open', viewer()), null);
    gate.setDirectory([
      { name: 'open', protected: false },
      { name: 'locked', protected: true },
    ]);
    assert.equal(accessHint(gate, 'open', viewer()), 'open');
    assert.equal(accessHint(gate, 'locked', viewer()), null, 'no token: the page shows the form');
    assert.equal(accessHint(gate, 'locked', viewer(token('locked'))), 'unlocked');
    assert.equal(accessHint(gate, 'locked', viewer(token('open'))), null, "another stream's token");
    assert.equal(
      accessHint(gate, 'locked', viewer(token('locked', 'another-cluster-secret-xxxxxxxx'))),
      null,
    );
    assert.equal(accessHint(gate, 'unlisted', viewer()), null, 'a stream the directory does not name');
  } finally {
    gate.close();
  }
});

test('each variant of a page is made once, carries its hint in the head, and has its own validator', () => {
  const html =
    '<!doctype html>\n<html>\n  <head>\n    <title>w</title>\n  </head>\n  <body></body>\n</html>\n';
  const base = new ServedFile(Buffer.from(html), 'text/html; charset=utf-8');
  const pages = new PlayerPages(new Map([['watch.html', base]]));
  const plain = pages.page('watch.html', null)!;
  assert.doesNotMatch(plain.body.toString(), /tiercast-access/);
  const open = pages.page('watch.html', 'open')!;
  assert.equal(pages.page('watch.html', 'open'), open, 'made once');
  assert.match(open.body.toString(), /<meta name="tiercast-access" content="open" \/>\n {2}<\/head>/);
  const unlocked = pages.page('watch.html', 'unlocked')!;
  assert.match(unlocked.body.toString(), /content="unlocked"/);
  assert.equal(new Set([plain.etag, open.etag, unlocked.etag]).size, 3);
  assert.equal(pages.page('missing.html', 'open'), undefined);
});
