/**
 * Rewind while live (issue 15): where the watch page's seek bar lands. The edge tells how far back a live
 * broadcast can be rewound (recordedWindow); the page turns a wall-clock moment into a position in the
 * growing playlist by its program date times (playlistFragments, positionOf), across a segment that was not
 * recorded and a transcoder restart. A DASH player gets the same window as a dynamic MPD.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildLiveRecordingMpd,
  buildVodPlaylist,
  recordedWindow,
  type RecordingTimeline,
} from '../../src/common/recording/playback.js';
import { T0, segmentRun, v180, v360 } from '../helpers/recording-fixtures.js';
import { clockText, playlistFragments, positionOf } from '../../src/edge/public/dvr.js';

const run = segmentRun;

/** 18 s of a live broadcast: segment 4 not recorded, a restart between 9 and 12. */
function timeline(): RecordingTimeline {
  return {
    manifest: {
      version: 1,
      stream: 'cam',
      id: '20261201T170000Z-0000aaaa',
      startedAt: T0,
      availabilityStartTime: T0,
      segmentDurationMs: 1000,
      chunkDurationMs: 200,
      epochs: [
        { epoch: 0, at: T0, renditions: [v360, v180] },
        { epoch: 1, at: T0 + 12_000, renditions: [v360, v180] },
      ],
    },
    segments: new Map([
      ['v360', [...run(v360, 0, 0, 10, [4]), ...run(v360, 1, 12, 6)]],
      ['v180', [...run(v180, 0, 0, 10), ...run(v180, 1, 12, 6)]],
    ]),
  };
}

test('the edge offers the last windowS seconds of a live broadcast, and all of an ended one', () => {
  const t = timeline();
  assert.deepEqual(recordedWindow(t, { live: true, windowS: 5 }), { from: T0 + 13_000, to: T0 + 18_000 });
  assert.deepEqual(recordedWindow(t, { live: false, windowS: 5 }), { from: T0, to: T0 + 18_000 });
  const empty: RecordingTimeline = { manifest: t.manifest, segments: new Map() };
  assert.equal(recordedWindow(empty, { live: true, windowS: 5 }), undefined, 'nothing recorded yet');
});

test('a wall-clock moment lands in the segment that shows it, across a hole and a restart', () => {
  const fragments = playlistFragments(buildVodPlaylist(timeline(), 'v360', { live: true, windowS: 60 })!);
  assert.equal(fragments.length, 15);
  assert.deepEqual(fragments[4], { start: 4, programDateTime: T0 + 5000, duration: 1 }, 'after the hole');
  assert.equal(positionOf(fragments, T0 + 2500), 2.5);
  assert.equal(positionOf(fragments, T0 + 4500), 4, 'in the hole: the next segment recorded');
  assert.equal(positionOf(fragments, T0 + 13_500), 10.5, 'after the restart, by its own date');
  assert.equal(positionOf(fragments, T0 - 60_000), 0, 'before the window: its start');
  assert.equal(positionOf(fragments, T0 + 99_000), 15, 'past the live end: the end');
  assert.equal(positionOf([], T0), null);
  // The sliding window: hls.js counts from the first segment listed.
  const slid = playlistFragments(buildVodPlaylist(timeline(), 'v360', { live: true, windowS: 5 })!);
  assert.equal(positionOf(slid, T0 + 15_250), 2.25);
});

test('how far behind live reads as a clock', () => {
  assert.equal(clockText(0), '0:00');
  assert.equal(clockText(61.4), '1:01');
  assert.equal(clockText(3725), '1:02:05');
});

test('a live recording is a dynamic MPD over the DVR window, its Periods where their epochs began', () => {
  const at = { now: T0 + 18_000, timeUrl: '/time' };
  const all = buildLiveRecordingMpd(timeline(), { ...at, windowS: 60 });
  assert.match(all, /type="dynamic" availabilityStartTime="1970-01-01T00:16:40.000Z"/);
  assert.match(all, /timeShiftBufferDepth="PT60.000S"/);
  assert.match(all, /<UTCTiming schemeIdUri="urn:mpeg:dash:utc:http-iso:2014" value="\/time"\/>/);
  assert.deepEqual(
    [...all.matchAll(/<Period id="(\d+)" start="PT([\d.]+)S">/g)].map((m) => [m[1], m[2]]),
    [
      ['0', '0.000'],
      ['1', '12.000'],
    ],
    'the restart is a new Period at its wall-clock time, with no duration while live',
  );
  assert.ok(!all.includes('mediaPresentationDuration'));
  // Five seconds back: only the restart's epoch is left; its media time at the Period start stays put.
  const five = buildLiveRecordingMpd(timeline(), { ...at, windowS: 5 });
  assert.deepEqual(
    [...five.matchAll(/<Period id="(\d+)"/g)].map((m) => m[1]),
    ['1'],
  );
  assert.match(five, /presentationTimeOffset="1080000" startNumber="12"/);
  // A little later the window has slid past segment 12: the offset does not move with it.
  const later = buildLiveRecordingMpd(timeline(), { now: T0 + 19_500, timeUrl: '/time', windowS: 5 });
  assert.match(later, /presentationTimeOffset="1080000" startNumber="14"/);
  assert.match(later, /<SegmentTimeline><S t="1260000" d="90000" r="3"\/><\/SegmentTimeline>/);
});

test('an epoch one rendition has already slid out of is not offered in the MPD', () => {
  const t = timeline();
  // v180's segments of the first epoch end a second earlier than v360's.
  t.segments.set('v180', [...run(v180, 0, 0, 9), ...run(v180, 1, 12, 6)]);
  const mpd = buildLiveRecordingMpd(t, { now: T0 + 69_500, timeUrl: '/time', windowS: 60 });
  assert.deepEqual(
    [...mpd.matchAll(/<Period id="(\d+)"/g)].map((m) => m[1]),
    ['1'],
  );
});
