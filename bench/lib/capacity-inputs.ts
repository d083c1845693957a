/**
 * The measured inputs of bench/capacity-model.ts, read from docs/benchmarks.md: its results table (label →
 * tiercast's cell) and its section notes. Each figure keeps the row or line it came from, and a figure that
 * cannot be found stops the run naming the row, so a renamed bench row is noticed rather than guessed at.
 */
/** One number and where it comes from, so the generated page can cite every input. */
export interface Figure {
  value: number;
  source: string;
}

/** An edge's measured delivery for one viewer transport. */
export interface TransportFigures {
  /** Bytes delivered to viewers per CPU-second of the edge process. */
  bytesPerCpuSecond: Figure;
  /** Bit/s each viewer received at the step the figure above comes from. */
  measuredViewerBitrate: Figure;
  /** Largest N one edge process served without a drop: a range measured, not a limit found. */
  largestCleanN: Figure;
}

export interface MeasuredFigures {
  machine: string;
  ws: TransportFigures;
  llDash: TransportFigures;
  llHls: TransportFigures;
  rssPerViewerBytes: Figure;
  edgeBaseRssBytes: Figure;
  /** Latency one relay tier adds, the larger of the 1-tier and the 3-tier-per-tier figures. */
  tierP50Ms: Figure;
  tierP99Ms: Figure;
  relayOwnCpuP99Ms: Figure;
  /** Ingress (Node + ffmpeg) for the measured ladder, in cores; and Node's own part. */
  ingressCpuPerStream: Figure;
  ingressNodeCpu: Figure;
  /** Fraction of the edge's upload that peers took over. */
  p2pOffload: Figure;
  p2pAddedP50Ms: Figure;
}

export const BENCH_DOC = 'docs/benchmarks.md';

interface BenchDoc {
  rows: { label: string; tiercast: string }[];
  sections: Map<string, string[]>;
  lines: string[];
}

/** Splits the page into results-table rows (label → tiercast cell) and `## ` sections (their lines). */
export function parseBenchDoc(text: string): BenchDoc {
  const lines = text.split('\n');
  const rows: BenchDoc['rows'] = [];
  const sections = new Map<string, string[]>();
  let section: string[] | undefined;
  for (const line of lines) {
    if (line.startsWith('## ')) {
      section = [];
      sections.set(line.slice(3).trim(), section);
      continue;
    }
    section?.push(line);
    // `\|` is a pipe inside a cell (the A/V rows), not a column border.
    const cells = line.split(/(?<!\\)\|/).map((c) => c.trim());
    if (section === undefined && cells.length >= 4 && cells[0] === '' && cells[1] && cells[2] !== undefined) {
      rows.push({ label: cells[1], tiercast: cells[2] });
    }
  }
  return { rows, sections, lines };
}

function num(s: string): number {
  return Number(s.replace(/,/g, ''));
}

/** The numbers `re` captures in the tiercast cell of the row whose label starts with `labelStart`. */
function fromRow(
  doc: BenchDoc,
  labelStart: string,
  re: RegExp,
  what: string,
): { values: number[]; source: string } {
  const row = doc.rows.find((r) => r.label.startsWith(labelStart));
  if (!row) {
    throw new Error(
      `${BENCH_DOC}: no results-table row starting "${labelStart}" (needed for ${what}). ` +
        'Rerun that bench section, or update the label in bench/capacity-model.ts if the bench renamed it.',
    );
  }
  const m = re.exec(row.tiercast);
  if (!m) {
    throw new Error(
      `${BENCH_DOC}: row "${row.label}" reads "${row.tiercast}", not the form ${re} (needed for ${what})`,
    );
  }
  return { values: m.slice(1).map(num), source: `${BENCH_DOC}, results table: "${row.label}"` };
}

/** The numbers `re` captures in the first line of section `heading` that starts with `lineStart`. */
function fromSection(
  doc: BenchDoc,
  heading: string,
  lineStart: string,
  re: RegExp,
  what: string,
): { values: number[]; source: string } {
  const lines = doc.sections.get(heading);
  if (!lines) throw new Error(`${BENCH_DOC}: no section "## ${heading}" (needed for ${what})`);
  const line = lines.find((l) => l.startsWith(lineStart));
  const m = line === undefined ? null : re.exec(line);
  if (!line || !m) {
    throw new Error(
      `${BENCH_DOC}, section "${heading}": no line "${lineStart}…" matching ${re} (needed for ${what})`,
    );
  }
  return {
    values: m.slice(1).map(num),
    source: `${BENCH_DOC} § ${heading}: "${lineStart.replace(/^- /, '')}…"`,
  };
}

const fig = (value: number, source: string): Figure => ({ value, source });

function transport(
  doc: BenchDoc,
  name: string,
  cpuRow: string,
  cpuRe: RegExp,
  cleanRow: string,
  sectionLine: (n: number) => string,
): TransportFigures {
  const cpu = fromRow(doc, cpuRow, cpuRe, `${name} bytes per CPU-second`);
  const clean = fromRow(doc, cleanRow, /^([\d,]+)/, `${name} largest clean N`);
  const n = clean.values[0]!;
  const step = fromSection(
    doc,
    'edge fan-out',
    sectionLine(n),
    /\(([\d.]+) Mbit\/s per viewer\)/,
    `${name} bitrate`,
  );
  return {
    bytesPerCpuSecond: fig(cpu.values[0]! * 1e9, cpu.source),
    measuredViewerBitrate: fig(step.values[0]! * 1e6, step.source),
    largestCleanN: fig(n, clean.source),
  };
}

/** Every figure the model needs, from the text of docs/benchmarks.md; throws naming the first one missing. */
export function readMeasuredFigures(text: string): MeasuredFigures {
  const doc = parseBenchDoc(text);
  const machine = doc.lines
    .find((l) => /^\| [^|]*\d+ cores/.test(l))
    ?.split('|')[1]
    ?.trim();
  if (!machine) throw new Error(`${BENCH_DOC}: no machine row ("| …, N cores, …") under the header`);
  const gb = /^([\d.]+) GB\/CPU-s/;
  const one = fromRow(doc, 'relay tier: added by 1 tier', /^([\d.]+) · ([\d.]+) ms/, 'latency per tier');
  const three = fromRow(
    doc,
    'relay tier: added by 3 tiers',
    /\(([\d.]+) · ([\d.]+) ms per tier\)/,
    'latency per tier',
  );
  const perTier = (i: number): Figure =>
    one.values[i]! >= three.values[i]!
      ? fig(one.values[i]!, one.source)
      : fig(three.values[i]!, `${three.source} (per tier)`);
  const relayCpu = fromRow(
    doc,
    "relay tier: the relay's own work per chunk",
    /^≤ ([\d.]+) · ≤ ([\d.]+) ms/,
    'relay CPU',
  );
  const ingress = fromRow(
    doc,
    'transcoding: CPU per stream, default ladder',
    /^([\d.]+) % of a core \(Node ([\d.]+) %/,
    'ingress CPU per stream',
  );
  const rss = fromRow(doc, 'memory: RSS per idle connected viewer', /^([\d.]+) KB/, 'memory per viewer');
  const base = fromSection(
    doc,
    'memory per viewer',
    '- edge RSS: 1 →',
    /^- edge RSS: 1 → ([\d.]+) MiB/,
    'edge base RSS',
  );
  const offload = fromRow(doc, 'p2p: 8 viewers, one edge', /offload ([\d.]+) %/, 'P2P offload');
  const p2pLate = fromRow(
    doc,
    'p2p: glass-to-glass shown in Chromium',
    // "(+184 ms; +86, +198, +102)": the pooled difference, then each pair of windows.
    /\(([+-]?[\d.]+) ms[;)]/,
    'P2P added latency',
  );
  return {
    machine,
    ws: transport(
      doc,
      'WebSocket',
      'fan-out: WebSocket: bytes per server CPU-second',
      gb,
      'fan-out: WebSocket: largest N with no drop',
      (n) => `- WebSocket N=${n}:`,
    ),
    llDash: transport(
      doc,
      'LL-DASH',
      'fan-out: HTTP: bytes per server CPU-second, same N=1500 (LL-DASH',
      gb,
      'fan-out: HTTP: largest N with no drop',
      (n) => `- tiercast LL-DASH N=${n}:`,
    ),
    llHls: transport(
      doc,
      'LL-HLS',
      'fan-out: HTTP: bytes per server CPU-second, same N=1000 (LL-HLS',
      /^LL-HLS ([\d.]+) GB\/CPU-s/,
      'fan-out: HTTP: LL-HLS largest N with no drop',
      (n) => `- tiercast LL-HLS N=${n}:`,
    ),
    rssPerViewerBytes: fig(rss.values[0]! * 1000, rss.source),
    edgeBaseRssBytes: fig(base.values[0]! * 2 ** 20, base.source),
    tierP50Ms: perTier(0),
    tierP99Ms: perTier(1),
    relayOwnCpuP99Ms: fig(relayCpu.values[1]!, relayCpu.source),
    ingressCpuPerStream: fig(ingress.values[0]! / 100, ingress.source),
    ingressNodeCpu: fig(ingress.values[1]! / 100, ingress.source),
    p2pOffload: fig(offload.values[0]! / 100, offload.source),
    p2pAddedP50Ms: fig(p2pLate.values[0]!, p2pLate.source),
  };
}
