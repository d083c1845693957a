/**
 * The blocking-query loop against a scripted fake of the one API call it makes: it must never spin, even when
 * Consul answers at once with an unchanged index, and must follow Consul's index rules.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HealthWatch } from '../../src/common/discovery/consul-watch.js';
import type { HealthAnswer } from '../../src/common/discovery/consul-api.js';
import type { NodeInfo } from '../../src/common/discovery/index.js';

function entry(id: string) {
  return {
    Service: {
      ID: `edge-${id}`,
      Service: 'tiercast-edge',
      Tags: ['region:local', 'tier:64'],
      Meta: { node_id: id, ws_url: 'ws://127.0.0.1:1', capacity: '1', load: '0' },
    },
    Checks: [],
  };
}

class FakeApi {
  readonly calls: Array<string | undefined> = [];
  constructor(private readonly answer: (call: number, index: string | undefined) => HealthAnswer | Error) {}
  healthService(_name: string, q: { index: string | undefined; waitS: number }): Promise<HealthAnswer> {
    this.calls.push(q.index);
    const a = this.answer(this.calls.length, q.index);
    return a instanceof Error ? Promise.reject(a) : Promise.resolve(a);
  }
}

function watch(
  api: FakeApi,
  onAnswer: (nodes: NodeInfo[], changed: boolean) => void = () => undefined,
  onError: (e: unknown) => void = () => undefined,
) {
  return new HealthWatch({
    api,
    role: 'edge',
    waitS: 10,
    retryInitialMs: 100,
    retryMaxMs: 400,
    random: () => 0.5,
    onAnswer: (n, _i, c) => onAnswer(n, c),
    onError,
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a server that answers at once with an unchanged index is not hammered', async () => {
  const api = new FakeApi(() => ({ index: '7', body: [entry('a')] }));
  const w = watch(api);
  await sleep(2200);
  await w.stop();
  // first read, then at most one query per second while the index does not move
  assert.ok(api.calls.length <= 4, `queries: ${api.calls.length}`);
  assert.deepEqual(api.calls.slice(0, 2), [undefined, '7']);
  assert.deepEqual(
    w.nodes.map((n) => n.id),
    ['a'],
  );
});

test('the index is passed back; a change is reported once; an unchanged answer is not a change', async () => {
  const changes: string[][] = [];
  const answers: HealthAnswer[] = [
    { index: '10', body: [entry('a')] },
    { index: '11', body: [entry('a'), entry('b')] },
    { index: '12', body: [entry('a'), entry('b')] },
  ];
  const api = new FakeApi((n) => answers[n - 1] ?? { index: '12', body: [entry('a'), entry('b')] });
  const w = watch(api, (nodes, changed) => {
    if (changed) changes.push(nodes.map((x) => x.id));
  });
  await sleep(400);
  await w.stop();
  assert.deepEqual(api.calls.slice(0, 4), [undefined, '10', '11', '12']);
  assert.deepEqual(changes, [['a'], ['a', 'b']]);
});

test('an index that goes backwards resets to a plain read; an index ≤ 0 is never blocked on', async () => {
  const answers: HealthAnswer[] = [
    { index: '50', body: [] },
    { index: '3', body: [] }, // went backwards
    { index: '0', body: [] }, // bogus
    { index: '2', body: [] },
  ];
  const api = new FakeApi((n) => answers[n - 1] ?? { index: '2', body: [] });
  const w = watch(api);
  await sleep(300);
  await w.stop();
  assert.deepEqual(api.calls.slice(0, 5), [undefined, '50', undefined, '1', '2']);
});

test('errors keep the last known nodes, back off with jitter, and the next query is a plain read', async () => {
  let failing = false;
  const errors: unknown[] = [];
  const api = new FakeApi(() =>
    failing ? new Error('connect ECONNREFUSED') : { index: '5', body: [entry('a')] },
  );
  const w = watch(api, undefined, (e) => errors.push(e));
  await sleep(50);
  failing = true;
  const before = api.calls.length;
  await sleep(1200); // unchanged-index gap (1 s) then failures every 100–400 ms
  assert.ok(errors.length >= 1 && errors.length <= 6, `errors: ${errors.length}`);
  assert.ok(api.calls.length - before <= 6, 'backs off');
  assert.deepEqual(
    w.nodes.map((n) => n.id),
    ['a'],
    'last known nodes kept',
  );
  failing = false;
  await sleep(500);
  await w.stop();
  const firstAfterError = api.calls.findIndex((_, i) => i > 0 && i >= before + errors.length);
  assert.equal(api.calls[firstAfterError], undefined, 'a plain read after failures');
});

test('a body that is not a list counts as an error and leaves the nodes alone', async () => {
  const errors: unknown[] = [];
  const api = new FakeApi((n) =>
    n === 1 ? { index: '2', body: [entry('a')] } : { index: '3', body: { oops: true } },
  );
  const w = watch(api, undefined, (e) => errors.push(e));
  await sleep(150);
  await w.stop();
  assert.ok(errors.length >= 1);
  assert.deepEqual(
    w.nodes.map((n) => n.id),
    ['a'],
  );
});
