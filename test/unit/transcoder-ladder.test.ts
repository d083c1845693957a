import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { errorCode } from '../../src/common/errors/index.js';
import {
  DEFAULT_LADDER,
  buildFfmpegPlan,
  canPassThrough,
  defaultTranscodeOptions,
  selectRungs,
} from '../../src/ingress/transcoder/ladder.js';

const ids = (rungs: { id: string }[]): string[] => rungs.map((r) => r.id);

test('default ladder and options', () => {
  const o = defaultTranscodeOptions();
  assert.deepEqual(ids(o.ladder), ['v1080', 'v720', 'v480', 'v360', 'v240']);
  assert.deepEqual(
    o.ladder.map((r) => [r.height, r.videoBitrateKbps]),
    [
      [1080, 4500],
      [720, 2500],
      [480, 1200],
      [360, 700],
      [240, 400],
    ],
  );
  assert.equal(o.audioBitrateKbps, 128);
  assert.equal(o.segmentDurationMs, 1000);
  assert.equal(o.chunkDurationMs, 200);
  assert.equal(o.preset, 'veryfast');
});

test('selectRungs: drops rungs above the source, keeps all at or below it', () => {
  assert.deepEqual(ids(selectRungs(DEFAULT_LADDER, 1080)), ['v1080', 'v720', 'v480', 'v360', 'v240']);
  assert.deepEqual(ids(selectRungs(DEFAULT_LADDER, 720)), ['v720', 'v480', 'v360', 'v240']);
  assert.deepEqual(ids(selectRungs(DEFAULT_LADDER, 360)), ['v360', 'v240']);
  assert.deepEqual(ids(selectRungs(DEFAULT_LADDER, 1079)), ['v720', 'v480', 'v360', 'v240']);
});

test('selectRungs: unknown source height keeps rungs up to 720p', () => {
  assert.deepEqual(ids(selectRungs(DEFAULT_LADDER)), ['v720', 'v480', 'v360', 'v240']);
  assert.deepEqual(ids(selectRungs(DEFAULT_LADDER, 0)), ['v720', 'v480', 'v360', 'v240']);
});

test('selectRungs: a source below every rung keeps the smallest, capped at the source (even) height', () => {
  assert.deepEqual(selectRungs(DEFAULT_LADDER, 200), [{ id: 'v240', height: 200, videoBitrateKbps: 400 }]);
  assert.deepEqual(selectRungs(DEFAULT_LADDER, 201), [{ id: 'v240', height: 200, videoBitrateKbps: 400 }]);
});

test('buildFfmpegPlan: one input pipe, one output pipe per rendition, audio last', () => {
  const plan = buildFfmpegPlan(defaultTranscodeOptions({ sourceHeight: 360 }), {
    hasAudio: true,
    hasVideo: true,
  });
  assert.deepEqual(
    plan.outputs.map((o) => [o.fd, o.rendition, o.kind, o.bandwidth]),
    [
      [3, 'v360', 'video', 700_000],
      [4, 'v240', 'video', 400_000],
      [5, 'a0', 'audio', 128_000],
    ],
  );
  const a = plan.args;
  assert.deepEqual(a.slice(a.indexOf('-i') - 2, a.indexOf('-i') + 2), ['-f', 'flv', '-i', 'pipe:0']);
  assert.equal(a.filter((x) => x === '-i').length, 1);
  // The source is decoded on one thread (no frame-threading delay) unless configured otherwise.
  const input = a.slice(0, a.indexOf('-i'));
  assert.equal(input[input.indexOf('-threads') + 1], '1');
  const auto = buildFfmpegPlan(defaultTranscodeOptions({ sourceHeight: 360, decodeThreads: 0 }), {
    hasAudio: true,
    hasVideo: true,
  }).args;
  assert.equal(auto[auto.indexOf('-threads') + 1], '0');
  assert.ok(auto.indexOf('-threads') < auto.indexOf('-i'), 'a decoder (input) option');
  assert.deepEqual(
    a.filter((x) => x.startsWith('pipe:')),
    ['pipe:0', 'pipe:3', 'pipe:4', 'pipe:5'],
  );
  const graph = a[a.indexOf('-filter_complex') + 1]!;
  assert.match(graph, /split=2/);
  assert.match(graph, /scale=-2:360/);
  assert.match(graph, /scale=-2:240/);
  assert.equal(a.filter((x) => x === 'libx264').length, 2);
  assert.equal(a.filter((x) => x === 'expr:gte(t,n_forced*1)').length, 2);
  assert.equal(a.filter((x) => x === '-sc_threshold').length, 2);
  assert.equal(a.filter((x) => x === 'zerolatency').length, 2);
  assert.equal(a.filter((x) => x === '90000').length, 2);
  assert.ok(a.includes('700k') && a.includes('400k') && a.includes('128k'));
  // 200 ms chunks in microseconds, on every output.
  assert.equal(a.filter((x) => x === '200000').length, 3);
  const movflags = a.flatMap((x, i) => (x === '-movflags' ? [a[i + 1]!] : []));
  assert.deepEqual(movflags, [
    'empty_moov+default_base_moof+frag_keyframe+skip_sidx+skip_trailer',
    'empty_moov+default_base_moof+frag_keyframe+skip_sidx+skip_trailer',
    'empty_moov+default_base_moof+skip_sidx+skip_trailer', // every AAC frame is a sync sample
  ]);
  const audio = a.slice(a.indexOf('0:a:0'));
  assert.deepEqual(audio.slice(0, 11), [
    '0:a:0',
    '-c:a',
    'aac',
    '-b:a',
    '128k',
    '-ar',
    '48000',
    '-ac',
    '2',
    '-f',
    'mp4',
  ]);
});

test('buildFfmpegPlan: segment and chunk durations reach the keyframe expression and frag_duration', () => {
  const plan = buildFfmpegPlan(
    defaultTranscodeOptions({ segmentDurationMs: 2000, chunkDurationMs: 250, sourceHeight: 240 }),
    {
      hasAudio: true,
      hasVideo: true,
    },
  );
  assert.ok(plan.args.includes('expr:gte(t,n_forced*2)'));
  assert.equal(plan.args.filter((x) => x === '250000').length, 2);
  // single rung: no split filter
  assert.equal(plan.args[plan.args.indexOf('-filter_complex') + 1], '[0:v:0]scale=-2:240,format=yuv420p[o0]');
});

test('buildFfmpegPlan: no audio in the source means video outputs only', () => {
  const plan = buildFfmpegPlan(defaultTranscodeOptions({ sourceHeight: 480 }), {
    hasAudio: false,
    hasVideo: true,
  });
  assert.deepEqual(ids(plan.outputs.map((o) => ({ id: o.rendition }))), ['v480', 'v360', 'v240']);
  assert.ok(!plan.args.includes('0:a:0'));
  assert.ok(!plan.args.includes('aac'));
});

test('buildFfmpegPlan: audio-only source has no filter graph', () => {
  const plan = buildFfmpegPlan(defaultTranscodeOptions(), { hasAudio: true, hasVideo: false });
  assert.deepEqual(
    plan.outputs.map((o) => [o.fd, o.rendition]),
    [[3, 'a0']],
  );
  assert.ok(!plan.args.includes('-filter_complex'));
});

test('validation: chunk duration must be in 1..250 ms and not above the segment duration', () => {
  const invalid = (o: Parameters<typeof defaultTranscodeOptions>[0]): void => {
    assert.throws(
      () => defaultTranscodeOptions(o),
      (err) => errorCode(err) === 'CONFIG_INVALID',
    );
  };
  invalid({ chunkDurationMs: 251 });
  invalid({ chunkDurationMs: 0 });
  invalid({ chunkDurationMs: 100.5 });
  invalid({ segmentDurationMs: 150, chunkDurationMs: 200 });
  invalid({ ladder: [] });
  invalid({
    ladder: [
      { id: 'v1', height: 360, videoBitrateKbps: 700 },
      { id: 'v1', height: 240, videoBitrateKbps: 400 },
    ],
  });
  invalid({ ladder: [{ id: 'a0', height: 360, videoBitrateKbps: 700 }] });
  invalid({ ladder: [{ id: 'v/1', height: 360, videoBitrateKbps: 700 }] });
  invalid({ preset: 'fast; rm -rf' });
  assert.equal(defaultTranscodeOptions({ chunkDurationMs: 250 }).chunkDurationMs, 250);
  assert.throws(
    () => buildFfmpegPlan(defaultTranscodeOptions(), { hasAudio: false, hasVideo: false }),
    (err) => errorCode(err) === 'CONFIG_INVALID',
  );
});

test('buildFfmpegPlan: passthrough adds the H.264 copied as "src", first, and the x264 rungs follow its keyframes', () => {
  const plan = buildFfmpegPlan(
    defaultTranscodeOptions({ sourceHeight: 360, passthrough: true, sourceBitrateKbps: 2000 }),
    { hasAudio: true, hasVideo: true },
  );
  assert.deepEqual(
    plan.outputs.map((o) => [o.fd, o.rendition, o.kind, o.bandwidth, o.height]),
    [
      [3, 'src', 'video', 2_000_000, 360],
      [4, 'v360', 'video', 700_000, 360],
      [5, 'v240', 'video', 400_000, 240],
      [6, 'a0', 'audio', 128_000, undefined],
    ],
  );
  const a = plan.args;
  const src = a.slice(a.indexOf('-map'), a.indexOf('pipe:3') + 1);
  assert.deepEqual(src.slice(0, 4), ['-map', '0:v:0', '-c:v', 'copy']);
  assert.ok(!src.includes('-filter_complex') && !src.includes('libx264'));
  // Keyframes where the source has them, not every segment duration: every rendition switches together.
  assert.equal(a.filter((x) => x === 'source').length, 2);
  assert.ok(!a.some((x) => x.startsWith('expr:gte')));
  assert.equal(a.filter((x) => x === 'libx264').length, 2);
});

test('buildFfmpegPlan: transcode off keeps only the copied video and audio, no x264 and no filter graph', () => {
  const plan = buildFfmpegPlan(
    defaultTranscodeOptions({ sourceHeight: 1080, passthrough: true, videoTranscodeOff: true }),
    { hasAudio: true, hasVideo: true },
  );
  assert.deepEqual(
    plan.outputs.map((o) => o.rendition),
    ['src', 'a0'],
  );
  assert.ok(!plan.args.includes('libx264'));
  assert.ok(!plan.args.includes('-filter_complex'));
  assert.ok(plan.args.includes('copy'));
});

test('passthrough is for H.264 only: HEVC, AV1 and VP9 sources get the ladder and no "src"', () => {
  assert.equal(canPassThrough({ hasAudio: true, hasVideo: true }), true);
  assert.equal(
    canPassThrough({ hasAudio: true, hasVideo: true, container: 'matroska', videoCodec: 'avc1' }),
    true,
  );
  for (const videoCodec of ['hvc1', 'av01', 'vp09']) {
    assert.equal(
      canPassThrough({ hasAudio: true, hasVideo: true, container: 'matroska', videoCodec }),
      false,
    );
    const plan = buildFfmpegPlan(
      defaultTranscodeOptions({ sourceHeight: 360, passthrough: true, videoTranscodeOff: true }),
      { hasAudio: true, hasVideo: true, container: 'matroska', videoCodec },
    );
    assert.deepEqual(
      plan.outputs.map((o) => o.rendition),
      ['v360', 'v240', 'a0'],
    );
    assert.ok(!plan.args.includes('copy'));
    assert.ok(plan.args.includes('expr:gte(t,n_forced*1)'));
  }
  assert.equal(canPassThrough({ hasAudio: true, hasVideo: false }), false);
});
