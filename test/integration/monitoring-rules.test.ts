/**
 * The monitoring files as their tools see them: Debian's promtool checks both Prometheus configs and the rule
 * files and runs the alert unit tests (monitoring/rules/alerts.test.yml); the Grafana dashboards and
 * provisioning files are checked for what Grafana needs; every metric they name must be one the nodes declare.
 * The scrape of a live network is monitoring-prometheus.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { run } from '../helpers/network.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const MON = join(ROOT, 'monitoring');
const PROMTOOL = spawnSync('promtool', ['--version']).error ? undefined : 'promtool';
const noPromtool = PROMTOOL
  ? false
  : 'promtool not found: install the Debian package prometheus (scripts/install-deps.sh --test)';

/** Fields of consul_sd_configs in upstream Prometheus 2.x (docs: configuration/#consul_sd_config). */
const CONSUL_SD_FIELDS = new Set([
  'server',
  'path_prefix',
  'token',
  'datacenter',
  'namespace',
  'partition',
  'scheme',
  'username',
  'password',
  'services',
  'tags',
  'node_meta',
  'tag_separator',
  'allow_stale',
  'refresh_interval',
  'basic_auth',
  'authorization',
  'oauth2',
  'proxy_url',
  'follow_redirects',
  'enable_http2',
  'tls_config',
]);

type Obj = Record<string, unknown>;
const yamlFile = (p: string) => parseYaml(readFileSync(p, 'utf8')) as Obj;

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { h: number; w: number; x: number; y: number };
  datasource?: { type: string; uid: string };
  targets?: Array<{ expr: string; refId: string; datasource?: { uid: string } }>;
}
interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string; query: unknown }> };
}
const DASH_DIR = join(MON, 'grafana', 'dashboards');
const dashboards = readdirSync(DASH_DIR)
  .filter((f) => f.endsWith('.json'))
  .map((f) => ({ file: f, d: JSON.parse(readFileSync(join(DASH_DIR, f), 'utf8')) as Dashboard }));

test(
  'promtool check config: the file_sd config (the embedded default) is valid',
  { skip: noPromtool },
  async () => {
    const r = await run(PROMTOOL!, ['check', 'config', join(MON, 'prometheus-file-sd.yml')]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /SUCCESS: 2 rule files found/);
  },
);

test('promtool check config: the Consul config is valid', { skip: noPromtool }, async () => {
  const file = join(MON, 'prometheus.yml');
  const r = await run(PROMTOOL!, ['check', 'config', file]);
  if (r.code === 0) return; // an upstream promtool (with Consul SD) checked the file as it is
  // Debian builds Prometheus without Consul SD ("Disable Consul SD until its Debian package is back in
  // shape"): its promtool refuses the key itself. Check everything else with the same tool, and the Consul
  // block against upstream's field list.
  assert.match(r.stdout + r.stderr, /field consul_sd_configs not found/, r.stdout + r.stderr);
  const cfg = yamlFile(file);
  const jobs = cfg.scrape_configs as Obj[];
  const job = jobs.find((j) => j.job_name === 'tiercast')!;
  const consul = job.consul_sd_configs as Obj[];
  assert.equal(consul.length, 1);
  for (const key of Object.keys(consul[0]!))
    assert.ok(CONSUL_SD_FIELDS.has(key), `unknown consul_sd_configs field ${key}`);
  assert.deepEqual(consul[0]!.services, [
    'tiercast-hub',
    'tiercast-ingress',
    'tiercast-intermediate',
    'tiercast-edge',
  ]);
  delete job.consul_sd_configs;
  job.file_sd_configs = [{ files: ['targets/*.json'] }];
  cfg.rule_files = (cfg.rule_files as string[]).map((f) => join(MON, f));
  const copy = join(mkdtempSync(join(tmpdir(), 'tiercast-promcheck-')), 'prometheus.yml');
  writeFileSync(copy, toYaml(cfg));
  const r2 = await run(PROMTOOL!, ['check', 'config', copy]);
  assert.equal(r2.code, 0, r2.stdout + r2.stderr);
  assert.match(r2.stdout, /SUCCESS: 2 rule files found/);
});

test('promtool check rules: recording and alert rules are valid', { skip: noPromtool }, async () => {
  const r = await run(PROMTOOL!, [
    'check',
    'rules',
    join(MON, 'rules', 'recording.yml'),
    join(MON, 'rules', 'alerts.yml'),
  ]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  // 13 recording rules and 13 alerts.
  assert.equal(r.stdout.match(/SUCCESS: 13 rules found/g)?.length, 2, r.stdout);
});

test(
  'promtool test rules: every alert fires on its condition and stays quiet on a near miss',
  { skip: noPromtool },
  async () => {
    const r = await run(PROMTOOL!, ['test', 'rules', join(MON, 'rules', 'alerts.test.yml')]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /SUCCESS/);
    const tested = new Set(
      [...readFileSync(join(MON, 'rules', 'alerts.test.yml'), 'utf8').matchAll(/alertname: (\w+)/g)].map(
        (m) => m[1],
      ),
    );
    const groups = (
      yamlFile(join(MON, 'rules', 'alerts.yml')).groups as Array<{ rules: Array<{ alert: string }> }>
    ).flatMap((g) => g.rules);
    for (const rule of groups) assert.ok(tested.has(rule.alert), `${rule.alert} has no promtool unit test`);
  },
);

test('both Prometheus configs scrape the same job with the same rules', () => {
  const consul = yamlFile(join(MON, 'prometheus.yml'));
  const file = yamlFile(join(MON, 'prometheus-file-sd.yml'));
  assert.deepEqual(consul.rule_files, file.rule_files);
  const job = (c: Obj) => (c.scrape_configs as Obj[]).find((j) => j.job_name === 'tiercast')!;
  assert.equal(
    job(consul).honor_labels,
    true,
    'nodes label their own series; target labels must not rename them',
  );
  assert.equal(job(file).honor_labels, true);
  const local = JSON.parse(readFileSync(join(MON, 'targets', 'local.json'), 'utf8')) as Array<{
    targets: string[];
    labels: Record<string, string>;
  }>;
  assert.deepEqual(
    local.map((t) => `${t.labels.node_role}@${t.targets.join()}`),
    ['hub@127.0.0.1:8070', 'ingress@127.0.0.1:8090', 'intermediate@127.0.0.1:8091', 'edge@127.0.0.1:8080'],
  );
});

test('dashboards: unique ids, panels inside the 24-column grid, every query on the datasource variable', () => {
  assert.deepEqual(dashboards.map((x) => x.file).sort(), ['tiercast-node.json', 'tiercast-overview.json']);
  assert.equal(new Set(dashboards.map((x) => x.d.uid)).size, dashboards.length);
  for (const { file, d } of dashboards) {
    assert.ok(d.schemaVersion >= 36, `${file}: schemaVersion`);
    assert.ok(
      d.templating.list.some((v) => v.name === 'datasource' && v.type === 'datasource'),
      `${file}: datasource variable`,
    );
    const ids = d.panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length, `${file}: duplicate panel id`);
    for (const p of d.panels) {
      assert.ok(
        p.gridPos.x >= 0 && p.gridPos.x + p.gridPos.w <= 24 && p.gridPos.h > 0,
        `${file}: ${p.title} gridPos`,
      );
      if (p.type === 'row') continue;
      assert.equal(p.datasource?.uid, '${datasource}', `${file}: ${p.title} datasource`);
      assert.ok(p.targets && p.targets.length > 0, `${file}: ${p.title} has no query`);
      for (const t of p.targets) {
        assert.ok(t.expr.trim().length > 0, `${file}: ${p.title} empty expr`);
        assert.equal(t.datasource?.uid, '${datasource}', `${file}: ${p.title} target datasource`);
      }
    }
  }
  const node = dashboards.find((x) => x.file === 'tiercast-node.json')!.d;
  assert.ok(
    node.templating.list.some((v) => v.name === 'node_id'),
    'the node dashboard selects a node_id',
  );
});

test('Grafana provisioning points at the dashboards folder and the Prometheus datasource', () => {
  const ds = yamlFile(join(MON, 'grafana', 'provisioning', 'datasources', 'prometheus.yml'));
  const list = ds.datasources as Obj[];
  assert.equal(ds.apiVersion, 1);
  assert.equal(list[0]!.type, 'prometheus');
  assert.equal(list[0]!.isDefault, true);
  const dash = yamlFile(join(MON, 'grafana', 'provisioning', 'dashboards', 'tiercast.yml'));
  const provider = (dash.providers as Array<{ type: string; options: { path: string } }>)[0]!;
  assert.equal(provider.type, 'file');
  // docker-compose mounts monitoring/grafana/dashboards at this path.
  const compose = readFileSync(join(ROOT, 'deploy', 'docker-compose.yml'), 'utf8');
  assert.ok(
    compose.includes(`../monitoring/grafana/dashboards:${provider.options.path}:ro`),
    'compose mounts the dashboards where the provider reads them',
  );
});

/** Metric names used in PromQL: tiercast_* and histogram/recording names resolved to what a node exports. */
function referencedMetrics(expr: string): string[] {
  const out: string[] = [];
  for (const m of expr.matchAll(/(?<![:\w])(tiercast_[a-z0-9_]+)(?![:\w])/g))
    out.push(m[1]!.replace(/_(bucket|count|sum)$/, ''));
  return out;
}

test('every metric the rules and dashboards name is declared by the nodes', () => {
  const exprs: string[] = [];
  for (const f of ['recording.yml', 'alerts.yml']) {
    for (const g of yamlFile(join(MON, 'rules', f)).groups as Array<{ rules: Array<{ expr: string }> }>)
      exprs.push(...g.rules.map((r) => r.expr));
  }
  for (const { d } of dashboards)
    for (const p of d.panels) exprs.push(...(p.targets ?? []).map((t) => t.expr));
  const names = new Set(exprs.flatMap(referencedMetrics));
  const sources: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(dir, e.name));
      else if (e.name.endsWith('.ts')) sources.push(readFileSync(join(dir, e.name), 'utf8'));
    }
  };
  walk(join(ROOT, 'src'));
  const declared = (n: string) => {
    // prom-client's default metrics (process_*, nodejs_*) carry the prefix tiercast_ (collectDefaultMetrics in
    // src/common/metrics).
    if (/^tiercast_(process|nodejs)_/.test(n)) return /prefix: 'tiercast_'/.test(sources.join('\n'));
    const name = n.replace(/_total$/, '');
    return sources.some((s) => s.includes(`'${n}'`) || s.includes(`'${name}'`));
  };
  const missing = [...names].filter((n) => !declared(n)).sort();
  assert.deepEqual(missing, [], `named in monitoring/ but declared nowhere in src/: ${missing.join(', ')}`);
});
