import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { pino, type Logger } from 'pino';
import { SafeEmitter, callSafely } from '../../src/common/events/safe-emitter.js';

function capture(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: pino({ level: 'error' }, { write: (s: string) => lines.push(s) }), lines };
}

test('SafeEmitter: a throwing listener is logged and the others still run; once() runs once', () => {
  const lines: string[] = [];
  const logger = pino({ level: 'error' }, { write: (s: string) => lines.push(s) });
  class E extends SafeEmitter<{ x: [n: number] }> {
    fire(n: number): boolean {
      return this.safeEmit('x', n);
    }
  }
  const e = new E(logger);
  const seen: number[] = [];
  e.on('x', () => {
    throw new Error('boom');
  });
  e.on('x', (n) => seen.push(n));
  e.once('x', (n) => seen.push(n * 10));
  assert.equal(e.fire(1), true);
  assert.equal(e.fire(2), true);
  assert.deepEqual(seen, [1, 10, 2]);
  assert.equal(lines.length, 2);
  assert.match(lines[0]!, /event listener threw/);
  assert.match(lines[0]!, /boom/);
  assert.equal(e.listenerCount('x'), 2);
});

test('SafeEmitter: on/once return an unsubscribe; off removes; a throwing listener is logged with the context', () => {
  const { logger, lines } = capture();
  const e = new SafeEmitter<{ dir: [names: string[]]; lost: [stream: string] }>(logger, { stream: 'alice' });
  const seen: string[] = [];
  const a = (names: string[]) => seen.push(`a:${names.join(',')}`);
  const offA = e.on('dir', a);
  const offOnce = e.once('dir', (names) => seen.push(`once:${names.length}`));
  e.on('lost', () => {
    throw new Error('bug in a listener');
  });
  offOnce();
  assert.equal(e.safeEmit('dir', ['x', 'y']), true);
  assert.deepEqual(seen, ['a:x,y']);
  offA();
  offA(); // idempotent
  assert.equal(e.safeEmit('dir', ['z']), false);
  assert.equal(e.listenerCount('dir'), 0);
  assert.doesNotThrow(() => e.safeEmit('lost', 'alice'));
  const logged = JSON.parse(lines[0]!) as {
    msg: string;
    event: string;
    stream: string;
    err: { message: string };
  };
  assert.equal(logged.msg, 'event listener threw');
  assert.equal(logged.event, 'lost');
  assert.equal(logged.stream, 'alice');
  assert.equal(logged.err.message, 'bug in a listener');
  const b = () => seen.push('b');
  e.on('dir', b);
  e.off('dir', b);
  e.removeAllListeners();
  assert.equal(e.safeEmit('lost', 'alice'), false);
  assert.deepEqual(seen, ['a:x,y']);
});

test('SafeEmitter: the same function added twice is two registrations; each unsubscribe removes its own', () => {
  const { logger } = capture();
  const e = new SafeEmitter<{ x: [] }>(logger);
  let n = 0;
  const f = () => n++;
  const off1 = e.on('x', f);
  e.once('x', f);
  off1();
  e.safeEmit('x');
  e.safeEmit('x');
  assert.equal(n, 1);
});

test('callSafely: returns whether the call completed; logs with context, or stays silent without a logger', () => {
  const { logger, lines } = capture();
  assert.equal(
    callSafely(logger, 'sink threw', { stream: 's' }, () => undefined),
    true,
  );
  assert.equal(
    callSafely(logger, 'sink threw', { stream: 's' }, () => {
      throw new Error('x');
    }),
    false,
  );
  assert.equal(
    callSafely(undefined, 'sink threw', {}, () => {
      throw new Error('y');
    }),
    false,
  );
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /"stream":"s".*"msg":"sink threw"/);
});
