/**
 * Playing a recording back (issue 15): the static MPD and the HLS VOD playlists built from a recording's
 * timeline. Two epochs (a transcoder restart) play end to end, each with its init segment; a segment that was
 * not recorded is skipped with a discontinuity (HLS) or a listed SegmentList (DASH), never named.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildStaticMpd,
  buildVodMaster,
  buildVodPlaylist,
  readRecording,
  recordedSeconds,
  type RecordingTimeline,
} from '../../src/common/recording/playback.js';
import { a0Info, segmentRun, v180, v360 } from '../helpers/recording-fixtures.js';

const run = segmentRun;

function timeline(): RecordingTimeline {
  return {
    manifest: {
      version: 1,
      stream: 'cam',
      id: '20261201T170000Z-0000aaaa',
      startedAt: 1_000_000,
      endedAt: 1_020_000,
      availabilityStartTime: 1_000_000,
      segmentDurationMs: 1000,
      chunkDurationMs: 200,
      epochs: [
        { epoch: 0, at: 1_000_000, renditions: [v360, v180, a0Info] },
        // After the restart the ladder lost v180: it is left out of the whole recording's menu.
        { epoch: 1, at: 1_012_000, renditions: [v360, a0Info] },
      ],
    },
    segments: new Map([
      ['v360', [...run(v360, 0, 0, 10, [4]), ...run(v360, 1, 12, 6)]],
      ['v180', run(v180, 0, 0, 10)],
      ['a0', [...run(a0Info, 0, 0, 10), ...run(a0Info, 1, 12, 6)]],
    ]),
  };
}

test('the MPD is static: one Period per epoch, laid end to end, each with its own init segment', () => {
  const mpd = buildStaticMpd(timeline());
  assert.match(mpd, /type="static"/);
  assert.match(mpd, /mediaPresentationDuration="PT16\.000S"/);
  const periods = [...mpd.matchAll(/<Period id="(\d+)" start="([^"]+)" duration="([^"]+)"/g)].map((m) =>
    m.slice(1),
  );
  assert.deepEqual(periods, [
    ['0', 'PT0.000S', 'PT10.000S'],
    ['1', 'PT10.000S', 'PT6.000S'],
  ]);
  assert.ok(!mpd.includes('v180'), 'a rendition missing from an epoch is not offered');
  // Audio: contiguous numbers, one S with a repeat count, the epoch's first decode time as the offset.
  assert.match(
    mpd,
    /presentationTimeOffset="576000" startNumber="12" initialization="a0\/init-1\.mp4" media="a0\/\$Number%08d\$\.m4s"><SegmentTimeline><S t="576000" d="48000" r="5"\/>/,
  );
});

test('a rendition with a segment that was not recorded lists its segments instead of numbering them', () => {
  const mpd = buildStaticMpd(timeline());
  const period0 = mpd.slice(mpd.indexOf('<Period id="0"'), mpd.indexOf('<Period id="1"'));
  const rep = /<Representation id="v360".*?<\/Representation>/s.exec(period0)![0];
  assert.match(
    rep,
    /<SegmentList timescale="90000" presentationTimeOffset="0"><Initialization sourceURL="v360\/init-0\.mp4"\/>/,
  );
  assert.match(
    rep,
    /<S t="0" d="90000" r="3"\/><S t="450000" d="90000" r="4"\/>/,
    'the hole restarts the timeline',
  );
  assert.ok(!rep.includes('00000004.m4s'), 'the missing segment is never named');
  assert.equal(rep.match(/<SegmentURL /g)?.length, 9);
});

test('HLS: the master offers what every epoch has; a playlist maps each epoch and marks every cut', () => {
  const t = timeline();
  const master = buildVodMaster(t);
  assert.match(master, /#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="a0".*URI="a0\/playlist\.m3u8"/);
  assert.deepEqual(
    [...master.matchAll(/^(\w+)\/playlist\.m3u8$/gm)].map((m) => m[1]),
    ['v360'],
  );
  const p = buildVodPlaylist(t, 'v360')!;
  assert.match(p, /#EXT-X-PLAYLIST-TYPE:VOD/);
  assert.match(p, /#EXT-X-ENDLIST\n$/);
  assert.deepEqual(
    [...p.matchAll(/#EXT-X-MAP:URI="([^"]+)"/g)].map((m) => m[1]),
    ['init-0.mp4', 'init-1.mp4'],
  );
  assert.equal(p.match(/^#EXT-X-DISCONTINUITY$/gm)?.length, 2, 'at the missing segment and at the restart');
  assert.equal(p.match(/^\d{8}\.m4s$/gm)?.length, 15);
  assert.ok(!p.includes('00000004.m4s'));
  assert.equal(buildVodPlaylist(t, 'v180'), undefined, 'not in every epoch');
  assert.equal(buildVodPlaylist(t, '../x'), undefined);
  assert.equal(recordedSeconds(t), 16);
});

test('a recording still being written grows as an EVENT playlist, then slides over the last windowS seconds', () => {
  const t = timeline();
  const event = buildVodPlaylist(t, 'a0', { live: true, windowS: 60 })!;
  assert.match(event, /#EXT-X-PLAYLIST-TYPE:EVENT/);
  assert.ok(!event.includes('#EXT-X-ENDLIST'), 'no end while it is live');
  assert.equal(event.match(/^\d{8}\.m4s$/gm)?.length, 16);
  // A window of 5 s: only the last five segments, after the restart; what slid out is counted.
  const slid = buildVodPlaylist(t, 'a0', { live: true, windowS: 5 })!;
  assert.ok(!slid.includes('#EXT-X-PLAYLIST-TYPE'), 'a sliding window is neither VOD nor EVENT');
  assert.match(slid, /#EXT-X-MEDIA-SEQUENCE:11\n/);
  assert.match(slid, /#EXT-X-DISCONTINUITY-SEQUENCE:1\n/, 'the restart slid out');
  assert.deepEqual(
    [...slid.matchAll(/^(\d{8})\.m4s$/gm)].map((m) => Number(m[1])),
    [13, 14, 15, 16, 17],
  );
  assert.match(
    slid,
    /#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-MAP:URI="init-1\.mp4"\n#EXT-X-PROGRAM-DATE-TIME:/,
    'the first listed segment has its init and time',
  );
});

test('a timeline object caught mid-write is read again later; what was known of it stays', async () => {
  const objects = new Map<string, Buffer>();
  const put = (k: string, v: unknown) =>
    objects.set(`cam/b1/${k}`, Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)));
  const store = {
    get: (k: string) => Promise.resolve(objects.get(k)),
    list: (p: string) =>
      Promise.resolve(
        [...objects.keys()]
          .filter((k) => k.startsWith(p))
          .sort()
          .map((key) => ({ key, size: 1 })),
      ),
  };
  const t = timeline();
  put('broadcast.json', { ...t.manifest, epochs: [t.manifest.epochs[0]!] });
  const a0 = run(a0Info, 0, 0, 70);
  put('a0/index-000000.json', a0.slice(0, 64));
  put('a0/index-000001.json', a0.slice(64, 66));
  const first = (await readRecording(store, 'cam', 'b1'))!;
  assert.equal(first.segments.get('a0')?.length, 66);
  // The growing block is torn at the next read (a reader saw it half replaced), and so is the manifest.
  put('a0/index-000001.json', '[{"segment":64,"epo');
  put('broadcast.json', '{"version":1,"str');
  const torn = (await readRecording(store, 'cam', 'b1', first))!;
  assert.equal(torn.segments.get('a0')?.length, 66, 'the last good read stands');
  assert.equal(torn.manifest.stream, 'cam');
  put('a0/index-000001.json', a0.slice(64, 70));
  put('broadcast.json', { ...t.manifest, epochs: [t.manifest.epochs[0]!] });
  const later = (await readRecording(store, 'cam', 'b1', torn))!;
  assert.equal(later.segments.get('a0')?.length, 70, 'read again, it has grown');
  await assert.rejects(
    readRecording({ ...store, get: () => Promise.resolve(Buffer.from('{')) }, 'cam', 'b1'),
  );
});
