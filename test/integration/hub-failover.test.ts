/**
 * Two hub processes on one PostgreSQL store elect a leader in Consul (the test double of its HTTP API):
 * one leads, the other answers 503 HUB_NOT_LEADER naming it. Two edges link to the leader (one is told only
 * of the standby and finds the leader among the hubs registered in Consul); two viewers chat across them.
 * The leader is killed with SIGKILL mid-chat, while both keep sending: the standby takes the lock once Consul drops the dead hub's session, the edges move to it and
 * send what was never acknowledged. Every message arrives exactly once, in the same order on both edges.
 * Logins and stream-key checks keep working during the handover (the standby serves what needs only the
 * store), the session then works with the new leader; the old hub, restarted, stands by.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { edgeSchema } from '../../src/common/config/index.js';
import { startEdge, type EdgeNode } from '../../src/edge/main.js';
import { HubClient } from '../../src/ingress/hub-client.js';
import { AUTH_HEADER, createClusterToken } from '../../src/common/protocol/index.js';
import { ConsulDouble } from '../consul-double/consul-double.js';
import { ChatClient } from '../helpers/chat-client.js';
import { HubProcess, cli, freePort } from '../helpers/hub-process.js';
import { SECRET, waitFor } from '../helpers/network.js';
import { postgresMissing, startPostgres, type PgCluster } from '../helpers/postgres.js';

const missing = postgresMissing();
const KEY = 'ha-cam-key-0123456789abcdef';
const dir = mkdtempSync(join(tmpdir(), 'tiercast-hub-ha-'));
const silent = pino({ level: 'silent' });
let cluster: PgCluster | undefined;
let consul: ConsulDouble | undefined;
const hubs: HubProcess[] = [];
const edges: EdgeNode[] = [];
const clients: ChatClient[] = [];
let hubA: HubProcess;
let hubB: HubProcess;

/** A hub of the group: PostgreSQL, Consul, `ha.enabled`, chat limits high enough for a quick exchange. */
function hubConfig(name: string, port: number, pgUrl: string): string {
  const p = join(dir, `${name}.yaml`);
  writeFileSync(
    p,
    [
      `nodeId: ${name}`,
      `dataDir: ${join(dir, 'unused')}`,
      'store: postgres',
      `postgres: { url: "${pgUrl}" }`,
      'discovery:',
      '  backend: consul',
      `  consul: { address: "${consul!.address}", sessionTtlMs: 10000, lockDelayMs: 500 }`,
      `ha: { enabled: true, advertiseUrl: "http://127.0.0.1:${port}" }`,
      'chat: { userRate: { messages: 100, perMs: 1000 }, ipRate: { messages: 200, perMs: 1000 } }',
      '',
    ].join('\n'),
  );
  return p;
}

/** What an edge's /api proxy sends the hub. */
const proxyHeaders = { [AUTH_HEADER]: createClusterToken(SECRET, 'edge-t', 'viewer-proxy') };

/** A streamer's login with the stream key through an edge's /api, as the page does; the session cookie. */
async function streamerLogin(edgeUrl: string): Promise<string> {
  const c = await fetch(`${edgeUrl}/api/auth/csrf`);
  assert.equal(c.status, 200, await c.clone().text());
  const { csrf } = (await c.json()) as { csrf: string };
  const r = await fetch(`${edgeUrl}/api/auth/streamer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-tiercast-csrf': csrf, cookie: `tc_csrf=${csrf}` },
    body: JSON.stringify({ key: KEY }),
  });
  assert.equal(r.status, 200, await r.clone().text());
  const cookie = r.headers.getSetCookie().find((x) => x.startsWith('tc_session='));
  assert.ok(cookie, 'a session cookie');
  return cookie.split(';')[0]!;
}

const leads = async (hub: HubProcess): Promise<boolean> =>
  /^tiercast_hub_leader(\{[^}]*\})? 1$/m.test(await (await fetch(`${hub.url}/metrics`)).text());

/** An edge of the group: told of `known` hubs; with `discover`, finds the others in Consul. */
async function edge(name: string, known: HubProcess[], discover = false): Promise<EdgeNode> {
  const e = await startEdge(
    edgeSchema.parse({
      nodeId: name,
      clusterSecret: SECRET,
      http: { host: '127.0.0.1', port: 0 },
      upstream: { parents: ['ws://127.0.0.1:9'] },
      hub: {
        url: known[0]!.url,
        standbys: known.slice(1).map((h) => h.url),
        reconnectBackoffMaxMs: 300,
      },
      ...(discover ? { discovery: { backend: 'consul', consul: { address: consul!.address } } } : {}),
    }),
    silent,
  );
  edges.push(e);
  return e;
}

async function viewer(e: EdgeNode, name: string): Promise<ChatClient> {
  const c = new ChatClient(e.url, 'cam', { name });
  clients.push(c);
  await c.opened;
  await waitFor(`${name} joined`, () => c.you(), 15_000);
  return c;
}

before(async () => {
  if (missing) return;
  cluster = await startPostgres();
  await cluster.createRole('tiercast', 'ha-pw-123');
  await cluster.createDatabase('tiercast', 'tiercast');
  consul = await ConsulDouble.create();
  const pgUrl = `postgres://tiercast:ha-pw-123@127.0.0.1:${cluster.port}/tiercast`;
  const [pa, pb] = [await freePort(), await freePort()];
  const [ca, cb] = [hubConfig('hub-a', pa, pgUrl), hubConfig('hub-b', pb, pgUrl)];
  const add = await cli(['streamer', 'add', '--name', 'cam', '--key', KEY, '-c', ca]);
  assert.equal(add.code, 0, add.stderr);
  hubA = new HubProcess(pa, join(dir, 'unused'), ['--config', ca]);
  hubB = new HubProcess(pb, join(dir, 'unused'), ['--config', cb]);
  hubs.push(hubA, hubB);
  await hubA.start();
  await waitFor('hub-a leads', () => leads(hubA), 15_000);
  await hubB.start();
});

after(async () => {
  for (const c of clients) c.close();
  for (const e of edges) await e.close();
  for (const h of hubs) await h.kill();
  await consul?.close();
  await cluster?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test(
  'one hub leads; the other answers 503 HUB_NOT_LEADER and names the leader',
  { skip: missing },
  async () => {
    assert.equal(await leads(hubB), false);
    const r = await waitFor(
      'the standby to know the leader',
      async () => {
        const res = await fetch(`${hubB.url}/edge-api/me`, { headers: proxyHeaders });
        return res.headers.get('x-tiercast-hub-leader') ? res : undefined;
      },
      10_000,
    );
    assert.equal(r.status, 503);
    assert.equal(r.headers.get('x-tiercast-error'), 'HUB_NOT_LEADER');
    assert.equal(r.headers.get('x-tiercast-hub-leader'), hubA.url);
    assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'HUB_NOT_LEADER');
    assert.equal((await fetch(`${hubB.url}/healthz`)).status, 200, 'a standby is healthy');
    const csrf = await fetch(`${hubB.url}/edge-api/auth/csrf`, { headers: proxyHeaders });
    assert.equal(csrf.status, 200, 'what needs only the store is served by a standby too');
    await csrf.body?.cancel();
  },
);

test(
  'the leader is killed mid-chat: every message arrives once, in the same order on both edges',
  { skip: missing },
  async () => {
    // Edge 1 is told only of the standby: it finds the leader in Consul (the hubs register there).
    const e1 = await edge('edge-1', [hubB], true);
    const e2 = await edge('edge-2', [hubA, hubB]);
    const ann = await viewer(e1, 'ann');
    const bob = await viewer(e2, 'bob');

    const sent: string[] = [];
    let n = 0;
    const say = () => {
      const who = n % 2 === 0 ? ann : bob;
      const text = `m${String(n).padStart(3, '0')}`;
      who.send(text);
      sent.push(`${n % 2 === 0 ? 'ann' : 'bob'}: ${text}`);
      n++;
    };
    for (let i = 0; i < 20; i++) {
      say();
      await new Promise((r) => setTimeout(r, 30));
    }
    await waitFor('the first messages on both edges', () => bob.texts().length >= 10, 10_000);
    // SIGKILL while messages are in flight; both keep talking through the outage.
    for (let i = 0; i < 4; i++) say();
    await hubA.kill();
    const killedAt = Date.now();
    const talking = setInterval(say, 250);
    let session: string;
    try {
      // While no hub leads, a streamer still logs in through the edge and a publish's key is still checked:
      // the standby serves what needs only the shared store.
      session = await streamerLogin(e1.url);
      const ingress = new HubClient({
        url: hubA.url,
        standbys: [hubB.url],
        nodeId: 'ingress-t',
        clusterSecret: SECRET,
        logger: silent,
      });
      try {
        assert.equal((await ingress.authorize(KEY)).name, 'cam');
      } finally {
        ingress.close();
      }
      assert.equal(await leads(hubB), false, 'checked before the standby took over');
      await waitFor('hub-b to lead', () => leads(hubB), 40_000, 200);
      console.log(`# SIGKILL → hub-b leads: ${Date.now() - killedAt} ms`);
      await new Promise((r) => setTimeout(r, 1500));
    } finally {
      clearInterval(talking);
    }
    await waitFor(
      'every message on both edges',
      () => ann.texts().length >= sent.length && bob.texts().length >= sent.length,
      30_000,
    );
    console.log(`# SIGKILL → the ${sent.length} messages on both edges: ${Date.now() - killedAt} ms`);
    await new Promise((r) => setTimeout(r, 500)); // a duplicate would show up by now
    for (const c of [ann, bob]) {
      const texts = c.texts();
      assert.equal(new Set(texts).size, texts.length, `a message arrived twice: ${texts.join(', ')}`);
      assert.deepEqual([...texts].sort(), [...sent].sort(), 'every message, and only those');
      for (const who of ['ann', 'bob'])
        assert.deepEqual(
          texts.filter((t) => t.startsWith(who)),
          sent.filter((t) => t.startsWith(who)),
          `${who}'s messages in the order sent`,
        );
    }
    assert.deepEqual(ann.texts(), bob.texts(), 'both edges show one order');
    // Numbered on by the new leader from where the dead one stopped: no gap, no repeat.
    const seqs = bob.messages().map((m) => m.seq);
    assert.deepEqual(
      seqs,
      seqs.map((_, i) => seqs[0]! + i),
      'one sequence with no gap',
    );

    // The session from the handover works with the new leader, through the other edge.
    const me = await fetch(`${e2.url}/api/me`, { headers: { cookie: session } });
    assert.equal(me.status, 200);
    assert.deepEqual(((await me.json()) as { user: unknown }).user, { name: 'cam', role: 'streamer' });
  },
);

test('the old leader, restarted, stands by', { skip: missing }, async () => {
  await hubA.start();
  assert.equal(await leads(hubA), false);
  assert.equal(await leads(hubB), true);
  const r = await fetch(`${hubA.url}/edge-api/me`, { headers: proxyHeaders });
  assert.equal(r.status, 503);
  assert.equal(r.headers.get('x-tiercast-hub-leader'), hubB.url);
  await r.body?.cancel();
});
