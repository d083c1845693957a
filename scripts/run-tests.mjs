#!/usr/bin/env node
// Runs the test suites with Node's own test runner (through tsx, so tests are TypeScript).
// Usage: node scripts/run-tests.mjs [unit|integration|browser|netns ...]  (default: all tiers)
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const tiers = process.argv.slice(2).length
  ? process.argv.slice(2)
  : ['unit', 'integration', 'browser', 'netns'];
/** Test files of one tier, in name order. */
function filesOf(tier) {
  const found = [];
  const walk = (dir) => {
    let entries = [];
    try {
      entries = readdirSync(dir);
    } catch {
      return;
    }
    for (const e of entries.sort()) {
      const p = join(dir, e);
      if (statSync(p).isDirectory()) walk(p);
      else if (e.endsWith('.test.ts')) found.push(p);
    }
  };
  walk(join('test', tier));
  return found;
}

// Integration files that must run alone: they judge timing under load (an alert on hop latency; passthrough's
// Source stream must keep flowing through its own huge-frames publish), take the default ports (`node-role
// all`), or keep both cores busy themselves (restream: a publisher, the ladder and the output's ffmpeg; beside
// passthrough it starved that file's Source stream, and other neighbours did so in later full runs). The others
// spend most of their time waiting on the processes they start, on ports of their own (port 0): two at a time.
const INTEGRATION = join('test', 'integration');
const ALONE = new Set(
  ['cli.test.ts', 'monitoring-prometheus.test.ts', 'passthrough.test.ts', 'restream.test.ts'].map((f) =>
    join(INTEGRATION, f),
  ),
);
const sharesTheMachine = (f) => f.startsWith(INTEGRATION) && !ALONE.has(f);

// Files with a known intermittent failure on a loaded machine, tied to an open issue: run after everything
// else, and once more if they fail; the first failure stays in the output with the reason. Nothing else is
// ever retried.
const QUARANTINE = new Map([
  [
    join('test', 'browser', 'p2p-delivery.test.ts'),
    'issue 13: on a starved machine a page may fetch every chunk from the edge before its peers deliver (none from peers in the window)',
  ],
]);

// Unit tests own no ports or processes: two files at a time (this machine has two cores). Then the
// integration files that share the machine well, two at a time; then, one at a time, the integration files
// that must run alone and the browser and netns tiers (Chromium's pictures are judged by the frame).
const later = tiers.filter((t) => t !== 'unit').flatMap(filesOf);
const groups = [
  { files: tiers.includes('unit') ? filesOf('unit') : [], concurrency: 2 },
  { files: later.filter(sharesTheMachine), concurrency: 2 },
  { files: later.filter((f) => !sharesTheMachine(f) && !QUARANTINE.has(f)), concurrency: 1 },
  ...later
    .filter((f) => QUARANTINE.has(f))
    .map((f) => ({ files: [f], concurrency: 1, retry: QUARANTINE.get(f) })),
].filter((g) => g.files.length > 0);
if (groups.length === 0) {
  console.error(`no test files found for ${tiers.join(', ')}`);
  process.exit(1);
}
const runGroup = (g) =>
  spawnSync(
    process.execPath,
    ['--import', 'tsx', '--test', `--test-concurrency=${g.concurrency}`, '--test-reporter=spec', ...g.files],
    { stdio: 'inherit' },
  ).status ?? 1;
let status = 0;
for (const g of groups) {
  let s = runGroup(g);
  if (s !== 0 && g.retry) {
    console.log(
      `\nrun-tests: ${g.files.join(' ')} FAILED on its first run (${g.retry}); running it once more\n`,
    );
    s = runGroup(g);
    console.log(`run-tests: ${g.files.join(' ')} ${s === 0 ? 'passed on its second run' : 'FAILED again'}`);
  }
  status ||= s;
}
process.exit(status);
