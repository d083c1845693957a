#!/usr/bin/env node
// Runs the test suites with Node's own test runner (through tsx, so tests are TypeScript).
// Usage: node scripts/run-tests.mjs [unit|integration|browser|netns ...]  (default: all tiers)
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const tiers = process.argv.slice(2).length
  ? process.argv.slice(2)
  : ['unit', 'integration', 'browser', 'netns'];
const files = [];
function walk(dir) {
  let entries = [];
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const e of entries.sort()) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) walk(p);
    else if (e.endsWith('.test.ts')) files.push(p);
  }
}
for (const t of tiers) walk(join('test', t));
if (files.length === 0) {
  console.error(`no test files found for ${tiers.join(', ')}`);
  process.exit(1);
}
// Integration tests own real ports and processes: run files one at a time.
const r = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files],
  {
    stdio: 'inherit',
  },
);
process.exit(r.status ?? 1);
