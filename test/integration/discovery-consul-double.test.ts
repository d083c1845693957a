/**
 * Consul's HTTP semantics that tiercast relies on, checked over plain HTTP. By default this checks the Consul
 * test double (test/consul-double); with CONSUL_HTTP_ADDR set, the very same assertions run against a real
 * agent, which is how the double is kept faithful.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ConsulDouble } from '../consul-double/consul-double.js';

const realAddress = process.env.CONSUL_HTTP_ADDR
  ? /^https?:\/\//.test(process.env.CONSUL_HTTP_ADDR)
    ? process.env.CONSUL_HTTP_ADDR
    : `http://${process.env.CONSUL_HTTP_ADDR}`
  : undefined;
const token = process.env.CONSUL_HTTP_TOKEN || undefined;
const run = randomBytes(3).toString('hex');
let double: ConsulDouble | undefined;
let address: string;

before(async () => {
  if (realAddress) address = realAddress;
  else {
    double = await ConsulDouble.create();
    address = double.address;
  }
});
after(async () => {
  await double?.close();
});

interface Answer {
  status: number;
  index: number | undefined;
  body: unknown;
  ms: number;
}

async function http(method: string, path: string, body?: string | object): Promise<Answer> {
  const started = Date.now();
  const res = await fetch(`${address}${path}`, {
    method,
    headers: token ? { 'X-Consul-Token': token } : {},
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* text */
  }
  const index = res.headers.get('x-consul-index');
  return {
    status: res.status,
    index: index === null ? undefined : Number(index),
    body: parsed,
    ms: Date.now() - started,
  };
}

const kv = (k: string) => `/v1/kv/tiercast-test/${run}/${k}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function session(extra: object = {}): Promise<string> {
  const r = await http('PUT', '/v1/session/create', { Name: `tiercast-test-${run}`, TTL: '10s', ...extra });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return (r.body as { ID: string }).ID;
}

test('KV: 404 with an index for a missing key; base64 values; cas', async () => {
  const missing = await http('GET', kv('a'));
  assert.equal(missing.status, 404);
  assert.ok(missing.index !== undefined && missing.index > 0, 'X-Consul-Index on a 404');
  assert.equal((await http('PUT', kv('a'), 'hello')).body, true);
  const got = await http('GET', kv('a'));
  const [item] = got.body as Array<{
    Key: string;
    Value: string;
    ModifyIndex: number;
    LockIndex: number;
    Flags: number;
  }>;
  assert.equal(item!.Key, `tiercast-test/${run}/a`);
  assert.equal(Buffer.from(item!.Value, 'base64').toString(), 'hello');
  assert.equal(got.index, item!.ModifyIndex);
  assert.equal((await http('PUT', `${kv('a')}?cas=0`, 'x')).body, false, 'cas=0 only creates');
  assert.equal((await http('PUT', `${kv('a')}?cas=${item!.ModifyIndex + 1000}`, 'x')).body, false);
  assert.equal((await http('PUT', `${kv('a')}?cas=${item!.ModifyIndex}`, 'x')).body, true);
  assert.equal(
    (await http('DELETE', `${kv('a')}?cas=${item!.ModifyIndex}`)).body,
    false,
    'stale cas does not delete',
  );
  assert.equal((await http('DELETE', kv('a'))).body, true);
  assert.equal((await http('GET', kv('a'))).status, 404);
});

test('sessions: TTL bounds, acquire/release between two sessions, Behavior delete, renew of an unknown session', async () => {
  assert.equal(
    (await http('PUT', '/v1/session/create', { TTL: '5s' })).status,
    400,
    'TTL under 10 s is refused',
  );
  const s1 = await session({ Behavior: 'delete', LockDelay: '0s' });
  const s2 = await session({ LockDelay: '0s' });
  assert.equal((await http('PUT', `${kv('lock')}?acquire=${s1}`, 'one')).body, true);
  assert.equal(
    (await http('PUT', `${kv('lock')}?acquire=${s1}`, 'one again')).body,
    true,
    'the holder may acquire again',
  );
  assert.equal((await http('PUT', `${kv('lock')}?acquire=${s2}`, 'two')).body, false);
  assert.equal(
    (await http('PUT', `${kv('lock')}?release=${s2}`, 'two')).body,
    false,
    'only the holder releases',
  );
  const held = (await http('GET', kv('lock'))).body as Array<{
    Session?: string;
    LockIndex: number;
    Value: string;
  }>;
  assert.equal(held[0]!.Session, s1);
  assert.equal(held[0]!.LockIndex, 1);
  assert.equal(Buffer.from(held[0]!.Value, 'base64').toString(), 'one again');
  assert.equal((await http('PUT', `${kv('lock')}?release=${s1}`, 'free')).body, true);
  assert.equal(((await http('GET', kv('lock'))).body as Array<{ Session?: string }>)[0]!.Session, undefined);
  assert.equal(
    (await http('PUT', `${kv('lock')}?acquire=${s2}`, 'two')).body,
    true,
    'an explicit release has no lock-delay',
  );
  assert.equal((await http('PUT', `${kv('lock')}?release=${s2}`, 'free')).body, true);
  assert.equal((await http('PUT', `${kv('del')}?acquire=${s1}`, 'gone soon')).body, true);
  assert.equal((await http('PUT', `/v1/session/destroy/${s1}`)).status, 200);
  assert.equal(
    (await http('GET', kv('del'))).status,
    404,
    'Behavior delete removes the keys of a dead session',
  );
  assert.equal((await http('PUT', `/v1/session/renew/${s1}`)).status, 404);
  assert.equal((await http('PUT', `/v1/session/renew/${s2}`)).status, 200);
  assert.ok(
    (await http('PUT', `${kv('x')}?acquire=${s1}`, 'x')).status >= 400,
    'acquire with a dead session fails',
  );
  await http('PUT', `/v1/session/destroy/${s2}`);
  await http('DELETE', `/v1/kv/tiercast-test/${run}?recurse`);
});

test('lock-delay: keys of an invalidated session cannot be acquired for a while', async () => {
  const s1 = await session({ LockDelay: '3s' });
  const s2 = await session();
  assert.equal((await http('PUT', `${kv('delayed')}?acquire=${s1}`, 'x')).body, true);
  await http('PUT', `/v1/session/destroy/${s1}`);
  assert.equal((await http('PUT', `${kv('delayed')}?acquire=${s2}`, 'y')).body, false, 'within lock-delay');
  await http('PUT', `/v1/session/destroy/${s2}`);
  await http('DELETE', `/v1/kv/tiercast-test/${run}?recurse`);
});

test('blocking reads wait for `wait` when nothing changes, and return early on a change', async () => {
  await http('PUT', kv('b'), '1');
  const first = await http('GET', kv('b'));
  const idle = await http('GET', `${kv('b')}?index=${first.index}&wait=1s`);
  assert.ok(idle.ms >= 950, `blocked ${idle.ms} ms`);
  assert.equal(idle.index, first.index);
  const pending = http('GET', `${kv('b')}?index=${first.index}&wait=20s`);
  await sleep(200);
  await http('PUT', kv('b'), '2');
  const changed = await pending;
  assert.ok(changed.ms < 5000, `returned after ${changed.ms} ms`);
  assert.ok(changed.index! > first.index!);
  await http('DELETE', kv('b'));
});

test('agent services: a TTL check starts critical unless told, `passing` filters, pass refreshes, deregister removes', async () => {
  const id = `tiercast-test-${run}`;
  const name = `tiercast-test-${run}`;
  const reg = await http('PUT', '/v1/agent/service/register', {
    ID: id,
    Name: name,
    Tags: ['region:x'],
    Meta: { a: 'b' },
    Port: 1,
    Check: { CheckID: `service:${id}`, TTL: '1s' },
  });
  assert.equal(reg.status, 200, JSON.stringify(reg.body));
  try {
    const all = await http('GET', `/v1/health/service/${name}`);
    assert.ok(all.index !== undefined);
    const entries = all.body as Array<{
      Service: { ID: string; Meta: Record<string, string>; Tags: string[]; Port: number };
      Checks: Array<{ CheckID: string; Status: string }>;
    }>;
    assert.equal(entries.length, 1);
    assert.deepEqual(
      [entries[0]!.Service.ID, entries[0]!.Service.Meta, entries[0]!.Service.Tags, entries[0]!.Service.Port],
      [id, { a: 'b' }, ['region:x'], 1],
    );
    assert.equal(entries[0]!.Checks.find((c) => c.CheckID === `service:${id}`)?.Status, 'critical');
    assert.deepEqual((await http('GET', `/v1/health/service/${name}?passing`)).body, []);
    assert.equal((await http('PUT', `/v1/agent/check/pass/service:${id}`)).status, 200);
    assert.equal(((await http('GET', `/v1/health/service/${name}?passing`)).body as unknown[]).length, 1);
    await sleep(1600);
    assert.deepEqual(
      (await http('GET', `/v1/health/service/${name}?passing`)).body,
      [],
      'critical again after its TTL',
    );
    assert.ok((await http('PUT', `/v1/agent/check/pass/service:nope-${run}`)).status >= 400);
  } finally {
    assert.equal((await http('PUT', `/v1/agent/service/deregister/${id}`)).status, 200);
  }
  assert.deepEqual((await http('GET', `/v1/health/service/${name}`)).body, []);
});

test('blocking health queries return when the service changes', async () => {
  const name = `tiercast-test-w-${run}`;
  const first = await http('GET', `/v1/health/service/${name}?passing`);
  const pending = http('GET', `/v1/health/service/${name}?passing&index=${first.index}&wait=20s`);
  await sleep(200);
  await http('PUT', '/v1/agent/service/register', {
    ID: name,
    Name: name,
    Check: { TTL: '30s', Status: 'passing' },
  });
  try {
    const changed = await pending;
    assert.ok(changed.ms < 5000, `returned after ${changed.ms} ms`);
    assert.equal((changed.body as unknown[]).length, 1);
  } finally {
    await http('PUT', `/v1/agent/service/deregister/${name}`);
  }
});
