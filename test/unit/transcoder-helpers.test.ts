import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { pino } from 'pino';
import { SafeEmitter } from '../../src/ingress/transcoder/safe-emitter.js';
import { WallclockMap } from '../../src/ingress/transcoder/wallclock-map.js';

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

test('WallclockMap: nearest earlier frame, first frame for earlier times, bounded window', () => {
  const m = new WallclockMap(1000);
  assert.equal(m.lookup(0), undefined);
  m.add(0, 100);
  m.add(33, 140);
  m.add(67, 170);
  m.add(50, 999); // out of order: ignored
  assert.equal(m.lookup(-5), 100);
  assert.equal(m.lookup(0), 100);
  assert.equal(m.lookup(40), 140);
  assert.equal(m.lookup(66.7), 170); // rounding tolerance
  assert.equal(m.lookup(10_000), 170);
  for (let t = 100; t < 5000; t += 10) m.add(t, t);
  assert.ok(m.size <= 102);
  assert.equal(m.lookup(4500), 4500);
});
