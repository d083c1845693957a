/**
 * Restream outputs with real processes (issue 16): a streamer adds an output through the remote API; going
 * live, the ingress pushes the stream to nginx-rtmp (a real RTMP server) and ffprobe reads it back from there;
 * an output to a dead address fails with a reason while the stream and the other output go on; nginx killed
 * and started again: the output reconnects. The third party's key is never in an answer, a log line or the
 * store in the clear.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import {
  KEY,
  publish,
  run,
  startNetwork,
  startTestHub,
  stop,
  waitFor,
  type TestNetwork,
} from '../helpers/network.js';
import { startNginxRtmp, type NginxRtmp } from '../helpers/nginx-rtmp.js';
import type { HubNode } from '../../src/hub/main.js';

const lines: string[] = [];
const logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(s) });
const ALICE_KEY = 'alice-key-0123456789';
const OUTPUT_KEY = 'live_4242_restreamSecretKey';
const DEAD_KEY = 'dead_target_secret_key_77';
const basic = { authorization: `Basic ${Buffer.from(`alice:${ALICE_KEY}`).toString('base64')}` };
/** A token from one Basic login: the tests poll, and Basic credentials are rate-limited like logins. */
let auth: { authorization: string };

let nginx: NginxRtmp;
let hub: HubNode;
let net: TestNetwork;
let pub: ReturnType<typeof publish> | undefined;

before(async () => {
  nginx = await startNginxRtmp();
  hub = await startTestHub({ logger, extra: { restream: { allowPrivateTargets: true } } });
  hub.store.streamers.add({ name: 'alice', key: ALICE_KEY, title: 'Alice live' });
  net = await startNetwork({ intermediates: 0, hub, logger });
  const t = (await (await fetch(`${hub.url}/api/v1/token`, { method: 'POST', headers: basic })).json()) as {
    token: string;
  };
  auth = { authorization: `Bearer ${t.token}` };
});

after(async () => {
  if (pub) await stop(pub);
  await net?.close();
  await hub?.close();
  await nginx?.stop();
});

/** What the remote API answers (the fields these tests read). */
interface Answer {
  output?: OutputView & { rendition: string; createdAt: number };
  outputs?: OutputView[];
  error?: { code: string; message: string };
}

const api = async (method: string, path: string, body?: unknown) => {
  const r = await fetch(`${hub.url}/api/v1/streams/alice${path}`, {
    method,
    headers: { ...auth, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await r.text();
  return { status: r.status, text, json: (text ? JSON.parse(text) : {}) as Answer };
};

type OutputView = { id: string; name: string; url: string; state: string; reason?: string };
const outputs = async () => (await api('GET', '/outputs')).json.outputs ?? [];
const stateOf = async (name: string) => (await outputs()).find((o) => o.name === name);

/** What ffprobe reads from the RTMP server under `key`. */
async function probe(key: string) {
  const r = await run(
    'ffprobe',
    [
      '-v',
      'error',
      '-rw_timeout',
      '8000000',
      '-show_entries',
      'stream=codec_type,codec_name,width,height',
      '-of',
      'json',
      `${nginx.appUrl}/${key}`,
    ],
    20_000,
  );
  const streams =
    (JSON.parse(r.stdout || '{}') as { streams?: Array<Record<string, unknown>> }).streams ?? [];
  return streams.map((s) => [s.codec_type, s.codec_name, s.width ?? null, s.height ?? null]);
}

test('outputs are added with their key sealed; bad ones are refused with a code', async () => {
  const made = await api('POST', '/outputs', { name: 'nginx', url: nginx.appUrl, key: OUTPUT_KEY });
  assert.equal(made.status, 201, made.text);
  assert.deepEqual(
    { ...made.json.output, id: undefined, createdAt: undefined },
    {
      id: undefined,
      createdAt: undefined,
      name: 'nginx',
      url: nginx.appUrl,
      rendition: 'source',
      state: 'off',
    },
  );
  const dead = await api('POST', '/outputs', { name: 'dead', url: 'rtmp://127.0.0.1:9/live', key: DEAD_KEY });
  assert.equal(dead.status, 201, dead.text);
  const refused: Array<[string, unknown, number, string]> = [
    ['not RTMP', { name: 'x', url: 'http://127.0.0.1/live', key: 'k' }, 400, 'RESTREAM_TARGET_REFUSED'],
    [
      'credentials in the URL',
      { name: 'x', url: 'rtmp://u:p@127.0.0.1/live', key: 'k' },
      400,
      'RESTREAM_TARGET_REFUSED',
    ],
    ['a query', { name: 'x', url: 'rtmp://127.0.0.1/live?key=1', key: 'k' }, 400, 'RESTREAM_TARGET_REFUSED'],
    ['a key with a space', { name: 'x', url: nginx.appUrl, key: 'two words' }, 400, 'INVALID_VALUE'],
    ['no key', { name: 'x', url: nginx.appUrl }, 400, 'INVALID_VALUE'],
  ];
  for (const [what, body, status, code] of refused) {
    const r = await api('POST', '/outputs', body);
    assert.equal(r.status, status, what);
    assert.equal(r.json.error?.code, code, what);
  }
  const listed = await api('GET', '/outputs');
  assert.deepEqual(
    (listed.json.outputs ?? []).map((o) => o.name),
    ['nginx', 'dead'],
  );
  assert.ok(
    !listed.text.includes(OUTPUT_KEY) && !made.text.includes(OUTPUT_KEY),
    'the key is never given back',
  );
  for (const o of hub.store.restream.list('alice'))
    assert.ok(!o.keySealed.includes(OUTPUT_KEY) && !o.keySealed.includes(DEAD_KEY));
});

test('going live pushes the stream to nginx-rtmp; a dead target fails alone; a killed target is rejoined; the next go-live pushes again', async () => {
  pub = publish(net.rtmpUrl, ALICE_KEY, 120);
  await waitFor('the output is live', async () => (await stateOf('nginx'))?.state === 'live', 40_000, 250);
  assert.deepEqual(
    (await probe(OUTPUT_KEY)).sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    [
      ['audio', 'aac', null, null],
      ['video', 'h264', 640, 360],
    ],
    'the top rendition (no Source in this ladder) and the audio',
  );
  const dead = await waitFor(
    'the dead output fails',
    async () => {
      const d = await stateOf('dead');
      return d?.state === 'failed' && d;
    },
    20_000,
    250,
  );
  assert.match(dead.reason ?? '', /refused|Connection|error/i);
  assert.ok(!(dead.reason ?? '').includes(DEAD_KEY), 'the reason names no key');
  assert.equal(net.ingress.relay.get('alice')?.state, 'live', 'the stream itself is live all along');

  // The target goes away and comes back: the output reports it and reconnects.
  await nginx.stop();
  await waitFor('the output notices', async () => (await stateOf('nginx'))?.state !== 'live', 20_000, 250);
  await nginx.start();
  await waitFor(
    'the output is live again',
    async () => (await stateOf('nginx'))?.state === 'live',
    40_000,
    250,
  );
  assert.deepEqual((await probe(OUTPUT_KEY)).map((s) => s[0]).sort(), ['audio', 'video']);
  assert.equal(net.ingress.relay.get('alice')?.state, 'live');

  const logged = lines.join('');
  assert.match(logged, /RESTREAM_FAILED/);
  assert.ok(!logged.includes(OUTPUT_KEY) && !logged.includes(DEAD_KEY), 'no output key in any log line');
  assert.ok(!logged.includes(KEY) && !logged.includes(ALICE_KEY), 'nor a stream key');

  await stop(pub);
  pub = undefined;
  await waitFor(
    'stopped with the stream',
    async () => (await stateOf('nginx'))?.state === 'stopped',
    20_000,
    250,
  );

  // Going live again on the same ingress (which still holds the end of the last publish) pushes again.
  pub = publish(net.rtmpUrl, ALICE_KEY, 120);
  await waitFor(
    'live again on the next go-live',
    async () => (await stateOf('nginx'))?.state === 'live',
    40_000,
    250,
  );
  assert.deepEqual((await probe(OUTPUT_KEY)).map((s) => s[0]).sort(), ['audio', 'video']);
  await stop(pub);
  pub = undefined;
});

test('removing an output: gone from the list; another channel cannot see or remove it', async () => {
  const [first] = await outputs();
  const bob = { authorization: `Basic ${Buffer.from('bob:bob-key-0123456789ab').toString('base64')}` };
  hub.store.streamers.add({ name: 'bob', key: 'bob-key-0123456789ab' });
  const other = await fetch(`${hub.url}/api/v1/streams/bob/outputs/${first!.id}`, {
    method: 'DELETE',
    headers: bob,
  });
  assert.equal(other.status, 404);
  assert.equal((await api('DELETE', `/outputs/${first!.id}`)).status, 204);
  assert.deepEqual(
    (await outputs()).map((o) => o.name),
    ['dead'],
  );
});
