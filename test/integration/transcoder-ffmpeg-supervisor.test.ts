import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { errorCode, type ProcessError } from '../../src/common/errors/index.js';
import { FfmpegProcess } from '../../src/ingress/transcoder/ffmpeg-supervisor.js';

function captureLogger(): {
  logger: Logger;
  lines: () => { level: number; msg: string; line?: string; pid?: number }[];
} {
  const raw: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => raw.push(s) });
  return {
    logger,
    lines: () => raw.map((l) => JSON.parse(l) as { level: number; msg: string; line?: string; pid?: number }),
  };
}

function nextDied(proc: FfmpegProcess): Promise<ProcessError> {
  return new Promise((resolve) => proc.once('died', resolve));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// Real-time generator that runs until stopped; writes nothing to our pipes.
const LONG_RUNNING = [
  '-hide_banner',
  '-nostdin',
  '-re',
  '-f',
  'lavfi',
  '-i',
  'anullsrc=r=8000:cl=mono',
  '-f',
  'null',
  '-',
];

test('a missing binary is TRANSCODER_START_FAILED (spawn error)', async () => {
  const { logger } = captureLogger();
  await assert.rejects(
    FfmpegProcess.start({ args: [], ffmpegPath: '/nonexistent/ffmpeg', outputPipes: 1, logger }),
    (err: ProcessError) => errorCode(err) === 'TRANSCODER_START_FAILED' && /ENOENT/.test(err.message),
  );
});

test('bad arguments are TRANSCODER_START_FAILED with ffmpeg last stderr lines in the message', async () => {
  const { logger } = captureLogger();
  await assert.rejects(
    FfmpegProcess.start({
      args: ['-hide_banner', '-no_such_option', '1'],
      outputPipes: 0,
      logger,
      startupWindowMs: 2000,
    }),
    (err: ProcessError) =>
      errorCode(err) === 'TRANSCODER_START_FAILED' &&
      /no_such_option/.test(err.message) &&
      /code 1/.test(err.message),
  );
});

test('a crash after startup is a typed died event (TRANSCODER_DIED with the signal); stderr logged with the pid', async () => {
  const { logger, lines } = captureLogger();
  const proc = await FfmpegProcess.start({ args: LONG_RUNNING, outputPipes: 1, logger });
  assert.ok(alive(proc.pid));
  const died = nextDied(proc);
  // A throwing listener must not prevent the others from running nor crash the process.
  proc.on('died', () => {
    throw new Error('listener bug');
  });
  await new Promise((r) => setTimeout(r, 1500));
  assert.ok(proc.speed !== undefined && proc.speed > 0.5 && proc.speed < 2, `speed ${proc.speed}`);
  process.kill(proc.pid, 'SIGKILL');
  const err = await died;
  assert.equal(errorCode(err), 'TRANSCODER_DIED');
  assert.equal(err.context.signal, 'SIGKILL');
  assert.equal(err.context.pid, proc.pid);
  assert.ok(proc.exited);
  const logged = lines();
  assert.ok(logged.some((l) => l.msg === 'event listener threw'));
  assert.ok(logged.some((l) => l.msg === 'ffmpeg' && l.pid === proc.pid && /Input #0/.test(l.line ?? '')));
  await proc.close();
});

test('close() is idempotent, does not report died, and leaves no process', async () => {
  const { logger } = captureLogger();
  const proc = await FfmpegProcess.start({ args: LONG_RUNNING, outputPipes: 2, logger });
  let died = false;
  proc.on('died', () => {
    died = true;
  });
  const pid = proc.pid;
  await Promise.all([proc.close(), proc.close()]);
  await proc.close();
  assert.equal(died, false);
  assert.equal(alive(pid), false);
});

test('close() escalates to SIGKILL when SIGTERM is ignored', async () => {
  const { logger, lines } = captureLogger();
  // Not ffmpeg, but the same contract: a child that traps SIGTERM.
  const proc = await FfmpegProcess.start({
    ffmpegPath: '/bin/sh',
    args: ['-c', 'trap "" TERM; while :; do sleep 0.05; done'],
    outputPipes: 0,
    logger,
    killTimeoutMs: 300,
  });
  const t0 = Date.now();
  await proc.close();
  const elapsed = Date.now() - t0;
  assert.ok(elapsed >= 250 && elapsed < 2000, `closed after ${elapsed} ms`);
  assert.equal(alive(proc.pid), false);
  assert.ok(lines().some((l) => /SIGKILL/.test(l.msg)));
});

test('an error line from ffmpeg is logged at warn', async () => {
  const { logger, lines } = captureLogger();
  const proc = await FfmpegProcess.start({
    args: ['-hide_banner', '-loglevel', 'level+info', '-f', 'flv', '-i', 'pipe:0', '-f', 'null', '-'],
    outputPipes: 0,
    logger,
  });
  const died = nextDied(proc);
  proc.stdin.end(Buffer.from('definitely not flv'));
  assert.equal(errorCode(await died), 'TRANSCODER_DIED');
  assert.ok(
    lines().some((l) => l.level === 40 && l.msg === 'ffmpeg' && /\[(error|fatal)\]/.test(l.line ?? '')),
  );
  await proc.close();
});

test('broken H.264 makes ffmpeg print hundreds of errors: the log gets a bounded number plus a suppressed count', async () => {
  // A stream whose packets are corrupted by ffmpeg's noise bitstream filter, as a faulty encoder sends.
  const dir = mkdtempSync(join(tmpdir(), 'tiercast-broken-'));
  try {
    const file = join(dir, 'broken.h264');
    // prettier-ignore
    const made = spawnSync('ffmpeg', [
      '-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=30', '-t', '4',
      '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '30', '-bsf:v', 'noise=amount=200', '-f', 'h264', file,
    ]);
    assert.equal(made.status, 0, String(made.stderr));
    const { logger, lines } = captureLogger();
    const proc = await FfmpegProcess.start({
      args: ['-hide_banner', '-nostdin', '-loglevel', 'level+info', '-i', file, '-f', 'null', '-'],
      outputPipes: 0,
      logger,
      startupWindowMs: 50,
    });
    const died = nextDied(proc);
    await died; // it decodes the whole file and exits
    await proc.close();
    const logged = lines();
    const errors = logged.filter((l) => l.msg === 'ffmpeg' && /\[error\]/.test(l.line ?? ''));
    const summaries = logged.filter((l) => (l as { code?: string }).code === 'LOG_LINES_SUPPRESSED');
    const suppressed = summaries.reduce((n, l) => n + ((l as { suppressed?: number }).suppressed ?? 0), 0);
    assert.ok(errors.length > 0 && errors.length <= 50, `error lines logged: ${errors.length}`);
    assert.ok(suppressed >= 100, `suppressed ${suppressed}`);
    assert.ok(proc.lastLines().includes('[error]'), 'the tail for error messages is complete');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
