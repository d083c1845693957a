/** The machine, the versions and the date of a run, and docs/benchmarks.md rendered from the results. */
import { existsSync, readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { run } from './media-files.js';
import { markdownTable, type SectionResult } from './report.js';

export interface Environment {
  date: string;
  cpu: string;
  cores: number;
  memGiB: number;
  os: string;
  kernel: string;
  node: string;
  ffmpeg: string;
  nginx: string;
  chromium: string;
  tiercast: string;
}

const first = (s: string) => s.split('\n')[0]?.trim() ?? '';

export async function collectEnvironment(): Promise<Environment> {
  const root = join(import.meta.dirname, '..', '..');
  const osRelease = existsSync('/etc/os-release')
    ? (/PRETTY_NAME="([^"]+)"/.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? '')
    : '';
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  const commit = (await run('git', ['-C', root, 'rev-parse', '--short', 'HEAD'])).stdout.toString().trim();
  const dirty = (await run('git', ['-C', root, 'status', '--porcelain', 'src'])).stdout.toString().trim()
    ? ' + uncommitted changes in src/'
    : '';
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    cpu: cpus()[0]?.model.trim() ?? 'unknown CPU',
    cores: cpus().length,
    memGiB: Math.round(totalmem() / 2 ** 30),
    os: osRelease,
    kernel: first((await run('uname', ['-r'])).stdout.toString()),
    node: process.version,
    ffmpeg: first((await run('ffmpeg', ['-version'])).stdout.toString()).replace(/ Copyright.*/, ''),
    nginx: `${(await run('nginx', ['-v'])).stderr.trim().replace('nginx version: ', '')}, libnginx-mod-rtmp ${(await run('dpkg-query', ['-W', '-f=${Version}', 'libnginx-mod-rtmp'])).stdout.toString().trim()}`,
    chromium: first((await run('/usr/bin/chromium', ['--version'])).stdout.toString()),
    tiercast: `${pkg.version} (${commit}${dirty})`,
  };
}

export function renderMarkdown(o: {
  env: Environment;
  results: SectionResult[];
  quick: boolean;
  took: number;
  machineBusy: number;
  background: number;
  args: string[];
  /** Sections re-run later with `--only=… --merge`, and when. */
  rerun?: Array<{ names: string[]; date: string }>;
}): string {
  const e = o.env;
  const analysis = join(import.meta.dirname, '..', 'analysis.md');
  const out: string[] = [
    '# Benchmarks: tiercast against nginx-rtmp',
    '',
    '<!-- Written by `npm run bench` (bench/run.ts); the analysis section comes from bench/analysis.md. -->',
    '',
    `Run of ${e.date}: \`npm run bench${o.args.length ? ` -- ${o.args.join(' ')}` : ''}\` (${o.quick ? 'quick' : 'full'} run, ${o.took.toFixed(0)} s; the two cores were ${(o.background * 100).toFixed(0)} % busy with other jobs just before it started and ${(o.machineBusy * 100).toFixed(0)} % busy on average during it, bench included).`,
    '',
    ...(o.rerun ?? []).flatMap((r) => [
      `Re-run on ${r.date} with \`--only=${r.names.join(',')} --merge\` (same machine, the rest of the run unchanged): ${r.names.join(', ')}.`,
      '',
    ]),
    '| machine | versions |',
    '|---|---|',
    `| ${e.cpu}, ${e.cores} cores, ${e.memGiB} GiB, ${e.os}, Linux ${e.kernel}, loopback only | tiercast ${e.tiercast}; Node.js ${e.node}; ${e.ffmpeg}; peer: nginx ${e.nginx}; ${e.chromium} |`,
    '',
    "Every row is one run: tiercast's figure and the peer's (nginx with nginx-rtmp-module: RTMP in, HLS/DASH out of its own 1 s segmenter, files served by nginx) were measured in the same run, fed by the same publisher (one ffmpeg encode sent to both with the tee muxer) and read by the same clients.",
    '',
    markdownTable(o.results.flatMap((r) => r.rows)),
    '',
  ];
  for (const r of o.results) {
    out.push(
      `## ${r.name}`,
      '',
      `_${r.seconds.toFixed(0)} s${r.ranAt ? `, re-run ${r.ranAt}` : ''}._${r.error ? ` **Failed:** ${r.error}` : ''}`,
      '',
    );
    for (const n of r.notes) out.push(`- ${n}`);
    if (r.notes.length) out.push('');
    for (const p of r.plots) out.push(`![${p.title}](${p.file})`, '');
  }
  if (existsSync(analysis)) out.push(readFileSync(analysis, 'utf8').trim(), '');
  return out.join('\n');
}

/**
 * `--merge` on a machine without bench/out/last-run.json (machines are replaced between sessions; the record
 * is not in git): the fresh sections go into the published page itself. Their rows replace the table's rows
 * of the same sections (or are added at the table's end), their `## name` part replaces the old one (or goes
 * before "How to read and rerun"), and a "Re-run on" line joins the others. Everything else stays as it was.
 */
/** A results row's first cell ("section: what"), the row's identity; escaped pipes stay inside it. */
const rowKey = (line: string) => (line.split(' | ')[0] ?? '').replace(/^\|\s*/, '').trim();

/**
 * The table's rows with each fresh row in place of the row it measures again (same first cell); a fresh row
 * measured for the first time goes after the last row of its section, or at the end. Rows of other
 * measurements stay, also those that share a section name with the fresh ones (glass-to-glass rows come from
 * several measurements).
 */
export function mergeRows(existing: string[], fresh: string[]): string[] {
  const byKey = new Map(fresh.map((l) => [rowKey(l), l]));
  const out = existing.map((l) => {
    const f = byKey.get(rowKey(l));
    if (f === undefined) return l;
    byKey.delete(rowKey(l));
    return f;
  });
  for (const [key, line] of byKey) {
    const section = key.split(':')[0];
    const after = out.reduce((at, l, i) => (rowKey(l).split(':')[0] === section ? i : at), -1);
    out.splice(after >= 0 ? after + 1 : out.length, 0, line);
  }
  return out;
}

export function mergeIntoMarkdown(
  doc: string,
  fresh: { env: Environment; results: SectionResult[]; names: string[] },
): string {
  const lines = doc.split('\n');
  const first = lines.findIndex((l) => l.startsWith('| measurement'));
  if (first < 0) throw new Error('docs/benchmarks.md has no results table to merge into');
  let end = first + 2;
  while (end < lines.length && lines[end]!.startsWith('|')) end++;
  const rows = mergeRows(
    lines.slice(first + 2, end),
    markdownTable(fresh.results.flatMap((r) => r.rows))
      .split('\n')
      .slice(2),
  );
  lines.splice(first + 2, end - first - 2, ...rows);
  const lastRerun = lines.reduce((at, l, i) => (l.startsWith('Re-run on ') ? i : at), -1);
  const rerun = `Re-run on ${fresh.env.date} with \`--only=${fresh.names.join(',')} --merge\` (same machine, the rest of the run unchanged): ${fresh.names.join(', ')}.`;
  const tableAt = lines.findIndex((l) => l.startsWith('| machine'));
  lines.splice(lastRerun >= 0 ? lastRerun + 1 : tableAt, 0, ...(lastRerun >= 0 ? ['', rerun] : [rerun, '']));
  let text = lines.join('\n');
  for (const r of fresh.results) {
    const block = [
      `## ${r.name}`,
      '',
      `_${r.seconds.toFixed(0)} s, re-run ${fresh.env.date}._${r.error ? ` **Failed:** ${r.error}` : ''}`,
      '',
      ...r.notes.map((n) => `- ${n}`),
      ...(r.notes.length ? [''] : []),
      ...r.plots.flatMap((p) => [`![${p.title}](${p.file})`, '']),
    ].join('\n');
    const start = text.indexOf(`\n## ${r.name}\n`);
    if (start >= 0) {
      const next = text.indexOf('\n## ', start + 1);
      text = `${text.slice(0, start + 1)}${block}${next >= 0 ? text.slice(next + 1) : ''}`;
    } else {
      const before = text.indexOf('\n## How to read and rerun\n');
      text =
        before >= 0 ? `${text.slice(0, before + 1)}${block}${text.slice(before + 1)}` : `${text}\n${block}`;
    }
  }
  return text;
}

/** The page with its closing analysis replaced by bench/analysis.md as it is now (it is always the page's end). */
export function refreshAnalysis(doc: string): string {
  const analysis = join(import.meta.dirname, '..', 'analysis.md');
  if (!existsSync(analysis)) return doc;
  const text = readFileSync(analysis, 'utf8').trim();
  const heading = text.split('\n', 1)[0]!;
  const at = doc.indexOf(`\n${heading}\n`);
  return at >= 0 ? `${doc.slice(0, at + 1)}${text}\n` : `${doc.trimEnd()}\n\n${text}\n`;
}
