/**
 * docs/errors.md lists exactly the codes of src/common/errors/codes.ts: each of its three code tables is
 * one group of the list (a code missing from the doc, or a documented code the code does not know, fails),
 * and every WebSocket close code tiercast names is in the close-code table.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import {
  API_ERROR_CODES,
  CHAT_NOTICE_CODES,
  ERROR_CODES,
  NODE_ERROR_CODES,
  isErrorCode,
} from '../../src/common/errors/index.js';
import { CloseCode } from '../../src/common/protocol/close-codes.js';

const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');

/** The doc's sections by heading: the untitled first one is the nodes' table. */
function section(heading: string | undefined): string {
  const parts = doc.split(/^## /m);
  if (heading === undefined) return parts[0]!;
  const part = parts.find((p) => p.startsWith(`${heading}\n`));
  assert.ok(part, `docs/errors.md has a "## ${heading}" section`);
  return part;
}

/** The codes in the first cell of each table row (a cell may name several: "`EMPTY_MESSAGE`, `MESSAGE_TOO_LONG`"). */
function documented(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const cell = /^\|([^|]*)\|/.exec(line)?.[1];
    if (!cell) continue;
    for (const m of cell.matchAll(/`([^`]+)`/g)) out.push(m[1]!);
  }
  return out;
}

function sameSet(actual: string[], expected: readonly string[], what: string): void {
  const missing = expected.filter((c) => !actual.includes(c));
  const unknown = actual.filter((c) => !expected.includes(c));
  assert.deepEqual({ missing, unknown }, { missing: [], unknown: [] }, what);
  assert.equal(new Set(actual).size, actual.length, `${what}: a code listed twice`);
}

test('the nodes table lists exactly NODE_ERROR_CODES', () => {
  sameSet(documented(section(undefined)), NODE_ERROR_CODES, 'docs/errors.md, first table');
});

test('"Hub and API codes" lists exactly API_ERROR_CODES', () => {
  sameSet(documented(section('Hub and API codes')), API_ERROR_CODES, 'docs/errors.md, Hub and API codes');
});

test('"Chat notice codes" lists exactly CHAT_NOTICE_CODES', () => {
  sameSet(documented(section('Chat notice codes')), CHAT_NOTICE_CODES, 'docs/errors.md, Chat notice codes');
});

test('every close code in close-codes.ts is in the close-code table', () => {
  const rows = section('WebSocket close codes')
    .split('\n')
    .map((l) => /^\| (\d{4}) \|/.exec(l)?.[1])
    .filter((c): c is string => c !== undefined)
    .map(Number);
  for (const [name, code] of Object.entries(CloseCode))
    assert.ok(rows.includes(code), `close code ${name} (${code}) documented`);
});

test('ERROR_CODES is the union of the groups, each code once; isErrorCode knows them and nothing else', () => {
  assert.deepEqual(
    [...ERROR_CODES].sort(),
    [...new Set([...NODE_ERROR_CODES, ...API_ERROR_CODES, ...CHAT_NOTICE_CODES])].sort(),
  );
  for (const c of ERROR_CODES) assert.ok(/^[A-Z][A-Z0-9_]+$/.test(c), c);
  assert.equal(isErrorCode('STREAM_NOT_FOUND'), true);
  assert.equal(isErrorCode('SQLITE_CONSTRAINT_UNIQUE'), false);
});
