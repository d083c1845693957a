/**
 * Every role's /metrics as Prometheus's own linter sees it, with a stream live through the whole tree:
 * `promtool check metrics` finds nothing to say, each role exports its own families and the common ones
 * only (a hub has no relay or edge series), and every node says what it runs in tiercast_build_info.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { after, before, test } from 'node:test';
import { uwsBuild } from '../../src/common/http/uws-runtime.js';
import type { HubNode } from '../../src/hub/main.js';
import {
  publishLive,
  startNetwork,
  startTestHub,
  stop,
  waitFor,
  type TestNetwork,
} from '../helpers/network.js';

const PROMTOOL = spawnSync('promtool', ['--version']).error ? undefined : 'promtool';
const skip = PROMTOOL
  ? false
  : 'promtool not found: install the Debian package prometheus (scripts/install-deps.sh --test)';
const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

let hub: HubNode;
let net: TestNetwork;
let pub: Awaited<ReturnType<typeof publishLive>>['pub'];
const scraped = new Map<string, string>();

/** The families of an exposition, from its TYPE lines. */
function families(text: string): string[] {
  return [...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!);
}

before(async () => {
  if (skip) return;
  // A hub of its own: linking the tree to it would need its store to know the streamer, and adds nothing here.
  hub = await startTestHub();
  net = await startNetwork();
  ({ pub } = await publishLive(net, 30, () => undefined));
  // The relays' url is their cluster WebSocket; /metrics is on the same port.
  const http = (ws: string) => ws.replace(/^ws:/, 'http:');
  const urls = {
    hub: hub.url,
    ingress: http(net.ingress.url),
    intermediate: http(net.intermediates[0]!.url),
    edge: net.edgeUrl,
  };
  // Wait until the relays' families have samples, so the check covers labelled series, not only headers. A
  // relay pulls a stream only for a viewer: the manifest requests make the edge (and its parent) subscribe.
  await waitFor('chunks counted by every relay', async () => {
    await fetch(`${net.edgeUrl}/live/cam/manifest.mpd`).then((r) => r.arrayBuffer());
    for (const [role, url] of Object.entries(urls))
      scraped.set(role, await (await fetch(`${url}/metrics`)).text());
    return ['ingress', 'intermediate', 'edge'].every((r) =>
      /^tiercast_relay_chunks_total\{stream="cam"[^}]*\} [1-9]/m.test(scraped.get(r)!),
    )
      ? true
      : undefined;
  });
});

after(async () => {
  if (pub) await stop(pub);
  await net?.close();
  await hub?.close();
});

for (const role of ['hub', 'ingress', 'intermediate', 'edge']) {
  test(`${role}: promtool check metrics finds no problem`, { skip }, () => {
    const text = scraped.get(role)!;
    const r = spawnSync(PROMTOOL!, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(`${r.stdout}${r.stderr}`.trim(), '', 'no warnings');
    assert.equal(r.status, 0);
    assert.match(text, /^tiercast_process_cpu_seconds_total\{/m, 'default metrics with one prefix');
    assert.match(text, /^tiercast_nodejs_eventloop_lag_p99_seconds\{/m);
    assert.doesNotMatch(text, /tiercast_process_(process|nodejs)_/, 'no doubled prefix');
    const info = /^tiercast_build_info\{([^}]*)\} 1$/m.exec(text);
    assert.ok(info, 'tiercast_build_info is 1');
    assert.ok(info[1]!.includes(`version="${version}"`), info[1]);
    assert.ok(info[1]!.includes(`node_version="${process.version}"`), info[1]);
    assert.ok(info[1]!.includes(`uws_build="${uwsBuild()}"`), info[1]);
    assert.ok(info[1]!.includes(`node_role="${role}"`), info[1]);
  });
}

test('each role exports its own families and the common ones only', { skip }, () => {
  const f = Object.fromEntries([...scraped].map(([role, text]) => [role, families(text)]));
  const has = (role: string, prefix: string) => f[role]!.some((n) => n.startsWith(prefix));
  for (const prefix of [
    'tiercast_edge_',
    'tiercast_relay_',
    'tiercast_p2p_',
    'tiercast_ingress_',
    'tiercast_transcoder_',
  ])
    assert.equal(has('hub', prefix), false, `hub exports no ${prefix} family`);
  assert.ok(has('hub', 'tiercast_hub_chat_messages'));
  for (const role of ['ingress', 'intermediate'])
    for (const prefix of ['tiercast_edge_', 'tiercast_p2p_', 'tiercast_hub_'])
      assert.equal(has(role, prefix), false, `${role} exports no ${prefix} family`);
  assert.equal(has('intermediate', 'tiercast_ingress_'), false);
  assert.equal(has('edge', 'tiercast_ingress_') || has('edge', 'tiercast_transcoder_'), false);
  assert.equal(has('ingress', 'tiercast_relay_upstream_'), false, 'an ingress has no parent');
  for (const role of ['hub', 'ingress', 'intermediate', 'edge'])
    for (const common of [
      'tiercast_build_info',
      'tiercast_protocol_errors_total',
      'tiercast_discovery_consul_up',
    ])
      assert.ok(f[role]!.includes(common), `${role} exports ${common}`);
  assert.ok(
    f.edge!.includes('tiercast_edge_viewers') && f.edge!.includes('tiercast_relay_hop_latency_seconds'),
  );
  assert.ok(f.ingress!.includes('tiercast_transcoder_speed_ratio'));
});
