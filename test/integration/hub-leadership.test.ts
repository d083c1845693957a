/**
 * The hubs' election (src/hub/leadership.ts) against the Consul test double: the first hub leads and the
 * second learns who; a clean close hands the lead over at once; a leader whose session Consul drops is
 * deposed and the standby takes over after the lock-delay; a leader that cannot reach Consul for a whole
 * session TTL steps down before Consul could let anyone else in.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { ConsulApi } from '../../src/common/discovery/consul-api.js';
import { ConsulLeadership } from '../../src/hub/leadership.js';
import { ConsulDouble } from '../consul-double/consul-double.js';
import { waitFor } from '../helpers/network.js';

const silent = pino({ level: 'silent' });
const doubles: ConsulDouble[] = [];
const open: ConsulLeadership[] = [];

after(async () => {
  for (const l of open) await l.close();
  for (const d of doubles) await d.close();
});

async function group(clock?: { now: number }) {
  const consul = await ConsulDouble.create();
  doubles.push(consul);
  const hub = (name: string) => {
    const l = new ConsulLeadership({
      api: new ConsulApi({ address: consul.address, requestTimeoutMs: 1000 }),
      key: 'tiercast/hub/leader',
      nodeId: name,
      url: `http://${name}.test:8070`,
      sessionTtlMs: 10_000,
      lockDelayMs: 300,
      logger: silent,
      pollMs: 50,
      ...(clock ? { now: () => clock.now } : {}),
    });
    open.push(l);
    const events: string[] = [];
    l.on('elected', () => events.push('elected'));
    l.on('deposed', () => events.push('deposed'));
    return { l, events };
  };
  return { consul, hub };
}

describe('hub leader election in Consul', () => {
  it('the first hub leads; the second stands by and knows the leader; a clean close hands over at once', async () => {
    const { hub } = await group();
    const a = hub('hub-a');
    await a.l.start();
    assert.equal(a.l.isLeader, true);
    assert.deepEqual(a.events, ['elected']);
    const b = hub('hub-b');
    await b.l.start();
    assert.equal(b.l.isLeader, false);
    assert.equal(b.l.leaderUrl, 'http://hub-a.test:8070');
    const t = Date.now();
    await a.l.close();
    await waitFor('hub-b to lead', () => b.l.isLeader, 5000, 10);
    assert.ok(Date.now() - t < 1000, `handed over in ${Date.now() - t} ms (no lock-delay, no TTL)`);
    assert.equal(b.l.leaderUrl, 'http://hub-b.test:8070');
  });

  it('a leader whose session Consul drops is deposed; after the lock-delay exactly one hub leads', async () => {
    const { consul, hub } = await group();
    const a = hub('hub-a');
    const b = hub('hub-b');
    await a.l.start();
    await b.l.start();
    const [session] = [...consul.state.sessions.keys()].filter(
      (id) => consul.state.sessions.get(id)!.Name === 'tiercast hub hub-a',
    );
    assert.ok(session, "hub-a's session");
    consul.state.invalidateSession(session);
    const t = Date.now();
    await waitFor('hub-a deposed', () => a.events.includes('deposed'), 5000, 10);
    await waitFor('a leader', () => a.l.isLeader || b.l.isLeader, 5000, 10);
    assert.ok(Date.now() - t >= 250, 'not before the lock-delay');
    await new Promise((r) => setTimeout(r, 300));
    const [leader, standby] = a.l.isLeader ? [a, b] : [b, a];
    assert.equal(standby.l.isLeader, false, 'one leader');
    assert.equal(standby.l.leaderUrl, leader.l.leaderUrl, 'and the other knows it');
  });

  it('a leader cut off from Consul steps down after one TTL without a renewal, not before', async () => {
    const clock = { now: Date.now() };
    const { consul, hub } = await group(clock);
    const a = hub('hub-a');
    await a.l.start();
    assert.equal(a.l.isLeader, true);
    await consul.stop();
    clock.now += 5_000;
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(a.l.isLeader, true, 'half a TTL without Consul: still leading');
    clock.now += 5_001;
    await waitFor('hub-a to step down', () => !a.l.isLeader, 5000, 10);
    assert.deepEqual(a.events, ['elected', 'deposed']);
    await consul.start();
    await waitFor('hub-a to lead again once Consul is back', () => a.l.isLeader, 5000, 10);
  });
});
