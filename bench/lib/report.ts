/**
 * Results of a bench run: rows of the table (tiercast's figure and the peer's, measured in the same
 * run, side by side), notes, and plots. Printed as a plain-text table and written as Markdown.
 */
export interface Row {
  section: string;
  what: string;
  tiercast: string;
  peer: string;
  target: string;
  /** true met, false missed, undefined no target for this row. */
  met?: boolean;
}

export interface Series {
  name: string;
  points: Array<[number, number]>;
}

export interface Plot {
  file: string;
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  logX?: boolean;
}

export interface SectionResult {
  name: string;
  rows: Row[];
  notes: string[];
  /** Set when the section was re-run alone (`--merge`) after the run the page is about. */
  ranAt?: string;
  plots: Plot[];
  seconds: number;
  error?: string;
}

export function verdict(met: boolean | undefined): string {
  return met === undefined ? '' : met ? 'met' : 'MISSED';
}

export function textTable(rows: Row[]): string {
  const head = ['measurement', 'tiercast', 'peer (nginx-rtmp)', 'target', ''];
  const body = rows.map((r) => [`${r.section}: ${r.what}`, r.tiercast, r.peer, r.target, verdict(r.met)]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('-|-'), ...body.map(line)].join('\n');
}

export function markdownTable(rows: Row[]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const out = ['| measurement | tiercast | peer (nginx-rtmp) | target | |', '|---|---|---|---|---|'];
  for (const r of rows)
    out.push(
      `| ${esc(r.section)}: ${esc(r.what)} | ${esc(r.tiercast)} | ${esc(r.peer)} | ${esc(r.target)} | ${r.met === undefined ? '' : r.met ? '✅ met' : '❌ missed'} |`,
    );
  return out.join('\n');
}

const COLORS = ['#d62728', '#1f77b4', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];

/** A hand-written SVG line chart (no dependency). */
export function svgPlot(p: Plot): string {
  const W = 720;
  const H = 420;
  const m = { l: 70, r: 20, t: 40, b: 60 };
  const pts = p.series
    .flatMap((s) => s.points)
    .filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!p.logX || x > 0));
  if (pts.length === 0)
    return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}"><text x="20" y="40">${p.title}: no data</text></svg>`;
  const tx = (x: number) => (p.logX ? Math.log10(x) : x);
  const x0 = Math.min(...pts.map(([x]) => tx(x)));
  let x1 = Math.max(...pts.map(([x]) => tx(x)));
  const y0 = Math.min(0, ...pts.map(([, y]) => y));
  let y1 = Math.max(...pts.map(([, y]) => y));
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) y1 = y0 + 1;
  y1 *= 1.05;
  const sx = (x: number) => m.l + ((tx(x) - x0) / (x1 - x0)) * (W - m.l - m.r);
  const sy = (y: number) => H - m.b - ((y - y0) / (y1 - y0)) * (H - m.t - m.b);
  const ticks = (a: number, b: number, n: number) =>
    Array.from({ length: n + 1 }, (_, i) => a + ((b - a) * i) / n);
  const f = (v: number) =>
    Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${p.title}</text>`,
    `<text x="${W / 2}" y="${H - 12}" text-anchor="middle">${p.xLabel}</text>`,
    `<text transform="translate(16 ${H / 2}) rotate(-90)" text-anchor="middle">${p.yLabel}</text>`,
  ];
  for (const v of ticks(y0, y1, 5))
    parts.push(
      `<line x1="${m.l}" x2="${W - m.r}" y1="${sy(v)}" y2="${sy(v)}" stroke="#ddd"/><text x="${m.l - 6}" y="${sy(v) + 4}" text-anchor="end">${f(v)}</text>`,
    );
  for (const v of ticks(x0, x1, 6)) {
    const x = p.logX ? 10 ** v : v;
    parts.push(
      `<line x1="${sx(x)}" x2="${sx(x)}" y1="${m.t}" y2="${H - m.b}" stroke="#eee"/><text x="${sx(x)}" y="${H - m.b + 16}" text-anchor="middle">${f(x)}</text>`,
    );
  }
  parts.push(
    `<rect x="${m.l}" y="${m.t}" width="${W - m.l - m.r}" height="${H - m.t - m.b}" fill="none" stroke="#333"/>`,
  );
  p.series.forEach((s, i) => {
    const c = COLORS[i % COLORS.length]!;
    const good = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!p.logX || x > 0));
    if (good.length === 0) return;
    parts.push(
      `<polyline fill="none" stroke="${c}" stroke-width="2" points="${good.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ')}"/>`,
    );
    if (good.length <= 30)
      for (const [x, y] of good)
        parts.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="3" fill="${c}"/>`);
    parts.push(
      `<rect x="${m.l + 10}" y="${m.t + 8 + i * 18}" width="12" height="12" fill="${c}"/><text x="${m.l + 28}" y="${m.t + 18 + i * 18}">${s.name.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/** Points of an empirical CDF (x = value, y = fraction ≤ x), thinned to at most `max` points. */
export function cdf(values: number[], max = 200): Array<[number, number]> {
  const s = [...values].sort((a, b) => a - b);
  const step = Math.max(1, Math.floor(s.length / max));
  const out: Array<[number, number]> = [];
  for (let i = 0; i < s.length; i += step) out.push([s[i]!, (i + 1) / s.length]);
  if (s.length) out.push([s[s.length - 1]!, 1]);
  return out;
}
