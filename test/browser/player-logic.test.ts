/**
 * The decisions the WebSocket player makes, run in Node with fakes for the clock and the media element:
 * where latency is read from, how the live edge is chased and holes skipped, how "Auto" moves between
 * renditions, and the small helpers the pages use to show what the API returns.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChunkTimeline } from '../../src/edge/public/chunk-timeline.js';
import { ClockSync } from '../../src/edge/public/clock-sync.js';
import { AutoQuality } from '../../src/edge/public/auto-quality.js';
import { LiveEdge, skipGap } from '../../src/edge/public/live-edge.js';
import * as fmt from '../../src/edge/public/format.js';
import { useEnglish } from '../helpers/page-language.js';

// The page helpers in English, as a page served in English has them.
useEnglish();

/** A media element's fields the live-edge logic reads and writes. */
interface FakeMedia {
  currentTime: number;
  playbackRate: number;
  paused: boolean;
  seeking: boolean;
  buffered: { length: number; start(i: number): number; end(i: number): number };
}

function media(ranges: Array<[number, number]>, currentTime: number): FakeMedia {
  return {
    currentTime,
    playbackRate: 1,
    paused: false,
    seeking: false,
    buffered: { length: ranges.length, start: (i) => ranges[i]![0], end: (i) => ranges[i]![1] },
  };
}

test('latency is read from the ingress time of the frame on screen, interpolated inside its chunk', () => {
  const tl = new ChunkTimeline();
  tl.add({ start: 10, end: 10.2, ingressTime: 50_000, rendition: 'v720' });
  tl.add({ start: 10.2, end: 10.4, ingressTime: 50_230, rendition: 'v360' });
  assert.equal(tl.ingressTimeAt(10.1), 50_100);
  assert.equal(tl.ingressTimeAt(10.3), 50_330);
  assert.equal(tl.at(10.05)?.rendition, 'v720');
  assert.equal(tl.at(10.25)?.rendition, 'v360');
  assert.equal(tl.at(9), null, 'nothing before the first chunk');
  assert.equal(tl.at(12), null, 'nothing far past the last chunk');
  tl.dropBefore(10.3);
  assert.deepEqual(
    tl.entries.map((e) => e.rendition),
    ['v360'],
  );
  // A new timeline (publisher restart) starts over.
  tl.add({ start: 0, end: 0.2, ingressTime: 90_000, rendition: 'v720' });
  assert.equal(tl.entries.length, 1);
});

test('the clock offset comes from the ping with the shortest round trip', () => {
  const c = new ClockSync();
  assert.equal(c.offset, null);
  c.addSample(1000, 6000, 1100); // rtt 100: offset 6000 - 1050
  assert.equal(c.offset, 4950);
  c.addSample(2000, 7100, 2010); // rtt 10: offset 7100 - 2005
  assert.equal(c.offset, 5095);
  c.addSample(3000, 9000, 3500); // rtt 500, queued somewhere: ignored
  assert.equal(c.offset, 5095);
});

test('the live edge is chased by rate when slightly behind and by a seek when far behind', () => {
  let now = 0;
  const edge = new LiveEdge({}, () => now);
  edge.setChunkDuration(200);
  const target = edge.targetLatency();
  assert.ok(Math.abs(target - 0.35) < 1e-9, `target ${target}`);

  const m = media([[0, 20]], 10); // 10 s ahead: plenty of slack
  edge.control(m, target + 0.01);
  assert.equal(m.playbackRate, 1, 'on target');
  edge.control(m, target + 0.15);
  assert.equal(m.playbackRate, 1.04, 'a little behind: inaudible speed-up');
  edge.control(m, target + 0.5);
  assert.equal(m.playbackRate, 1.1, 'behind by more than 0.3 s');
  edge.control(m, target);
  assert.equal(m.playbackRate, 1, 'back on target');
  edge.control(m, target - 0.1);
  assert.equal(m.playbackRate, 0.97, 'too close to the edge: rebuild some buffer');
  edge.control(m, target);
  assert.equal(m.playbackRate, 1);
  edge.control(m, target + 3);
  assert.ok(Math.abs(m.currentTime - 13) < 1e-9, `jumped by the excess: ${m.currentTime}`);

  // Without media ahead, speeding up would only stall.
  const dry = new LiveEdge({}, () => now);
  const d = media([[0, 10.02]], 10);
  for (let i = 0; i < 8; i++) dry.control(d, 2);
  assert.equal(d.playbackRate, 1);
  assert.equal(d.currentTime, 10, 'no seek past the buffer');

  // Each stall moves the target out a little; calm brings it back.
  edge.onStall();
  assert.ok(edge.targetLatency() > target);
  now += 31_000;
  edge.control(m, target);
  assert.ok(Math.abs(edge.targetLatency() - target) < 1e-9);
});

test('holes in the buffer (discontinuity, reconnect, skipped chunks) are jumped over, and only those', () => {
  const atEdge = media(
    [
      [0, 5],
      [6, 10],
    ],
    4.97,
  );
  assert.equal(skipGap(atEdge), true);
  assert.equal(atEdge.currentTime, 6.01);
  const inHole = media(
    [
      [0, 5],
      [6, 10],
    ],
    5.5,
  );
  assert.equal(skipGap(inHole), true);
  assert.equal(inHole.currentTime, 6.01);
  const playing = media(
    [
      [0, 5],
      [6, 10],
    ],
    3,
  );
  assert.equal(skipGap(playing), false);
  // Chromium halts a little before a hole (its audio renderer wants sound ahead): stalled, that is the hole.
  const stalledShort = {
    ...media(
      [
        [0, 22.8],
        [23, 29],
      ],
      22.73,
    ),
    readyState: 2,
  };
  assert.equal(skipGap(stalledShort), true);
  assert.equal(stalledShort.currentTime, 23.01);
  // Playing on (media ahead it can use), or stalled with a good part of the range still to play: no jump.
  const flowing = {
    ...media(
      [
        [0, 22.8],
        [23, 29],
      ],
      22.73,
    ),
    readyState: 4,
  };
  assert.equal(skipGap(flowing), false);
  const stalledEarly = {
    ...media(
      [
        [0, 22.8],
        [23, 29],
      ],
      22.2,
    ),
    readyState: 2,
  };
  assert.equal(skipGap(stalledEarly), false);
  const liveEdge = media([[0, 5]], 4.99); // the newest media: wait for the next chunk, do not seek
  assert.equal(skipGap(liveEdge), false);
  assert.equal(liveEdge.currentTime, 4.99);
});

test('Auto starts at the best rendition up to 720p, steps down on trouble and back up after healthy playback', () => {
  let now = 0;
  const auto = new AutoQuality({}, () => now);
  const ladder = [
    { id: 'v1080', bandwidth: 6_000_000, height: 1080 },
    { id: 'v360', bandwidth: 800_000, height: 360 },
    { id: 'v720', bandwidth: 2_500_000, height: 720 },
    { id: 'v160', bandwidth: 200_000, height: 160 },
  ];
  assert.equal(auto.setRenditions(ladder), 'v720');
  now = 1000;
  assert.equal(auto.onSkipped('v720'), null, 'the switch itself is still settling');
  now = 5000;
  assert.equal(auto.onSkipped('v1080'), null, 'a stale skip for another rendition');
  assert.equal(auto.onSkipped('v720'), 'v360');
  now = 10_000;
  assert.equal(auto.onSkipped(undefined), 'v160', 'a skip naming the audio rendition counts too');
  now = 14_000;
  assert.equal(auto.onStall(), null, 'already at the bottom');
  now = 23_000;
  assert.equal(auto.tick(), null, 'not yet ten healthy seconds since the last trouble');
  now = 24_001;
  assert.equal(auto.tick(), 'v360');
  now = 28_000;
  assert.equal(auto.onStall(), 'v160', 'v360 failed soon after trying it');
  now = 39_000;
  assert.equal(auto.tick(), null, 'v360 now needs twenty healthy seconds');
  now = 48_001;
  assert.equal(auto.tick(), 'v360');
  assert.equal(auto.current, 'v360');
});

test('page helpers: stream names from the address, menu labels, directory entries', () => {
  assert.equal(fmt.streamNameFromPath('/watch/demo'), 'demo');
  assert.equal(fmt.streamNameFromPath('/watch/Cam_2-b/'), 'Cam_2-b');
  assert.equal(fmt.streamNameFromPath('/embed/demo'), 'demo');
  assert.equal(fmt.streamNameFromPath('/popout-chat/demo'), 'demo');
  for (const bad of [
    '/watch/',
    '/watch/a%20b',
    '/watch/a/b',
    '/watch/%E0%A4%A',
    `/watch/${'x'.repeat(65)}`,
    '/live/demo',
    '/popout-chat/',
  ]) {
    assert.equal(fmt.streamNameFromPath(bad), null, bad);
  }
  assert.equal(fmt.renditionLabel({ id: 'v720', bandwidth: 2_500_000, height: 720 }), '720p · 2.5 Mbps');
  assert.equal(
    fmt.renditionLabel({ id: 'v1080', bandwidth: 6_000_000, height: 1080, frameRate: 60 }),
    '1080p60 · 6 Mbps',
  );
  assert.equal(fmt.renditionLabel({ id: 'low', bandwidth: 300_000 }), 'low · 300 kbps');
  assert.equal(
    fmt.renditionLabel({ id: 'src', bandwidth: 6_000_000, height: 1080 }),
    'Source (1080p) · 6 Mbps',
  );
  // The quality menu: Source first even when a rung has more bits, then the tallest picture first.
  const menu = [
    { id: 'v480', bandwidth: 1_200_000, height: 480 },
    { id: 'src', bandwidth: 1_000_000, height: 480 },
    { id: 'v720', bandwidth: 2_500_000, height: 720 },
  ].sort(fmt.byQuality);
  assert.deepEqual(
    menu.map((r) => r.id),
    ['src', 'v720', 'v480'],
  );
  assert.equal(fmt.formatViewers(1), '1 viewer');
  assert.equal(fmt.formatViewers(-3), '0 viewers');
  assert.deepEqual(fmt.parseStreamEntry({ name: 'demo', title: ' ', live: true, viewers: 4.7 }), {
    name: 'demo',
    title: 'demo',
    category: '',
    live: true,
    viewers: 4,
    broadcast: null,
  });
  // A live stream being recorded names its broadcast (rewind while live); only a well-formed id is taken.
  const recorded = { name: 'demo', live: true, viewers: 1, broadcast: '20261201T230642Z-c331e7ec' };
  assert.equal(fmt.parseStreamEntry(recorded)?.broadcast, '20261201T230642Z-c331e7ec');
  assert.equal(fmt.parseStreamEntry({ ...recorded, broadcast: '../../x' })?.broadcast, null);
  assert.equal(fmt.parseStreamEntry('demo'), null);
  assert.equal(fmt.parseStreamEntry({ name: '../x', title: 't', live: true, viewers: 1 }), null);
});
