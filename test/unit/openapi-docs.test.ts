/**
 * The OpenAPI documents against the code, so they cannot drift: every account route the edge forwards
 * (VIEWER_API_ROUTES) is in docs/openapi-edge.yaml with its method, and every `/api` path that document
 * lists is either forwarded (the edge's real matcher accepts it) or registered by the edge itself. Every
 * operation of both documents has a unique operationId. (`npm run lint:openapi` checks the documents
 * against the OpenAPI specification; this checks them against tiercast.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { VIEWER_API_ROUTES, matchViewerApi } from '../../src/common/http/viewer-api.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

type Operation = { operationId?: string };
type Doc = { paths: Record<string, Record<string, Operation>> };
const load = (file: string) => parseYaml(readFileSync(join(ROOT, 'docs', file), 'utf8')) as Doc;
const edgeDoc = load('openapi-edge.yaml');

/** `{method} {path}` of every operation in a document. */
const operations = (doc: Doc) =>
  Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([m]) => METHODS.includes(m))
      .map(([m, op]) => ({ method: m.toUpperCase(), path, op })),
  );

test('every route the edge forwards to the hub is in docs/openapi-edge.yaml with its method', () => {
  assert.ok(VIEWER_API_ROUTES.length >= 10);
  const documented = new Set(operations(edgeDoc).map((o) => `${o.method} ${o.path}`));
  const missing = VIEWER_API_ROUTES.map((r) => `${r.method} /api${r.path.replace(/:(\w+)/g, '{$1}')}`).filter(
    (r) => !documented.has(r),
  );
  assert.deepEqual(missing, [], 'forwarded routes missing from docs/openapi-edge.yaml');
});

test("every /api operation documented is forwarded by the edge's matcher or served by the edge itself", () => {
  // The edge's own /api routes, as registered in src/edge (uWS patterns).
  const edgeSource = readdirSync(join(ROOT, 'src', 'edge'))
    .filter((f) => f.endsWith('.ts'))
    .map((f) => readFileSync(join(ROOT, 'src', 'edge', f), 'utf8'))
    .join('\n');
  const own = new Set(
    [...edgeSource.matchAll(/app\.get\('(\/api\/[^']+)'/g)].map(
      (m) => `GET ${m[1]!.replace(/:(\w+)/g, '{$1}')}`,
    ),
  );
  assert.ok(
    own.has('GET /api/streams') && own.has('GET /api/edges/{name}'),
    `edge routes found: ${[...own].join(', ')}`,
  );
  const stray: string[] = [];
  for (const { method, path } of operations(edgeDoc)) {
    if (!path.startsWith('/api/')) continue;
    const key = `${method} ${path}`;
    if (own.has(key)) continue;
    const m = matchViewerApi(
      method,
      path
        .replace('{id}', '20261201T173000Z-1a2b3c4d')
        .replace('{clip}', '0123456789ab')
        .replace('{hook}', 'wh_0123456789ab')
        .replace('{output}', 'out_0123456789ab')
        .replace(/\{\w+\}/g, 'alice'),
    );
    if (!m.ok) stray.push(`${key}: ${m.code}`);
  }
  assert.deepEqual(stray, [], 'documented, but the edge refuses or does not serve it');
  // And the matcher is not so loose that anything passes: an undocumented route is refused.
  assert.equal(matchViewerApi('GET', '/api/auth/secrets').ok, false);
});

for (const file of ['openapi.yaml', 'openapi-edge.yaml']) {
  test(`docs/${file}: every operation has a unique operationId`, () => {
    const ops = operations(load(file));
    assert.ok(ops.length >= 5);
    const without = ops.filter((o) => !o.op.operationId).map((o) => `${o.method} ${o.path}`);
    assert.deepEqual(without, [], 'operations without an operationId');
    const ids = ops.map((o) => o.op.operationId!);
    assert.equal(new Set(ids).size, ids.length, `duplicate operationIds: ${ids.join(', ')}`);
  });
}
