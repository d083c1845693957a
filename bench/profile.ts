/**
 * `node --import tsx bench/profile.ts [--what=http|ws|ingress] [--n=300] [--seconds=10]`: runs the
 * fan-out rig with the edge and the ingress under `--cpu-prof`, loads it, and prints the functions with
 * the most self time (the profiles stay in bench/out/prof for Chrome DevTools). Used to explain misses.
 */
import { readdirSync, readFileSync, rmSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { startRig } from './fanout.js';
import { cleanupAll } from './lib/procs.js';
import { sleep } from './lib/stats.js';
import { run } from './lib/media-files.js';
import { STREAM } from './lib/tiercast.js';

const arg = (k: string, d: string) =>
  process.argv.find((a) => a.startsWith(`--${k}=`))?.slice(k.length + 3) ?? d;
const what = arg('what', 'http');
const n = Number(arg('n', '300'));
const seconds = Number(arg('seconds', '10'));
const dir = join(import.meta.dirname, 'out', 'prof');
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const ctx = { quick: false, pick: <T>(a: T) => a, log: (m: string) => process.stderr.write(`${m}\n`) };
const rig = await startRig(ctx, {
  edgeNodeArgs: [
    '--cpu-prof',
    `--cpu-prof-dir=${join(dir, 'edge')}`,
    ...(process.argv.includes('--perf') ? ['--perf-basic-prof'] : []),
  ],
  ingressNodeArgs: ['--cpu-prof', `--cpu-prof-dir=${join(dir, 'ingress')}`],
});
if (what === 'ws')
  await rig.load.request('ws', {
    group: 'p',
    url: `${rig.edge.url.replace('http', 'ws')}/live/${STREAM}/ws`,
    count: n,
  });
else if (what === 'http')
  await rig.load.request('dash', {
    group: 'p',
    edgeUrl: rig.edge.url,
    stream: STREAM,
    count: n,
    renditions: ['v720', 'a0'],
  });
else
  await rig.load.request('ws', {
    group: 'p',
    url: `${rig.edge.url.replace('http', 'ws')}/live/${STREAM}/ws`,
    count: 1,
  });
let perfOut = '';
if (process.argv.includes('--perf')) {
  // perf on the edge process too: kernel vs uWebSockets.js vs V8 (JIT frames named via --perf-basic-prof).
  await sleep(2000);
  const r = await run(
    'perf',
    [
      'record',
      '-F',
      '499',
      '-g',
      '-o',
      join(dir, 'edge.perf.data'),
      '-p',
      String(rig.edge.pid),
      '--',
      'sleep',
      String(seconds),
    ],
    { timeoutMs: (seconds + 30) * 1000 },
  );
  const rep = await run(
    'perf',
    [
      'report',
      '-i',
      join(dir, 'edge.perf.data'),
      '--no-children',
      '--sort',
      'dso,sym',
      '--stdio',
      '--percent-limit',
      '1.5',
      '-g',
      'none',
    ],
    { timeoutMs: 120_000 },
  );
  perfOut = `perf record: ${r.code}\n${rep.stdout
    .toString()
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .slice(0, 40)
    .join('\n')}`;
} else if (process.argv.includes('--strace')) {
  // Syscalls of the edge: how many writes per delivered chunk.
  await sleep(2000);
  const before = await rig.load.stats('p', true);
  void before;
  const r = await run(
    'timeout',
    ['-s', 'INT', String(seconds), 'strace', '-c', '-f', '-p', String(rig.edge.pid)],
    { timeoutMs: (seconds + 30) * 1000 },
  );
  const st = await rig.load.stats('p', true);
  perfOut = `strace -c over ${seconds} s (clients read ${(st.bytes / 1e6).toFixed(0)} MB, ${st.chunks} WS chunks, ${st.segments} HTTP segments):\n${r.stderr
    .split('\n')
    .filter((l) => !l.startsWith('strace:'))
    .slice(0, 12)
    .join('\n')}`;
} else await sleep(seconds * 1000);
await rig.close();
await cleanupAll();

if (perfOut) console.log(`\nedge (${what}, N=${n}):\n${perfOut}`);
interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount: number;
}
for (const role of ['edge', 'ingress']) {
  const files = readdirSync(join(dir, role))
    .map((f) => join(dir, role, f))
    .sort((a, b) => statSync(b).size - statSync(a).size);
  if (!files[0]) continue;
  const prof = JSON.parse(readFileSync(files[0], 'utf8')) as { nodes: Node[] };
  const total = prof.nodes.reduce((a, x) => a + x.hitCount, 0);
  const by = new Map<string, number>();
  for (const x of prof.nodes) {
    const f = x.callFrame;
    const key = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(src|node_modules)\//, '$1/')}:${f.lineNumber + 1}:${(f as { columnNumber?: number }).columnNumber ?? 0}`;
    by.set(key, (by.get(key) ?? 0) + x.hitCount);
  }
  console.log(`\n${role} (${what}, N=${n}): ${total} samples; top self time`);
  for (const [k, v] of [...by].sort((a, b) => b[1] - a[1]).slice(0, 22))
    console.log(`${((v / total) * 100).toFixed(1).padStart(5)} %  ${k}`);
}
