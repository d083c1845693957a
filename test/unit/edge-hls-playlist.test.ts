/** LL-HLS playlists built from the chunks: the spec's rules, part addressing, discontinuities, blocking reload. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildMasterPlaylist,
  buildMediaPlaylist,
  directiveState,
  parseReloadDirective,
  partTargetSeconds,
  type PlaylistSegment,
} from '../../src/edge/hls-playlist.js';
import { makeInfo } from '../helpers/fakes.js';
import { parseMediaPlaylist, violations } from '../helpers/hls-conformance.js';

const info = makeInfo('demo');

function seg(
  number: number,
  parts: number,
  complete: boolean,
  discontinuity = false,
  dur = 0.2,
): PlaylistSegment {
  return {
    number,
    startS: number,
    complete,
    discontinuity,
    parts: Array.from({ length: parts }, (_, k) => ({ durationS: dur, independent: k === 0 })),
  };
}

test('the master playlist lists every video rendition with bandwidth, resolution, codecs and frame rate, and audio as a group', () => {
  const m = buildMasterPlaylist(info);
  assert.match(m, /^#EXTM3U\n/);
  for (const r of info.renditions.filter((x) => x.kind === 'video')) {
    assert.match(
      m,
      new RegExp(
        `#EXT-X-STREAM-INF:BANDWIDTH=\\d+,AVERAGE-BANDWIDTH=\\d+,CODECS="${r.codecs}[^"]*"(,RESOLUTION=${r.width}x${r.height})?.*\\n${r.id}/playlist.m3u8`,
      ),
    );
  }
  const audio = info.renditions.find((x) => x.kind === 'audio');
  if (audio)
    assert.match(m, new RegExp(`#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio".*URI="${audio.id}/playlist.m3u8"`));
});

test('a media playlist follows the rules: target duration, part target, parts adding up, preload hint', () => {
  const text = buildMediaPlaylist(info, {
    partTargetS: 0.2,
    segments: [seg(10, 5, true), seg(11, 5, true), seg(12, 5, true), seg(13, 2, false)],
    discontinuitySequence: 0,
  });
  const p = parseMediaPlaylist(text);
  assert.deepEqual(violations(p), []);
  assert.equal(p.mediaSequence, 10);
  assert.deepEqual(
    p.trailingParts.map((x) => x.uri),
    ['13.0.m4s', '13.1.m4s'],
  );
  assert.equal(p.preloadHint, '13.2.m4s');
  assert.equal(p.segments[0]!.parts.length, 0, 'old segments are listed whole');
  assert.equal(p.segments[2]!.parts.length, 5);
  assert.match(text, /#EXT-X-MAP:URI="init.mp4"/);
  assert.match(text, /#EXT-X-PART:DURATION=0.200,URI="13.0.m4s",INDEPENDENT=YES/);
});

test('after a complete segment the hint points at the next segment’s first part', () => {
  const p = parseMediaPlaylist(
    buildMediaPlaylist(info, { partTargetS: 0.2, segments: [seg(3, 5, true)], discontinuitySequence: 0 }),
  );
  assert.equal(p.preloadHint, '4.0.m4s');
  assert.deepEqual(violations(p), []);
});

test('a transcoder restart is a discontinuity with a date; the sequence counts the ones that slid out', () => {
  const text = buildMediaPlaylist(info, {
    partTargetS: 0.2,
    segments: [seg(7, 5, true), seg(8, 3, true, true), seg(9, 1, false)],
    discontinuitySequence: 2,
  });
  const p = parseMediaPlaylist(text);
  assert.deepEqual(violations(p), []);
  assert.equal(p.discontinuitySequence, 2);
  assert.equal(p.segments[1]!.discontinuity, true);
  assert.equal((text.match(/#EXT-X-PROGRAM-DATE-TIME/g) ?? []).length, 2);
  const dates = [...text.matchAll(/#EXT-X-PROGRAM-DATE-TIME:(.*)/g)].map((m) => Date.parse(m[1]!));
  assert.equal(dates[0], info.availabilityStartTime + 7000);
});

test('the checker catches what breaks players', () => {
  const long = parseMediaPlaylist(
    buildMediaPlaylist(info, {
      partTargetS: 0.2,
      segments: [seg(1, 5, true, false, 0.25)],
      discontinuitySequence: 0,
    }),
  );
  assert.ok(violations(long).some((v) => /longer than PART-TARGET/.test(v)));
});

test('audio parts are whole AAC frames: PART-TARGET covers them, and a first part a frame longer', () => {
  const audio = info.renditions.find((r) => r.kind === 'audio')!;
  const t = partTargetSeconds({ ...info, chunkDurationMs: 200 }, { ...audio, sampleRate: 48000 });
  // 200 ms chunks hold 10 frames (0.2133 s); the first after going live was seen at 0.214 s.
  assert.ok(Math.abs(t - 11 * (1024 / 48000)) < 1e-9, `${t}`);
  assert.ok((10 * 1024) / 48000 / t >= 0.85, 'typical parts stay at least 85 % of the target');
  assert.equal(
    partTargetSeconds(
      { ...info, chunkDurationMs: 200 },
      info.renditions.find((r) => r.kind === 'video')!,
    ),
    0.2,
  );
});

test('blocking-reload directives: parsed strictly; ready, wait, or refused when too far ahead', () => {
  const q = (s: string) => parseReloadDirective(new URLSearchParams(s));
  assert.equal(q(''), undefined);
  assert.deepEqual(q('_HLS_msn=12&_HLS_part=3'), { msn: 12, part: 3 });
  for (const bad of [
    '_HLS_part=1',
    '_HLS_msn=-1',
    '_HLS_msn=abc',
    '_HLS_msn=1e3',
    '_HLS_msn=99999999999',
    '_HLS_msn=1&_HLS_part=-2',
    '_HLS_msn=1&_HLS_part=x',
  ]) {
    assert.ok(q(bad) && 'error' in q(bad)!, bad);
  }
  const newest = { segment: 10, parts: 2, complete: false };
  assert.equal(directiveState(newest, { msn: 10, part: 1 }, 5), 'ready');
  assert.equal(directiveState(newest, { msn: 9, part: undefined }, 5), 'ready');
  assert.equal(directiveState(newest, { msn: 10, part: 2 }, 5), 'wait');
  assert.equal(directiveState(newest, { msn: 10, part: undefined }, 5), 'wait');
  assert.equal(
    directiveState({ ...newest, complete: true, parts: 5 }, { msn: 10, part: undefined }, 5),
    'ready',
  );
  assert.equal(directiveState(newest, { msn: 10, part: 6 }, 5), 'ahead');
  assert.equal(directiveState(newest, { msn: 13, part: undefined }, 5), 'ahead');
  assert.equal(directiveState({ ...newest, parts: 4 }, { msn: 11, part: 0 }, 5), 'wait');
  assert.equal(directiveState(newest, { msn: 11, part: 0 }, 5), 'ahead', 'four parts past the newest');
  assert.equal(directiveState(newest, { msn: 12, part: 4 }, 5), 'ahead');
  assert.equal(directiveState(undefined, { msn: 0, part: 0 }, 5), 'wait');
});
