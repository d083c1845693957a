/**
 * How a node finds the leading hub of a group (src/common/http/hub-hosts.ts): a standby's 503
 * HUB_NOT_LEADER and a refused connection move the call on, to the leader named when it is one of the
 * node's hubs; a timeout or any other answer is never tried elsewhere (the hub may have acted on it).
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HubHosts } from '../../src/common/http/hub-hosts.js';

const servers: Server[] = [];
after(() => servers.forEach((s) => s.close()));

/** A fake hub answering every request with `answer`; counts the requests it got. */
async function fakeHub(
  answer: (url: string) => { status: number; headers?: Record<string, string> } | 'hang',
) {
  const seen: string[] = [];
  const s = createServer((req, res) => {
    seen.push(req.url ?? '');
    const a = answer(url);
    if (a === 'hang') return;
    res.writeHead(a.status, a.headers ?? {}).end('{}');
  });
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
  return { url, seen };
}

/** A URL nobody listens on (a closed server's port). */
async function deadUrl(): Promise<string> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
  await new Promise((r) => s.close(r));
  return url;
}

const standby = (leader?: string) => () => ({
  status: 503,
  headers: { 'x-tiercast-error': 'HUB_NOT_LEADER', ...(leader ? { 'x-tiercast-hub-leader': leader } : {}) },
});

describe('HubHosts', () => {
  it('a standby sends the call on to the leader it names; the next call goes there directly', async () => {
    const leader = await fakeHub(() => ({ status: 200 }));
    const other = await fakeHub(() => ({ status: 200 }));
    const s = await fakeHub(standby(leader.url));
    const hubs = new HubHosts(s.url, [other.url, leader.url]);
    assert.equal((await hubs.fetch('/x', {}, 1000)).status, 200);
    assert.equal(hubs.current, leader.url);
    await hubs.fetch('/y', {}, 1000);
    assert.deepEqual(s.seen, ['/x']);
    assert.deepEqual(other.seen, [], 'the named leader, not the next in the list');
    assert.deepEqual(leader.seen, ['/x', '/y']);
  });

  it('a leader named outside the list is not followed: the next hub of the list is', async () => {
    const next = await fakeHub(() => ({ status: 200 }));
    const s = await fakeHub(standby('http://elsewhere.example:8070'));
    const hubs = new HubHosts(s.url, [next.url]);
    assert.equal((await hubs.fetch('/x', {}, 1000)).status, 200);
    assert.equal(hubs.current, next.url);
  });

  it('a refused connection moves on; a timeout and a 500 do not (the hub may have acted)', async () => {
    const ok = await fakeHub(() => ({ status: 200 }));
    const hubs = new HubHosts(await deadUrl(), [ok.url]);
    assert.equal((await hubs.fetch('/x', {}, 1000)).status, 200);

    const slow = await fakeHub(() => 'hang');
    const spare = await fakeHub(() => ({ status: 200 }));
    const h2 = new HubHosts(slow.url, [spare.url]);
    await assert.rejects(h2.fetch('/x', { method: 'POST', body: 'once' }, 200));
    assert.deepEqual(spare.seen, [], 'not sent twice');

    const broken = await fakeHub(() => ({ status: 500 }));
    const h3 = new HubHosts(broken.url, [spare.url]);
    assert.equal((await h3.fetch('/x', {}, 1000)).status, 500);
    assert.deepEqual(spare.seen, []);
  });

  it('hubs learned from discovery are tried after the configured ones; the hub in use stays in use', async () => {
    const leader = await fakeHub(() => ({ status: 200 }));
    const s = await fakeHub(standby());
    const hubs = new HubHosts(s.url);
    hubs.learn([`${leader.url}/`, s.url]);
    assert.equal(hubs.count, 2, 'one entry per hub');
    assert.equal(hubs.current, s.url);
    assert.equal((await hubs.fetch('/x', {}, 1000)).status, 200);
    assert.equal(hubs.current, leader.url);
    hubs.learn([leader.url]);
    assert.equal(hubs.current, leader.url);
    hubs.learn([]);
    assert.equal(hubs.current, s.url, 'a hub discovery forgot is no longer used; the configured one stays');
  });

  it('with every hub a standby (an election under way) the call fails once each was asked', async () => {
    const a = await fakeHub(standby());
    const b = await fakeHub(standby());
    const hubs = new HubHosts(a.url, [b.url]);
    await assert.rejects(hubs.fetch('/x', {}, 1000), /standby/);
    assert.equal(a.seen.length + b.seen.length, 2);
  });
});
