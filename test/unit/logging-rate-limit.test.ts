import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { LogRateLimiter, createLogRateLimiter, repeatKey } from '../../src/common/logging/rate-limit.js';

function limiter(maxPerWindow: number, windowMs: number, maxKeys?: number) {
  let t = 1000;
  const reports: Array<[string, number]> = [];
  const l = new LogRateLimiter({
    maxPerWindow,
    windowMs,
    maxKeys,
    now: () => t,
    onSuppressed: (key, n) => reports.push([key, n]),
  });
  return { l, reports, advance: (ms: number) => (t += ms) };
}

void describe('LogRateLimiter', () => {
  void it('lets N lines per key through per window and reports the rest once', () => {
    const { l, reports, advance } = limiter(3, 1000);
    const passed = Array.from({ length: 100 }, () => l.allow('a')).filter(Boolean).length;
    assert.equal(passed, 3);
    assert.equal(l.allow('b'), true, 'another key has its own budget');
    assert.deepEqual(reports, []);
    advance(1000);
    l.flush();
    assert.deepEqual(reports, [['a', 97]]);
    assert.equal(l.allow('a'), true, 'a new window');
    l.close();
  });

  void it('reports the previous window when the next line of the key arrives', () => {
    const { l, reports, advance } = limiter(1, 500);
    l.allow('x');
    l.allow('x');
    l.allow('x');
    advance(600);
    assert.equal(l.allow('x'), true);
    assert.deepEqual(reports, [['x', 2]]);
    l.close();
  });

  void it('bounds the keys it tracks, reporting what an evicted key suppressed', () => {
    const { l, reports } = limiter(1, 10_000, 2);
    l.allow('a');
    l.allow('a');
    l.allow('b');
    l.allow('c'); // evicts a
    assert.deepEqual(reports, [['a', 1]]);
    l.close();
    assert.deepEqual(reports, [['a', 1]], 'b and c suppressed nothing');
  });

  void it('close() reports pending counts, is idempotent, and a throwing reporter is contained', () => {
    let calls = 0;
    const l = new LogRateLimiter({
      maxPerWindow: 0,
      windowMs: 60_000,
      onSuppressed: () => {
        calls++;
        throw new Error('reporter bug');
      },
    });
    assert.equal(l.allow('k'), false);
    l.close();
    l.close();
    assert.equal(calls, 1);
  });

  void it('createLogRateLimiter logs a structured summary line with a code, never a `key` field', () => {
    const lines: string[] = [];
    const logger = pino({ redact: ['key'] }, { write: (s: string) => void lines.push(s) });
    const l = createLogRateLimiter(logger, { maxPerWindow: 2, windowMs: 1000, what: 'ffmpeg lines' });
    for (let i = 0; i < 10; i++) l.allow('same line');
    l.close();
    assert.equal(lines.length, 1);
    const rec = JSON.parse(lines[0]!) as Record<string, unknown>;
    assert.equal(rec.code, 'LOG_LINES_SUPPRESSED');
    assert.equal(rec.suppressed, 8);
    assert.equal(rec.repeated, 'same line');
    assert.equal(rec.msg, 'ffmpeg lines suppressed');
  });

  void it('repeatKey makes ffmpeg warnings that differ only in addresses and numbers one key', () => {
    assert.equal(
      repeatKey('[h264 @ 0x55d0a1b2c3d0] error while decoding MB 12 34, bytestream -5'),
      repeatKey('[h264 @ 0x55d0a1b2f000] error while decoding MB 7 9, bytestream -12'),
    );
    assert.notEqual(
      repeatKey('[h264 @ 0x1] no frame!'),
      repeatKey('[h264 @ 0x1] error while decoding MB 1 2'),
    );
  });
});
