import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildMpd } from '../../src/edge/mpd.js';
import { makeInfo } from '../helpers/fakes.js';

const mpd = buildMpd(makeInfo(), {
  timeUrl: 'http://edge:8080/time',
  targetLatencyMs: 1000,
  cacheSegments: 8,
  now: 1_700_000_010_000,
});

test('MPD is a dynamic LL-DASH manifest anchored at the stream start', () => {
  assert.match(mpd, /type="dynamic"/);
  assert.match(mpd, /availabilityStartTime="2023-11-14T22:13:20.000Z"/);
  assert.match(
    mpd,
    /<UTCTiming schemeIdUri="urn:mpeg:dash:utc:http-iso:2014" value="http:\/\/edge:8080\/time"\/>/,
  );
  assert.match(
    mpd,
    /<ProducerReferenceTime id="0" type="encoder" wallClockTime="2023-11-14T22:13:20.000Z" presentationTime="0"\/>/,
  );
  assert.match(mpd, /<Latency referenceId="0" target="1000"/);
});

test('SegmentTemplate uses $Number$, one segment per second of media, early availability', () => {
  assert.match(mpd, /timescale="90000" duration="90000" startNumber="0"/);
  assert.match(mpd, /timescale="48000" duration="48000" startNumber="0"/);
  assert.match(mpd, /media="\$RepresentationID\$\/\$Number\$\.m4s"/);
  assert.match(mpd, /availabilityTimeOffset="0.800" availabilityTimeComplete="false"/);
});

test('every rendition is listed with its codec, size and bandwidth, highest first', () => {
  const reps = [...mpd.matchAll(/<Representation id="([^"]+)" codecs="([^"]+)" bandwidth="(\d+)"/g)].map(
    (m) => m[1],
  );
  assert.deepEqual(reps, ['v720', 'v360', 'a0']);
  assert.match(
    mpd,
    /id="v720" codecs="avc1.4d401f" bandwidth="2500000" width="1280" height="720" frameRate="30"/,
  );
  assert.match(mpd, /audioSamplingRate="48000"><AudioChannelConfiguration [^>]+value="2"\/>/);
});

test('attribute values are escaped', () => {
  const info = makeInfo();
  info.renditions[0]!.codecs = 'avc1"<x>';
  const m = buildMpd(info, { timeUrl: 'http://e/time', targetLatencyMs: 1000, cacheSegments: 8 });
  assert.ok(!m.includes('"<x>'));
  assert.match(m, /codecs="avc1&quot;&lt;x>"/);
});

test('passthrough: Source is listed first whatever its bandwidth, and a GOP of 1501.5 ms is exact in ticks', () => {
  const info = makeInfo();
  info.segmentDurationMs = 1501.5; // 45 frames at 29.97 fps
  info.renditions.unshift({ ...info.renditions[1]!, id: 'src', bandwidth: 600_000 });
  const m = buildMpd(info, { timeUrl: 'http://e/time', targetLatencyMs: 1000, cacheSegments: 8 });
  const reps = [...m.matchAll(/<Representation id="([^"]+)"/g)].map((x) => x[1]);
  assert.deepEqual(reps, ['src', 'v720', 'v360', 'a0']);
  assert.match(m, /timescale="90000" duration="135135"/);
  assert.match(m, /maxSegmentDuration="PT1.502S"/);
});
