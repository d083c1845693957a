/**
 * The transcoder with a real ffmpeg on both sides: a publisher ffmpeg produces live FLV (-re), its tags
 * are fed to Transcoder, whose real ffmpeg produces the CMAF ladder. Then the transcoder's ffmpeg is
 * SIGKILLed and must come back on a continuous timeline.
 */
import { strict as assert } from 'node:assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { errorCode } from '../../src/common/errors/index.js';
import { ChunkFlags, hasFlag, type MediaChunk, type RenditionInfo } from '../../src/common/media.js';
import { BoxSplitter, readMoof } from '../../src/ingress/transcoder/fmp4-boxes.js';
import { isSequenceHeader, isVideoKeyframe, type FlvTag } from '../../src/ingress/flv/flv-tag.js';
import { defaultTranscodeOptions } from '../../src/ingress/transcoder/ladder.js';
import { Transcoder } from '../../src/ingress/transcoder/transcoder.js';
import { FlvReader } from '../fixtures/transcoder/flv-reader.js';

const logger = pino({ level: 'silent' });

const PUBLISHER_ARGS = [
  '-hide_banner', '-loglevel', 'error', '-nostdin',
  '-re', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30', '-f', 'lavfi', '-i', 'sine',
  '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '30', '-c:a', 'aac', '-f', 'flv', 'pipe:1',
]; // prettier-ignore

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** pids of ffmpeg processes whose parent is this test process (Linux /proc). */
function childFfmpegs(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const [, comm, ppid] = /^\d+ \((.*)\) \S+ (\d+)/.exec(stat) ?? [];
      if (comm === 'ffmpeg' && Number(ppid) === process.pid) pids.push(Number(entry));
    } catch {
      // the process went away while we looked
    }
  }
  return pids;
}

async function waitFor(what: string, cond: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function p50(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

/** Asserts the per-rendition sequence is contiguous: chunk indices 0.. per segment, segments +1, flags set. */
function assertContiguous(chunks: MediaChunk[], kind: 'video' | 'audio'): void {
  const id = chunks[0]!.rendition;
  assert.equal(chunks[0]!.chunk, 0, `${id} starts at chunk 0`);
  assert.ok(hasFlag(chunks[0]!, ChunkFlags.SEGMENT_START), `${id} starts a segment`);
  for (let i = 1; i < chunks.length; i++) {
    const [a, b] = [chunks[i - 1]!, chunks[i]!];
    const where = `${id} ${a.segment}.${a.chunk} -> ${b.segment}.${b.chunk}`;
    if (b.segment === a.segment) {
      assert.equal(b.chunk, a.chunk + 1, where);
      assert.ok(!hasFlag(b, ChunkFlags.SEGMENT_START), where);
      assert.ok(!hasFlag(a, ChunkFlags.SEGMENT_END), `${where}: segment continued after SEGMENT_END`);
    } else {
      assert.equal(b.segment, a.segment + 1, where);
      assert.equal(b.chunk, 0, where);
      assert.ok(hasFlag(b, ChunkFlags.SEGMENT_START), where);
      assert.ok(hasFlag(a, ChunkFlags.SEGMENT_END), `${where}: previous chunk lacks SEGMENT_END`);
    }
    if (hasFlag(b, ChunkFlags.SEGMENT_START) && kind === 'video')
      assert.ok(hasFlag(b, ChunkFlags.KEYFRAME), where);
    assert.equal(b.decodeTime, a.decodeTime + a.duration, `${where}: decode times contiguous`);
  }
}

function decodeCheck(dir: string, name: string, init: Buffer, chunks: MediaChunk[]): void {
  const file = join(dir, `${name}.mp4`);
  writeFileSync(file, Buffer.concat([init, ...chunks.map((c) => c.payload)]));
  const decode = spawnSync('ffmpeg', ['-v', 'error', '-i', file, '-f', 'null', '-'], { encoding: 'utf8' });
  assert.equal(decode.status, 0, decode.stderr);
  assert.equal(decode.stderr.trim(), '', `decode errors in ${name}: ${decode.stderr}`);
  const probe = spawnSync(
    'ffprobe',
    [
      '-v',
      'error',
      '-count_frames',
      '-select_streams',
      '0',
      '-show_entries',
      'stream=nb_read_frames',
      '-of',
      'csv=p=0',
      file,
    ],
    { encoding: 'utf8' },
  );
  assert.equal(probe.status, 0, probe.stderr);
  const samples = chunks.reduce(
    (n, c) =>
      n + readMoof(new BoxSplitter().push(c.payload).find((b) => b.type === 'moof')!.data).sampleCount,
    0,
  );
  assert.equal(Number(probe.stdout.trim()), samples, `${name}: every frame decodes`);
}

test(
  'live FLV -> CMAF ladder, then ffmpeg SIGKILLed and restarted on a continuous timeline',
  { timeout: 90_000 },
  async (t) => {
    const testStart = Date.now();
    const dir = mkdtempSync(join(tmpdir(), 'tiercast-transcoder-'));
    const publisher: ChildProcess = spawn('ffmpeg', PUBLISHER_ARGS, { stdio: ['ignore', 'pipe', 'inherit'] });
    const live: { transcoder?: Transcoder } = {};
    t.after(async () => {
      publisher.kill('SIGKILL');
      await live.transcoder?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    // Like the RTMP session: hold the first tags until the source is known, then start and replay them.
    const early: FlvTag[] = [];
    const reader = new FlvReader();
    publisher.stdout!.on('data', (data: Buffer) => {
      for (const tag of reader.push(data)) {
        if (live.transcoder) live.transcoder.write(tag);
        else early.push(tag);
      }
    });
    await waitFor(
      'a first keyframe from the publisher',
      () => early.some((x) => isVideoKeyframe(x) && !isSequenceHeader(x)),
      10_000,
    );
    const source = Transcoder.probeSource(early);
    assert.deepEqual([source.hasAudio, source.hasVideo, source.height], [true, true, 360]);

    const inits = new Map<string, { rendition: RenditionInfo; init: Buffer }>();
    const chunks: MediaChunk[] = [];
    const restarts: number[] = [];
    const t1 = await Transcoder.start({
      stream: 'it',
      options: defaultTranscodeOptions({ sourceHeight: source.height }),
      logger,
      restart: { maxRestarts: 3, backoffMs: 100 },
      source,
    });
    t1.on('init', (rendition, init) => inits.set(rendition.id, { rendition, init }));
    t1.on('chunk', (c) => chunks.push(c));
    t1.on('restart', (epoch) => restarts.push(epoch));
    live.transcoder = t1;
    for (const tag of early.splice(0)) t1.write(tag);

    const of = (id: string, list = chunks): MediaChunk[] => list.filter((c) => c.rendition === id);
    await waitFor(
      '~4 s of chunks',
      () => of('v360').some((c) => c.segment >= 4) && of('a0').some((c) => c.segment >= 4),
      30_000,
    );

    // --- renditions and init segments
    assert.deepEqual(
      [...inits.keys()].sort(),
      ['a0', 'v240', 'v360'],
      'rungs above the 360p source are dropped',
    );
    assert.deepEqual(
      t1.renditions().map((r) => r.id),
      ['v360', 'v240', 'a0'],
    );
    const v360 = inits.get('v360')!.rendition;
    const v240 = inits.get('v240')!.rendition;
    const a0 = inits.get('a0')!.rendition;
    assert.match(v360.codecs, /^avc1\./);
    assert.match(v240.codecs, /^avc1\./);
    assert.match(a0.codecs, /^mp4a\.40/);
    assert.deepEqual(
      [v360.kind, v360.width, v360.height, v360.timescale, v360.frameRate, v360.bandwidth],
      ['video', 640, 360, 90000, 30, 700_000],
    );
    assert.equal(v240.height, 240);
    assert.deepEqual(
      [a0.kind, a0.sampleRate, a0.channels, a0.timescale, a0.bandwidth],
      ['audio', 48000, 2, 48000, 128_000],
    );

    // --- chunk durations, segment structure, timing
    const before = [...chunks];
    const timescale = { v360: 90000, v240: 90000, a0: 48000 } as Record<string, number>;
    for (const c of before) {
      assert.ok(
        (c.duration * 1000) / timescale[c.rendition]! <= 250,
        `${c.rendition} ${c.segment}.${c.chunk} lasts ${c.duration}`,
      );
      assert.ok(
        c.ingressTime >= testStart && c.ingressTime <= c.sentTime,
        `ingressTime ${c.ingressTime - testStart}`,
      );
      assert.ok(c.sentTime - c.ingressTime < 3000, `latency ${c.sentTime - c.ingressTime} ms`);
      assert.equal(c.stream, 'it');
      assert.equal(hasFlag(c, ChunkFlags.DISCONTINUITY), false);
    }
    assertContiguous(of('v360', before), 'video');
    assertContiguous(of('v240', before), 'video');
    assertContiguous(of('a0', before), 'audio');
    // GOPs aligned across renditions: the same segments start at the same decode time.
    const starts = (id: string): string[] =>
      of(id, before)
        .filter((c) => hasFlag(c, ChunkFlags.SEGMENT_START))
        .map((c) => `${c.segment}@${c.decodeTime}`);
    const common = Math.min(starts('v360').length, starts('v240').length);
    assert.deepEqual(starts('v360').slice(0, common), starts('v240').slice(0, common));
    for (const s of starts('v360'))
      assert.equal(Number(s.split('@')[1]), Number(s.split('@')[0]) * 90000, 'keyframe on the boundary');
    // Audio and video start together on the timeline (lip sync).
    assert.ok(of('v360', before)[0]!.decodeTime / 90000 < 0.1);
    assert.ok(of('a0', before)[0]!.decodeTime / 48000 < 0.1);
    const ast = t1.availabilityStartTime!;
    assert.ok(ast >= testStart && ast <= before[0]!.ingressTime);

    const steady = before.filter((c) => c.segment >= 1);
    const latency = (id: string): number => p50(of(id, steady).map((c) => c.sentTime - c.ingressTime));
    t.diagnostic(
      `p50 receivedAt(first frame) -> chunk emitted: v360 ${latency('v360')} ms, v240 ${latency('v240')} ms, a0 ${latency('a0')} ms`,
    );
    t.diagnostic(
      `chunk durations ms: v360 ${[...new Set(of('v360', before).map((c) => c.duration / 90))].join('/')}, a0 ${[...new Set(of('a0', before).map((c) => Math.round(c.duration / 48)))].join('/')}`,
    );
    assert.ok(latency('v360') < 600, `video latency ${latency('v360')}`);
    assert.ok(latency('a0') < 600, `audio latency ${latency('a0')}`);

    // --- what a player gets decodes without errors
    decodeCheck(dir, 'v360', inits.get('v360')!.init, of('v360', before));
    decodeCheck(dir, 'a0', inits.get('a0')!.init, of('a0', before));

    // --- kill the real ffmpeg: restart, DISCONTINUITY, segment numbers keep increasing
    const pid1 = t1.pid!;
    const lastBefore = new Map(['v360', 'v240', 'a0'].map((id) => [id, of(id).at(-1)!]));
    const countBefore = chunks.length;
    process.kill(pid1, 'SIGKILL');
    await waitFor('the restart', () => restarts.length === 1, 10_000);
    await waitFor(
      'chunks after the restart',
      () =>
        ['v360', 'v240', 'a0'].every(
          (id) =>
            of(id, chunks.slice(countBefore)).filter((c) => hasFlag(c, ChunkFlags.SEGMENT_START)).length >= 2,
        ),
      20_000,
    );
    assert.deepEqual(restarts, [1]);
    assert.equal(t1.epoch, 1);
    assert.equal(t1.restarts, 1);
    assert.notEqual(t1.pid, pid1);
    assert.equal(alive(pid1), false);
    const after = chunks.slice(countBefore);
    for (const id of ['v360', 'v240', 'a0']) {
      const list = of(id, after);
      const first = list[0]!;
      const last = lastBefore.get(id)!;
      assert.ok(
        hasFlag(first, ChunkFlags.DISCONTINUITY),
        `${id} first chunk after restart is a discontinuity`,
      );
      assert.ok(hasFlag(first, ChunkFlags.SEGMENT_START) && hasFlag(first, ChunkFlags.KEYFRAME));
      assert.ok(first.segment > last.segment, `${id}: ${first.segment} after ${last.segment}`);
      assert.ok(first.decodeTime >= last.decodeTime + last.duration);
      assert.ok(list.slice(1).every((c) => !hasFlag(c, ChunkFlags.DISCONTINUITY)));
      assertContiguous(list, id === 'a0' ? 'audio' : 'video');
      const keys = of(id).map((c) => `${c.segment}.${c.chunk}`);
      assert.equal(new Set(keys).size, keys.length, `${id}: no duplicate segment/chunk`);
    }
    // Both runs together still decode as one file (the tfdt rewrite is valid).
    decodeCheck(dir, 'v240-both-runs', inits.get('v240')!.init, of('v240'));

    // --- close twice: the ffmpeg process is gone
    const pid2 = t1.pid!;
    await Promise.all([t1.close(), t1.close()]);
    await t1.close();
    assert.equal(alive(pid2), false);
    assert.equal(t1.pid, undefined);
    assert.deepEqual(
      childFfmpegs().filter((pid) => pid !== publisher.pid),
      [],
      'no transcoder ffmpeg left',
    );
    const n = chunks.length;
    t1.write(early[0] ?? { type: 9, timestamp: 0, data: Buffer.alloc(2), receivedAt: Date.now() });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(chunks.length, n, 'nothing after close');
  },
);

test('a bad ffmpegPath is TRANSCODER_START_FAILED', async () => {
  await assert.rejects(
    Transcoder.start({
      stream: 'bad',
      options: defaultTranscodeOptions(),
      logger,
      ffmpegPath: '/nonexistent/bin/ffmpeg',
      restart: { maxRestarts: 1, backoffMs: 10 },
    }),
    (err) => errorCode(err) === 'TRANSCODER_START_FAILED',
  );
});

test('invalid options are refused before anything is spawned', async () => {
  await assert.rejects(
    Transcoder.start({
      stream: 'bad',
      options: { ...defaultTranscodeOptions(), chunkDurationMs: 500 },
      logger,
      restart: { maxRestarts: 1, backoffMs: 10 },
    }),
    (err) => errorCode(err) === 'CONFIG_INVALID',
  );
});

test(
  'repeated crashes beyond maxRestarts: fatal event, the transcoder closes itself, no ffmpeg left',
  { timeout: 30_000 },
  async () => {
    const t = await Transcoder.start({
      stream: 'crashy',
      options: defaultTranscodeOptions({ sourceHeight: 240 }),
      logger,
      restart: { maxRestarts: 1, backoffMs: 50 },
    });
    const restarts: number[] = [];
    const fatal: unknown[] = [];
    t.on('restart', (epoch) => restarts.push(epoch));
    t.on('fatal', (err) => fatal.push(err));
    const pid1 = t.pid!;
    process.kill(pid1, 'SIGKILL');
    await waitFor('a restart', () => restarts.length === 1, 10_000);
    const pid2 = t.pid!;
    assert.notEqual(pid2, pid1);
    process.kill(pid2, 'SIGKILL');
    await waitFor('the fatal event', () => fatal.length === 1, 10_000);
    assert.equal(errorCode(fatal[0]), 'TRANSCODER_DIED');
    assert.match((fatal[0] as Error).message, /2 times in a row/);
    await waitFor('the transcoder to close', () => t.closed && t.pid === undefined, 5_000);
    await t.close();
    assert.equal(alive(pid1), false);
    assert.equal(alive(pid2), false);
    assert.deepEqual(restarts, [1]);
  },
);

test('close() while a restart is spawning ffmpeg leaves no ffmpeg behind', { timeout: 30_000 }, async () => {
  for (const waitMs of [0, 20, 150]) {
    const t = await Transcoder.start({
      stream: 'closing',
      options: defaultTranscodeOptions({ sourceHeight: 240 }),
      logger,
      restart: { maxRestarts: 5, backoffMs: 0 },
    });
    assert.deepEqual(childFfmpegs(), [t.pid]);
    process.kill(t.pid!, 'SIGKILL');
    await waitFor('the run to end', () => t.pid === undefined, 5_000);
    await new Promise((r) => setTimeout(r, waitMs));
    await t.close();
    assert.deepEqual(childFfmpegs(), [], `after closing ${waitMs} ms into the restart`);
  }
});
