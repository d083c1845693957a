/** SupervisedProcess beyond ffmpeg (test/integration/transcoder-ffmpeg-supervisor.test.ts covers the rest). */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { pino, type Logger } from 'pino';
import { errorCode } from '../../src/common/errors/index.js';
import { SupervisedProcess } from '../../src/common/process/supervised-process.js';

function capture(): { logger: Logger; text: () => string } {
  const raw: string[] = [];
  return {
    logger: pino({ level: 'trace' }, { write: (s: string) => raw.push(s) }),
    text: () => raw.join(''),
  };
}

test('a job ends by itself: wait() gives its exit, no died event; stderr and args are redacted', async () => {
  const { logger, text } = capture();
  const proc = await SupervisedProcess.spawn({
    command: '/bin/sh',
    args: ['-c', 'echo "using secret-123" >&2; exit 3', 'secret-123'],
    logger,
    job: true,
    startupWindowMs: 0,
    redact: (s) => s.replaceAll('secret-123', '[key]'),
  });
  let died = false;
  proc.on('died', () => (died = true));
  assert.deepEqual(await proc.wait(), { code: 3, signal: null });
  await proc.close();
  assert.equal(died, false);
  assert.equal(proc.lastLines(), 'using [key]');
  assert.doesNotMatch(text(), /secret-123/);
  assert.match(text(), /"msg":"sh"/);
});

test('default codes: PROCESS_START_FAILED for an exit in the startup window, PROCESS_DIED later', async () => {
  const { logger } = capture();
  await assert.rejects(
    SupervisedProcess.spawn({
      command: '/bin/sh',
      args: ['-c', 'echo bad >&2; exit 2'],
      logger,
      startupWindowMs: 1000,
    }),
    (err: Error) =>
      errorCode(err) === 'PROCESS_START_FAILED' && /code 2/.test(err.message) && /bad/.test(err.message),
  );
  const proc = await SupervisedProcess.spawn({
    command: '/bin/sh',
    args: ['-c', 'sleep 0.3; exit 1'],
    logger,
    startupWindowMs: 50,
  });
  const err = await new Promise<Error>((resolve) => proc.once('died', resolve));
  assert.equal(errorCode(err), 'PROCESS_DIED');
  await proc.close();
});
