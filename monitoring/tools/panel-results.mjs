#!/usr/bin/env node
// Renders the dashboards' panels with the results their queries returned from a real network, as Markdown
// for docs/operations.md ("The panels, against real data"). The results come from the Prometheus test:
//   TIERCAST_TEST_MONITORING_SNAPSHOT=/tmp/panels.json node --import tsx --test test/integration/monitoring-prometheus.test.ts
//   node monitoring/tools/panel-results.mjs /tmp/panels.json > /tmp/panels.md
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: panel-results.mjs SNAPSHOT.json\n');
  process.exit(2);
}
const snapshot = JSON.parse(readFileSync(file, 'utf8'));
const dashboards = join(dirname(fileURLToPath(import.meta.url)), '..', 'grafana', 'dashboards');
// Labels every series has and that say nothing about the panel.
const noise = new Set(['__name__', 'instance', 'job', 'region', 'tier']);

function format(v) {
  const n = Number(v);
  if (!Number.isFinite(n) || Number.isInteger(n)) return v;
  const a = Math.abs(n);
  if (a >= 1e6) return n.toExponential(3);
  if (a >= 100) return n.toFixed(0);
  return n.toPrecision(3);
}

function series(result) {
  if (result.length === 0) return '(no series)';
  return result
    .map((r) => {
      const labels = Object.entries(r.labels)
        .filter(([k]) => !noise.has(k))
        .map(([k, v]) => `${k}="${v}"`)
        .join(', ');
      return `{${labels}} ${format(r.value)}`;
    })
    .join('\n');
}

const out = [];
function dashboard(name, nodes) {
  const d = JSON.parse(readFileSync(join(dashboards, name), 'utf8'));
  out.push(`#### ${d.title}${nodes[0] ? ` (nodes ${nodes.join(', ')})` : ''}`, '');
  for (const p of d.panels) {
    if (p.type === 'row') {
      out.push(`##### ${p.title}`, '');
      continue;
    }
    out.push(
      `**${p.title}** (${p.type}): ${p.description}`,
      '',
      '```promql',
      ...p.targets.map((t) => t.expr),
      '```',
    );
    const lines = [];
    for (const node of nodes) {
      const entries = snapshot.filter(
        (e) => e.dashboard === d.title && e.panel === p.title && (node ? e.node === node : !e.node),
      );
      // On the node dashboard, a node the panel does not apply to (no series at all) is left out.
      if (node && entries.every((e) => e.result.length === 0)) continue;
      entries.forEach((e, i) => {
        const head = [node, entries.length > 1 ? `query ${String.fromCharCode(65 + i)}` : '']
          .filter(Boolean)
          .join(', ');
        lines.push(...(head ? [`# ${head}`] : []), series(e.result));
      });
    }
    if (lines.length === 0) lines.push('(no series)');
    out.push('```text', ...lines, '```', '');
  }
}
dashboard('tiercast-overview.json', [undefined]);
// The node dashboard was queried once per node; the snapshot keeps the edge, the ingress and the hub.
dashboard('tiercast-node.json', [...new Set(snapshot.filter((e) => e.node).map((e) => e.node))]);
process.stdout.write(out.join('\n'));
