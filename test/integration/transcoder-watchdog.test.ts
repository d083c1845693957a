/**
 * The transcoder's stall watchdog with real ffmpeg on both sides: the transcoder's ffmpeg is stopped
 * (SIGSTOP: alive, silent) and must be noticed, killed and replaced, with the timeline continuing.
 * StallWatchdog's rules (fed vs. publisher pause) are checked with a fake clock.
 */
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { ChunkFlags, hasFlag, type MediaChunk } from '../../src/common/media.js';
import { isSequenceHeader, isVideoKeyframe, type FlvTag } from '../../src/ingress/flv/flv-tag.js';
import { defaultTranscodeOptions } from '../../src/ingress/transcoder/ladder.js';
import { StallWatchdog } from '../../src/ingress/transcoder/stall-watchdog.js';
import { Transcoder } from '../../src/ingress/transcoder/transcoder.js';
import { FlvReader } from '../fixtures/transcoder/flv-reader.js';

const PUBLISHER_ARGS = [
  '-hide_banner', '-loglevel', 'error', '-nostdin',
  '-re', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=30', '-f', 'lavfi', '-i', 'sine',
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

async function waitFor(what: string, cond: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test(
  'an ffmpeg stopped with SIGSTOP is killed and replaced; chunks continue on the same timeline',
  { timeout: 90_000 },
  async (t) => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(s) });
    const publisher: ChildProcess = spawn('ffmpeg', PUBLISHER_ARGS, { stdio: ['ignore', 'pipe', 'inherit'] });
    const live: { transcoder?: Transcoder } = {};
    const stopped: number[] = [];
    t.after(async () => {
      publisher.kill('SIGKILL');
      for (const pid of stopped) if (alive(pid)) process.kill(pid, 'SIGKILL');
      await live.transcoder?.close();
    });
    const early: FlvTag[] = [];
    const reader = new FlvReader();
    publisher.stdout!.on('data', (data: Buffer) => {
      for (const tag of reader.push(data)) {
        if (live.transcoder) live.transcoder.write(tag);
        else early.push(tag);
      }
    });
    await waitFor('a keyframe', () => early.some((x) => isVideoKeyframe(x) && !isSequenceHeader(x)), 10_000);
    const source = Transcoder.probeSource(early);
    const chunks: MediaChunk[] = [];
    const restarts: number[] = [];
    const tr = await Transcoder.start({
      stream: 'wd',
      options: defaultTranscodeOptions({ sourceHeight: source.height }),
      logger,
      restart: { maxRestarts: 3, backoffMs: 100 },
      source,
      stallTimeoutMs: 2000,
    });
    tr.on('chunk', (c) => chunks.push(c));
    tr.on('restart', (epoch) => restarts.push(epoch));
    live.transcoder = tr;
    for (const tag of early.splice(0)) tr.write(tag);
    const video = (list = chunks) => list.filter((c) => c.rendition === 'v240');
    await waitFor('~2 s of chunks', () => video().some((c) => c.segment >= 2), 30_000);

    const pid1 = tr.pid!;
    stopped.push(pid1);
    process.kill(pid1, 'SIGSTOP');
    const lastBefore = video().at(-1)!;
    const countBefore = chunks.length;
    await waitFor('the watchdog restart', () => restarts.length === 1, 15_000);
    await waitFor('chunks from the new ffmpeg', () => video(chunks.slice(countBefore)).length >= 10, 20_000);

    assert.notEqual(tr.pid, pid1, 'a new ffmpeg');
    await waitFor('the stopped ffmpeg is gone', () => !alive(pid1), 5000);
    const after = video(chunks.slice(countBefore));
    const first = after[0]!;
    assert.ok(
      hasFlag(first, ChunkFlags.DISCONTINUITY),
      'the first chunk after the restart is a discontinuity',
    );
    assert.ok(first.segment > lastBefore.segment, `segment ${first.segment} after ${lastBefore.segment}`);
    assert.ok(first.decodeTime >= lastBefore.decodeTime + lastBefore.duration, 'the timeline continues');
    const log = lines.join('');
    assert.match(log, /"code":"TRANSCODER_STALLED"/);
  },
);

void describe('StallWatchdog', () => {
  function clock() {
    let now = 0;
    const stalls: number[] = [];
    const w = new StallWatchdog({ timeoutMs: 1000, now: () => now, onStall: (ms) => stalls.push(ms) });
    return { w, stalls, at: (ms: number) => (now = ms) };
  }

  void test('fires once when fed without output for the timeout', () => {
    const { w, stalls, at } = clock();
    for (let ms = 0; ms <= 1200; ms += 100) {
      at(ms);
      w.fed();
      w.check();
    }
    assert.equal(stalls.length, 1);
    at(5000);
    w.fed();
    w.check();
    assert.equal(stalls.length, 1);
    w.close();
  });

  void test('output resets it; a publisher pause is not a stall', () => {
    const { w, stalls, at } = clock();
    for (let ms = 0; ms <= 5000; ms += 100) {
      at(ms);
      w.fed();
      if (ms % 500 === 0) w.produced();
      w.check();
    }
    at(5100);
    w.fed(); // one frame, then the publisher stops sending
    at(9000);
    w.check();
    at(9100);
    w.fed(); // it comes back: the wait starts again
    w.check();
    assert.deepEqual(stalls, []);
    w.close();
  });
});
