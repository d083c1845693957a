/**
 * One value per key in every log line: child loggers merge their bindings (innermost wins) and join module
 * names into a path; each node's main names its own node_id and role, also under `node-role all`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { configureLogging, createLogger } from '../../src/common/logging/index.js';

function capture(): { stream: Writable; lines: () => string[] } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString();
      done();
    },
  });
  return { stream, lines: () => text.split('\n').filter(Boolean) };
}

/** The keys of a JSON line's top level, in order, duplicates kept (JSON.parse would hide them). */
function topLevelKeys(line: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  for (const m of line.matchAll(/"((?:[^"\\]|\\.)*)"(:?)|[{}[\]]/g)) {
    const t = m[0];
    if (t === '{' || t === '[') depth++;
    else if (t === '}' || t === ']') depth--;
    else if (m[2] === ':' && depth === 1) keys.push(m[1]!);
  }
  return keys;
}

test('node-role all: each line has node_id, role and module once, with the node’s own values', () => {
  const out = capture();
  const root = configureLogging({ level: 'info', nodeId: 'all', role: 'all', destination: out.stream });
  const hub = createLogger('hub', { node_id: 'hub-1', role: 'hub' }, root);
  hub.child({ module: 'store' }).info({ key: 'k-123456789' }, 'opened');
  const edge = createLogger('edge', { node_id: 'edge-1', role: 'edge' }, root);
  createLogger('discovery', { backend: 'static' }, edge.child({ module: 'discovery' })).warn('found');
  edge.child({ module: 'chat' }).child({ stream: 'a' }).child({ stream: 'b' }).info('joined');
  root.child({ module: 'demo' }).info('demo');

  const lines = out.lines();
  assert.equal(lines.length, 4);
  for (const l of lines) {
    const keys = topLevelKeys(l);
    assert.equal(new Set(keys).size, keys.length, `each key once: ${l}`);
  }
  const [store, disc, chat, demo] = lines.map(
    (l) => JSON.parse(l) as { node_id: string; role: string; module: string; stream?: string; key?: string },
  );
  assert.deepEqual([store!.node_id, store!.role, store!.module], ['hub-1', 'hub', 'hub/store']);
  assert.equal(store!.key, '[redacted]');
  assert.deepEqual([disc!.node_id, disc!.role, disc!.module], ['edge-1', 'edge', 'edge/discovery']);
  assert.deepEqual([chat!.module, chat!.stream], ['edge/chat', 'b']);
  assert.deepEqual([demo!.node_id, demo!.role, demo!.module], ['all', 'all', 'demo']);
});

test('a child starts at its parent’s level', () => {
  const out = capture();
  const root = configureLogging({ level: 'info', nodeId: 'n', role: 'edge', destination: out.stream });
  const quiet = createLogger('edge', {}, root);
  quiet.level = 'warn';
  quiet.child({ module: 'chat' }).info('hidden');
  quiet.child({ module: 'chat' }).warn('shown');
  assert.deepEqual(
    out.lines().map((l) => (JSON.parse(l) as { msg: string }).msg),
    ['shown'],
  );
});

test('pretty format: one readable line naming the node and module', () => {
  const out = capture();
  const root = configureLogging({
    level: 'info',
    nodeId: 'edge-1',
    role: 'edge',
    format: 'pretty',
    destination: out.stream,
  });
  createLogger('edge', {}, root).child({ module: 'http' }).info({ port: 8080 }, 'listening');
  const [line] = out.lines();
  const plain = line!.replace(/\u001b\[[0-9;]*m/g, '');
  assert.match(plain, /INFO.*edge-1 edge\/http: listening/);
  assert.match(plain, /"port":8080/);
  assert.doesNotMatch(plain, /^\{/);
});

test('the hub’s PostgreSQL URL (it holds a password) is redacted wherever a config is logged', () => {
  const out = capture();
  const root = configureLogging({ level: 'info', nodeId: 'hub-1', role: 'hub', destination: out.stream });
  const url = 'postgres://tiercast:pw-l0gged@db/tiercast';
  root.info({ postgres: { url } }, 'a');
  root.info({ hub: { postgres: { url } } }, 'b');
  for (const line of out.lines()) assert.doesNotMatch(line, /pw-l0gged/);
  assert.match(out.lines()[0] ?? '', /"url":"\[redacted\]"/);
});
