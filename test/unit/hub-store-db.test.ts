import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toPositional } from '../../src/hub/store/db.js';

test('? placeholders become $1, $2… in order; quoted text and comments are left alone', () => {
  const p = toPositional(
    `SELECT '?', "a?b", x -- is it? @no\n FROM t WHERE a = ? AND b = 'it''s ?' AND c = ?`,
  );
  assert.equal(
    p.text,
    `SELECT '?', "a?b", x -- is it? @no\n FROM t WHERE a = $1 AND b = 'it''s ?' AND c = $2`,
  );
  assert.deepEqual(p.values(['x', 2]), ['x', 2]);
  assert.throws(() => p.values(['x']), /takes 2 values, got 1/);
});

test('@name placeholders are numbered once each, and values come from one object', () => {
  const p = toPositional(
    'INSERT INTO c (id, seq) VALUES (@id, @seq) ON CONFLICT (id) DO UPDATE SET seq = @seq WHERE x < @id - 1',
  );
  assert.equal(
    p.text,
    'INSERT INTO c (id, seq) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET seq = $2 WHERE x < $1 - 1',
  );
  assert.deepEqual(p.values([{ seq: 5, id: 7, extra: 'ignored' }]), [7, 5]);
  assert.throws(() => p.values([{ id: 7 }]), /missing named parameter "seq"/);
  assert.throws(() => p.values([7, 5]), /takes one object/);
  assert.throws(() => toPositional('SELECT ? + @a'), /both \? and @name/);
  assert.equal(toPositional('SELECT 1').text, 'SELECT 1');
});
