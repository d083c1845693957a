/**
 * The netns harness itself: hosts with their own addresses reach each other and the test process, delay
 * is added on a host's egress, a cut link carries nothing until restored, and cleanup leaves nothing behind.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import {
  checkNetnsSupport,
  cleanupLeftovers,
  createHosts,
  PREFIX,
  type HostNetwork,
  type HostProcess,
} from './netns.js';
import { IP, sh } from './shell.js';

const support = checkNetnsSupport();
const skip = support.ok ? false : `netns harness unavailable: ${support.reason}`;
const ECHO_PORT = 7000;
const ECHO = `require('net').createServer((s) => s.pipe(s)).listen(${ECHO_PORT}, '0.0.0.0', () => console.log('listening'))`;

let net: HostNetwork | undefined;
let echo: HostProcess | undefined;

/** Connects, sends one byte, and resolves with the round-trip time in ms (or rejects after timeoutMs). */
function roundTrip(address: string, timeoutMs = 3000): Promise<number> {
  return new Promise((resolve, reject) => {
    const s: Socket = connect({ host: address, port: ECHO_PORT });
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no answer from ${address} within ${timeoutMs} ms`));
    }, timeoutMs);
    s.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    s.once('connect', () => {
      const t0 = performance.now();
      s.once('data', () => {
        clearTimeout(timer);
        resolve(performance.now() - t0);
        s.destroy();
      });
      s.write('x');
    });
  });
}

async function waitEcho(address: string): Promise<void> {
  const end = Date.now() + 10_000;
  for (;;) {
    try {
      await roundTrip(address, 1000);
      return;
    } catch (err) {
      if (Date.now() > end) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

before(async () => {
  if (skip) return;
  net = await createHosts(['alpha', 'beta']);
  echo = net.host('alpha').spawn(process.execPath, ['-e', ECHO]);
  await waitEcho(net.host('alpha').address);
});

after(() => {
  net?.cleanup();
});

test('hosts have their own addresses and reach each other and the test process', { skip }, async () => {
  const { hosts } = net!;
  assert.deepEqual(
    hosts.map((h) => h.address),
    ['10.77.0.10', '10.77.0.11'],
  );
  const addr = await hosts[1]!.exec(IP, ['-4', '-o', 'addr', 'show', 'dev', 'eth0']);
  assert.match(addr.stdout, /10\.77\.0\.11\/24/);
  // beta → alpha over the link, from inside beta's namespace.
  const r = await hosts[1]!.exec(process.execPath, [
    '-e',
    `const s=require('net').connect(${ECHO_PORT},'${hosts[0]!.address}',()=>s.write('ok'));s.on('data',d=>{console.log(String(d));s.destroy()})`,
  ]);
  assert.equal(r.stdout.trim(), 'ok', r.stderr);
  console.log(`# links: ${net!.mode}`);
});

test('netem delay applies to what a host sends', { skip }, async (t) => {
  if (!net!.canImpair) return t.skip('bridge links on a kernel without sch_netem: no delay possible');
  const alpha = net!.host('alpha');
  const base = await roundTrip(alpha.address);
  await net!.netem(alpha, { delayMs: 40 });
  const delayed = await roundTrip(alpha.address);
  await net!.netem(alpha, {});
  const back = await roundTrip(alpha.address);
  console.log(
    `# rtt: ${base.toFixed(1)} ms, with 40 ms delay ${delayed.toFixed(1)} ms, after ${back.toFixed(1)} ms`,
  );
  assert.ok(delayed >= 39 && delayed < 200, `rtt with 40 ms egress delay: ${delayed} ms`);
  assert.ok(back < 30, `rtt after removing the delay: ${back} ms`);
});

test('100 % loss drops everything the host sends; 0 % lets it through again', { skip }, async (t) => {
  if (!net!.canImpair) return t.skip('bridge links on a kernel without sch_netem: no loss possible');
  const alpha = net!.host('alpha');
  await net!.netem(alpha, { lossPct: 100 });
  await assert.rejects(roundTrip(alpha.address, 800));
  await net!.netem(alpha, { lossPct: 0 });
  await waitEcho(alpha.address);
});

test('a cut link carries nothing until restored; processes keep running', { skip }, async () => {
  const alpha = net!.host('alpha');
  await net!.cut(alpha);
  await assert.rejects(roundTrip(alpha.address, 800));
  assert.ok(echo!.alive(), 'the echo server still runs while its link is cut');
  await net!.restore(alpha);
  await waitEcho(alpha.address);
});

test('kill ends a host process; cleanup removes every namespace and link of the run', { skip }, async () => {
  await net!.kill(echo!);
  assert.equal(echo!.alive(), false);
  net!.cleanup();
  net!.cleanup(); // idempotent
  const ours = `${PREFIX}${process.pid.toString(36)}`;
  assert.doesNotMatch(sh(IP, ['netns', 'list']).stdout, new RegExp(ours));
  // TUN devices disappear when the switch exits, a moment after it is killed.
  const end = Date.now() + 3000;
  while (sh(IP, ['-o', 'link', 'show']).stdout.includes(ours) && Date.now() < end)
    await new Promise((r) => setTimeout(r, 50));
  assert.doesNotMatch(sh(IP, ['-o', 'link', 'show']).stdout, new RegExp(ours));
  assert.deepEqual(cleanupLeftovers(), []);
});
