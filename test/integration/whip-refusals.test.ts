/**
 * WHIP (POST /whip on the ingress) refusals, each with its status, code and reason, while the ingress
 * keeps serving an RTMP stream: wrong or missing token → 401, the RTMP stream's key → 409, not
 * application/sdp → 415, a malformed offer → 400 with the reason, an offer without H.264 → 400, more than
 * 4 tracks → 400, a 1 MB body → 413, an unknown resource → 404, PATCH → 405; CORS preflight. No log line
 * holds a key.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { ingressSchema } from '../../src/common/config/index.js';
import { startIngress, type IngressNode } from '../../src/ingress/main.js';
import { publish, stop, waitFor } from '../helpers/network.js';

const KEY = 'whip_refusal_key_0001';
const RTMP_KEY = 'whip_refusal_rtmp_0002';
const logs: string[] = [];
const logger = pino({ level: 'info' }, { write: (s: string) => void logs.push(s) });
let node: IngressNode;
let whip: string;
let rtmp: ReturnType<typeof publish>;

/** An offer as Chromium makes it, with the video codecs and media sections asked for. */
function offer(o: { video?: string[]; sections?: number } = {}): string {
  const codecs = o.video ?? ['H264'];
  const lines = [
    'v=0',
    'o=- 4611731400430051336 2 IN IP4 127.0.0.1',
    's=-',
    't=0 0',
    'a=group:BUNDLE 0',
    'a=msid-semantic: WMS',
  ];
  for (let i = 0; i < (o.sections ?? 1); i++) {
    const pts = codecs.map((_, j) => 96 + j);
    lines.push(
      `m=video 9 UDP/TLS/RTP/SAVPF ${pts.join(' ')}`,
      'c=IN IP4 0.0.0.0',
      'a=ice-ufrag:abcd',
      'a=ice-pwd:abcdefghijklmnopqrstuvwx',
      'a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF',
      'a=setup:actpass',
      `a=mid:${i}`,
      'a=sendonly',
      'a=rtcp-mux',
    );
    codecs.forEach((c, j) => {
      lines.push(`a=rtpmap:${96 + j} ${c}/90000`);
      if (c === 'H264')
        lines.push(`a=fmtp:${96 + j} level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f`);
    });
  }
  return lines.join('\r\n') + '\r\n';
}

async function post(body: string | Blob, headers: Record<string, string> = {}) {
  const r = await fetch(whip, {
    method: 'POST',
    headers: { 'content-type': 'application/sdp', authorization: `Bearer ${KEY}`, ...headers },
    body,
  });
  const text = await r.text();
  let error: { code?: string; message?: string } = {};
  try {
    error = (JSON.parse(text) as { error: typeof error }).error;
  } catch {
    // not JSON
  }
  return { status: r.status, error, headers: r.headers };
}

before(async () => {
  node = await startIngress(
    ingressSchema.parse({
      nodeId: 'ingress-whip',
      clusterSecret: 'whip-refusals-secret-0123456789',
      rtmp: { host: '127.0.0.1', port: 0 },
      http: { host: '127.0.0.1', port: 0 },
      streamers: [
        { name: 'cam', key: KEY },
        { name: 'rtmpcam', key: RTMP_KEY },
      ],
      transcode: {
        preset: 'ultrafast',
        ladder: [{ id: 'v240', height: 240, videoBitrateKbps: 300 }],
        restartBackoffMs: 100,
      },
    }),
    logger,
  );
  whip = `http://127.0.0.1:${node.port}/whip`;
  rtmp = publish(`rtmp://127.0.0.1:${node.rtmpPort}/live`, RTMP_KEY, 120);
  await waitFor('the RTMP stream to go live', () => node.live.get('rtmpcam')?.isLive === true, 30_000);
});

after(async () => {
  if (rtmp) await stop(rtmp);
  await node?.close();
  for (const k of [KEY, RTMP_KEY])
    assert.ok(!logs.some((l) => l.includes(k)), 'a log line holds a stream key');
});

test('a wrong or missing token is 401 BAD_STREAM_KEY', async () => {
  const wrong = await post(offer(), { authorization: 'Bearer not_a_key_at_all' });
  assert.equal(wrong.status, 401);
  assert.equal(wrong.error.code, 'BAD_STREAM_KEY');
  assert.equal(wrong.headers.get('www-authenticate'), 'Bearer');
  const missing = await post(offer(), { authorization: '' });
  assert.equal(missing.status, 401);
  assert.match(missing.error.message ?? '', /Authorization: Bearer/);
  assert.equal(node.live.has('cam'), false);
});

test('the key of a stream already live (here over RTMP) is 409 STREAM_ALREADY_LIVE', async () => {
  const r = await post(offer(), { authorization: `Bearer ${RTMP_KEY}` });
  assert.equal(r.status, 409);
  assert.equal(r.error.code, 'STREAM_ALREADY_LIVE');
  assert.equal(node.live.get('rtmpcam')?.isLive, true, 'the RTMP publish is not taken over');
});

test('a body that is not application/sdp is 415', async () => {
  const r = await post(offer(), { 'content-type': 'application/json' });
  assert.equal(r.status, 415);
  assert.equal(r.error.code, 'WHIP_BAD_CONTENT_TYPE');
});

test('a malformed offer is 400 with the reason', async () => {
  const r = await post('hello, this is not SDP');
  assert.equal(r.status, 400);
  assert.equal(r.error.code, 'WHIP_BAD_OFFER');
  assert.match(r.error.message ?? '', /not an SDP offer/);
  const noIce = await post(offer().replace(/a=ice-ufrag:abcd\r\n/, ''));
  assert.equal(noIce.status, 400);
  assert.match(noIce.error.message ?? '', /ICE credentials/);
});

test('an offer without H.264 is 400 naming what was offered', async () => {
  const r = await post(offer({ video: ['VP8', 'VP9'] }));
  assert.equal(r.status, 400);
  assert.equal(r.error.code, 'UNSUPPORTED_CODEC');
  assert.match(r.error.message ?? '', /no H\.264 .*offered: VP8, VP9/);
});

test('more than 4 tracks is 400', async () => {
  const r = await post(offer({ sections: 5 }));
  assert.equal(r.status, 400);
  assert.match(r.error.message ?? '', /5 media sections; at most 4/);
});

test('a 1 MB body is 413', async () => {
  const r = await post(new Blob(['a'.repeat(1024 * 1024)]));
  assert.equal(r.status, 413);
  assert.equal(r.error.code, 'PAYLOAD_TOO_LARGE');
});

test('unknown resource 404, PATCH 405, CORS preflight exposes Location', async () => {
  const del = await fetch(`${whip}/nope`, { method: 'DELETE' });
  assert.equal(del.status, 404);
  const patch = await fetch(`${whip}/nope`, { method: 'PATCH', headers: { 'content-type': 'application/trickle-ice-sdpfrag' }, body: 'a=end-of-candidates' }); // prettier-ignore
  assert.equal(patch.status, 405);
  const pre = await fetch(whip, {
    method: 'OPTIONS',
    headers: { origin: 'https://example.test', 'access-control-request-method': 'POST' },
  });
  assert.equal(pre.status, 204);
  assert.equal(pre.headers.get('access-control-allow-origin'), '*');
  assert.match(pre.headers.get('access-control-allow-headers') ?? '', /Authorization/);
  assert.match(pre.headers.get('access-control-expose-headers') ?? '', /Location/);
});

test('the RTMP stream stayed live through all of it', () => {
  assert.equal(node.live.get('rtmpcam')?.isLive, true);
  assert.equal(rtmp.exitCode, null, rtmp.stderrText());
  // Each refusal is logged with its code (the wrong key by the shared publish flow, as for RTMP).
  const refused = logs.filter((l) => l.includes('WHIP publish refused'));
  assert.equal(refused.length, 7, refused.join('\n'));
  assert.ok(logs.some((l) => l.includes('"publish refused"') && l.includes('BAD_STREAM_KEY')));
  assert.ok(logs.some((l) => l.includes('publish refused') && l.includes('STREAM_ALREADY_LIVE')));
});
