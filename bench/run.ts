/**
 * `npm run bench`: tiercast against nginx-rtmp, on this machine, in one run. Prints a table and writes
 * docs/benchmarks.md with the plots beside it (docs/bench-*.svg).
 *
 *   npm run bench                      the full run (under 15 minutes)
 *   npm run bench -- --quick           every measurement, shorter and smaller (under 2 minutes)
 *   npm run bench -- --only=g2g,fanout run some measurements (g2g, source, ingest, hop, memory, transcode, recording, restream, analytics, failover, p2p, fanout, ttff, slow);
 *                                      with --no-write while trying things: otherwise docs/ gets only those
 *   npm run bench -- --only=g2g --merge  re-run some measurements and put them into the last full run
 *                                      (bench/out/last-run.json) and docs/benchmarks.md, marked as re-run
 *   npm run bench -- --no-write        print only; leave docs/ alone
 *   npm run bench -- --chunk-ms=33     every ingress it starts packages chunks of this duration (default:
 *                                      the product's, 200 ms): to compare chunk sizes, with --no-write
 *   npm run bench -- --render          rewrite docs/benchmarks.md from the last run (bench/out/last-run.json),
 *                                      e.g. after editing bench/analysis.md
 *
 * Everything it starts it stops, also on failure or Ctrl-C.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { collectEnvironment, mergeIntoMarkdown, refreshAnalysis, renderMarkdown } from './lib/environment.js';
import type { BenchContext } from './lib/context.js';
import { cleanupAll, killAllSync, systemCpuTicks } from './lib/procs.js';
import { ensurePeerInstalled } from './lib/peer.js';
import { svgPlot, textTable, type SectionResult } from './lib/report.js';
import { g2gLatency } from './g2g-latency.js';
import { hopLatency } from './hop-latency.js';
import { fanout, startRig, type Rig } from './fanout.js';
import { memory } from './memory.js';
import { ttff } from './ttff.js';
import { p2pOffload } from './p2p-offload.js';
import { transcodeCost } from './transcode-cost.js';
import { slowConsumers } from './slow-consumers.js';
import { edgeFailover } from './failover.js';
import { sourceG2g } from './source-g2g.js';
import { browserIngest } from './browser-ingest.js';
import { restream } from './restream.js';
import { analytics } from './analytics.js';
import { recording } from './recording.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const write = !args.includes('--no-write');
const merge = args.includes('--merge');
const only = args
  .find((a) => a.startsWith('--only='))
  ?.slice(7)
  .split(',')
  .filter(Boolean);
const chunkMs = args.find((a) => a.startsWith('--chunk-ms='))?.slice(11);
if (chunkMs) process.env.TIERCAST_BENCH_CHUNK_MS = chunkMs; // read by startIngressProc (lib/tiercast.ts)
const started = Date.now();
const log = (m: string) =>
  process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${m}\n`);
const ctx: BenchContext = { quick, pick: (full, q) => (quick ? q : full), log };

type Measurement = (c: BenchContext, rig: Rig) => Promise<Omit<SectionResult, 'seconds'>>;
/** The last three share one rig (ingress + edge + peer + load generator), started once. */
const all: Array<[string, Measurement, boolean]> = [
  ['g2g', (c) => g2gLatency(c, {}), false],
  ['source', sourceG2g, false],
  ['ingest', browserIngest, false],
  ['hop', hopLatency, false],
  ['memory', memory, false],
  ['transcode', transcodeCost, false],
  ['recording', recording, false],
  ['restream', restream, false],
  ['analytics', analytics, false],
  ['failover', edgeFailover, false],
  ['p2p', p2pOffload, false],
  ['fanout', fanout, true],
  ['ttff', ttff, true],
  ['slow', slowConsumers, true],
];
const chosen = all.filter(([n]) => !only || only.includes(n));
if (only)
  for (const n of only)
    if (!all.some(([a]) => a === n))
      throw new Error(`unknown measurement ${n}; known: ${all.map(([a]) => a).join(', ')}`);

let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (interrupted) process.exit(1);
    interrupted = true;
    log(`${sig}: stopping everything…`);
    void cleanupAll().finally(() => process.exit(130));
  });
}
process.on('exit', killAllSync);

const LAST_RUN = join(import.meta.dirname, 'out', 'last-run.json');

function writeDocs(o: Parameters<typeof renderMarkdown>[0]): void {
  const docs = join(import.meta.dirname, '..', 'docs');
  for (const r of o.results) for (const p of r.plots) writeFileSync(join(docs, p.file), svgPlot(p));
  writeFileSync(join(docs, 'benchmarks.md'), renderMarkdown(o));
  log(`wrote docs/benchmarks.md and ${o.results.reduce((a, r) => a + r.plots.length, 0)} plots`);
}

async function main(): Promise<void> {
  if (args.includes('--render')) {
    writeDocs(JSON.parse(readFileSync(LAST_RUN, 'utf8')) as Parameters<typeof renderMarkdown>[0]);
    return;
  }
  await ensurePeerInstalled(log);
  const env = await collectEnvironment();
  const results: SectionResult[] = [];
  // What the machine was doing before we started (other engineers' jobs share it).
  const bg0 = systemCpuTicks();
  await new Promise((r) => setTimeout(r, 2000));
  const bg1 = systemCpuTicks();
  const background = (bg1.busy - bg0.busy) / Math.max(1, bg1.total - bg0.total);
  log(`machine busy before the run: ${(background * 100).toFixed(0)} %`);
  const busy0 = systemCpuTicks();
  let rig: Rig | undefined;
  for (const [i, [name, fn, usesRig]] of chosen.entries()) {
    const t0 = Date.now();
    log(`── ${name}`);
    try {
      if (usesRig && !rig) rig = await startRig(ctx);
      const r = await fn(ctx, rig!);
      results.push({ ...r, seconds: (Date.now() - t0) / 1000 });
    } catch (err) {
      log(`${name} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      results.push({
        name,
        rows: [],
        notes: [],
        plots: [],
        seconds: (Date.now() - t0) / 1000,
        error: err instanceof Error ? err.message : String(err),
      });
      rig = undefined;
      await cleanupAll();
    }
    if (!usesRig || !chosen[i + 1]?.[2]) {
      await rig?.close();
      rig = undefined;
      await cleanupAll();
    }
  }
  const busy1 = systemCpuTicks();
  const machineBusy = (busy1.busy - busy0.busy) / Math.max(1, busy1.total - busy0.total);
  const rows = results.flatMap((r) => r.rows);
  const took = (Date.now() - started) / 1000;
  process.stdout.write(
    `\ntiercast vs nginx-rtmp — ${env.date} — ${env.cpu}, ${env.cores} cores — ${quick ? 'quick' : 'full'} run${chunkMs ? `, ${chunkMs} ms chunks` : ''}, ${took.toFixed(0)} s\n\n${textTable(rows)}\n`,
  );
  for (const r of results) for (const n of r.notes) process.stdout.write(`\n${r.name}: ${n}\n`);
  for (const r of results) if (r.error) process.stdout.write(`\n${r.name} FAILED: ${r.error}\n`);
  const run = { env, results, quick, took, machineBusy, background, args };
  // Only a complete run replaces the record --render works from (and docs/benchmarks.md).
  if (write && !only) {
    mkdirSync(join(import.meta.dirname, 'out'), { recursive: true });
    writeFileSync(LAST_RUN, JSON.stringify(run));
  }
  if (write && only && merge && !existsSync(LAST_RUN)) {
    // A new machine: no record of the full run here, so the fresh sections go into the published page.
    const docs = join(import.meta.dirname, '..', 'docs');
    for (const r of results) for (const p of r.plots) writeFileSync(join(docs, p.file), svgPlot(p));
    const page = join(docs, 'benchmarks.md');
    writeFileSync(
      page,
      refreshAnalysis(mergeIntoMarkdown(readFileSync(page, 'utf8'), { env, results, names: only })),
    );
    log('merged the fresh sections into docs/benchmarks.md (no bench/out/last-run.json on this machine)');
  } else if (write && only && merge) {
    const last = JSON.parse(readFileSync(LAST_RUN, 'utf8')) as typeof run & {
      rerun?: Array<{ names: string[]; date: string }>;
    };
    const fresh = new Map(results.map((r) => [r.name, { ...r, ranAt: env.date }]));
    const merged = {
      ...last,
      results: last.results.map((r) => fresh.get(r.name) ?? r),
      rerun: [...(last.rerun ?? []), { names: only, date: env.date }],
    };
    for (const r of fresh.values()) if (!last.results.some((l) => l.name === r.name)) merged.results.push(r);
    writeFileSync(LAST_RUN, JSON.stringify(merged));
    writeDocs(merged);
  } else if (write) writeDocs(run);
}

try {
  await main();
} finally {
  await cleanupAll();
}
