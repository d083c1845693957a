import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EdgeFailover, requestPosition } from '../../src/edge/public/http-failover.js';

const OWN = 'http://a.example:8080';
const B = 'http://b.example:8080';
const C = 'https://c.example/tv';

/** An EdgeFailover over edges that are up or down, with the requests it made and a clock the test sets. */
function setup(down: Set<string>, others = [B, C]) {
  const requests: string[] = [];
  let now = 0;
  const failover = new EdgeFailover({
    own: OWN,
    others: () => others,
    warmPath: '/live/cam/master.m3u8',
    now: () => now,
    fetch: (url) => {
      requests.push(url);
      return [...down].some((base) => url.startsWith(`${base}/`))
        ? Promise.reject(new TypeError('refused'))
        : Promise.resolve({});
    },
  });
  return { failover, requests, tick: (ms: number) => (now += ms) };
}

test('requests for the stream go to the edge in use, the rest stay on this edge', async () => {
  const { failover } = setup(new Set([OWN]));
  const url = `${OWN}/live/cam/v360/12.3.m4s`;
  assert.equal(failover.rewrite(url), url, 'nothing moves before a move');
  assert.equal(await failover.failed(OWN, 0), true);
  assert.equal(failover.rewrite(url), `${B}/live/cam/v360/12.3.m4s`);
  assert.equal(failover.rewrite('/time'), `${B}/time`);
  assert.equal(
    failover.rewrite(`${OWN}/live/cam/v360/playlist.m3u8?_HLS_msn=4`, C),
    `${C}/live/cam/v360/playlist.m3u8?_HLS_msn=4`,
  );
  // Entry documents say they were redirected already: the other edge serves them, it does not send them on.
  assert.equal(failover.rewrite(`${OWN}/live/cam/manifest.mpd`), `${B}/live/cam/manifest.mpd?redirected=1`);
  for (const stays of [
    `${OWN}/api/streams`,
    `${OWN}/static/hls.min.js`,
    'http://elsewhere.example/live/cam/x',
  ])
    assert.equal(failover.rewrite(stays), stays);
});

test('an edge that does not answer is left for the next one, which is asked for the stream at once', async () => {
  const { failover, requests } = setup(new Set([OWN]));
  // Three requests fail at once: one decision, one move.
  const answers = await Promise.all([
    failover.failed(OWN, 0),
    failover.failed(OWN, 0),
    failover.failed(OWN, 0),
  ]);
  assert.deepEqual(answers, [true, true, true]);
  assert.equal(failover.moves, 1);
  assert.equal(failover.current(), B);
  assert.deepEqual(requests, [`${OWN}/healthz`, `${B}/live/cam/master.m3u8?redirected=1`]);
  // A late failure of a request sent to the old edge: ask again, at the new one, without moving again.
  assert.equal(await failover.failed(OWN, 0), true);
  assert.equal(failover.moves, 1);
});

test('an edge that still answers is not left for a lost request; a 5xx is left at once; a 404 is not trouble', async () => {
  const { failover, requests } = setup(new Set());
  assert.equal(await failover.failed(OWN, 0), false);
  assert.equal(failover.current(), OWN);
  assert.equal(await failover.failed(OWN, 404), false);
  assert.equal(failover.current(), OWN);
  assert.deepEqual(requests, [`${OWN}/healthz`]);
  assert.equal(await failover.failed(OWN, 503), true);
  assert.equal(failover.current(), B);
});

test('once every edge was tried without an answer the player handles failures itself, and later tries again', async () => {
  const { failover, tick } = setup(new Set([OWN, B, C]));
  assert.equal(await failover.failed(OWN, 0), true);
  assert.equal(await failover.failed(B, 0), true);
  assert.equal(failover.current(), C);
  assert.equal(await failover.failed(C, 0), false, 'all three tried');
  assert.equal(failover.moves, 2);
  tick(11_000);
  assert.equal(await failover.failed(C, 0), true, 'the list is tried again after a while');
  assert.equal(failover.current(), OWN);
});

test('an edge that answered is worth moving to again', async () => {
  const { failover } = setup(new Set([OWN, B]), [B]);
  assert.equal(await failover.failed(OWN, 0), true);
  assert.equal(await failover.failed(B, 0), false, 'both tried');
  failover.ok(B);
  assert.equal(await failover.failed(B, 0), true);
  assert.equal(failover.current(), OWN);
});

test('without other edges nothing moves', async () => {
  const { failover } = setup(new Set([OWN]), []);
  assert.equal(await failover.failed(OWN, 0), false);
  assert.equal(failover.current(), OWN);
  assert.equal(failover.moves, 0);
});

test('a 4xx from the edge just moved to is asked again after its warm-up, for a few seconds only', async () => {
  const { failover, tick } = setup(new Set([OWN]));
  assert.equal(failover.warmed(OWN), null);
  await failover.failed(OWN, 0);
  const warm = failover.warmed(B);
  assert.ok(warm, 'a warm-up to wait for');
  await warm;
  assert.equal(failover.warmed(OWN), null, 'not for another edge');
  tick(6_000);
  assert.equal(failover.warmed(B), null, 'not long after the move');
});

test("a request's rendition and segment number: parts, segments, blocking playlist reloads", () => {
  const at = (path: string) => requestPosition(new URL(path, OWN));
  assert.deepEqual(at('/live/cam/v360/12.3.m4s'), { rendition: 'v360', segment: 12 });
  assert.deepEqual(at('/live/cam/a0/12.m4s'), { rendition: 'a0', segment: 12 });
  assert.deepEqual(at('/live/cam/v360/playlist.m3u8?_HLS_msn=13&_HLS_part=0'), {
    rendition: 'v360',
    segment: 13,
  });
  for (const none of [
    '/live/cam/v360/playlist.m3u8',
    '/live/cam/v360/init.mp4',
    '/live/cam/master.m3u8',
    '/time',
  ])
    assert.equal(at(none), null, none);
});

test('the new edge is told where the player is: its renditions of late, two segments back', async () => {
  const { failover, requests, tick } = setup(new Set([OWN]));
  failover.rewrite(`${OWN}/live/cam/v720/3.m4s`);
  tick(20_000); // a rendition left long ago is not named
  failover.rewrite(`${OWN}/live/cam/a0/12.4.m4s`);
  failover.rewrite(`${OWN}/live/cam/v360/12.4.m4s`);
  failover.rewrite(`${OWN}/live/cam/v360/playlist.m3u8?_HLS_msn=13&_HLS_part=0`);
  failover.rewrite(`${OWN}/live/cam/v360/12.3.m4s`); // an older part asked late does not move it back
  assert.equal(await failover.failed(OWN, 0), true);
  const warm = new URL(requests.at(-1)!);
  assert.equal(warm.origin + warm.pathname, `${B}/live/cam/master.m3u8`);
  assert.deepEqual(warm.searchParams.get('resume')?.split(',').sort(), ['a0:10.0', 'v360:11.0']);
  assert.equal(warm.searchParams.get('redirected'), '1');
});
