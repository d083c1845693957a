/**
 * The test push service (test/helpers/push-service.ts) against the real `web-push` library: a push web-push
 * sends is decrypted and delivered, and each thing a real push service refuses is refused: a JWT not signed by
 * `k`, a JWT for another audience or already expired, a missing TTL, a body encrypted for another subscription,
 * a VAPID key the subscription was not made with. `respondWith` and unknown endpoints answer as FCM does.
 */
import { strict as assert } from 'node:assert';
import { request } from 'node:https';
import { after, before, test } from 'node:test';
import webpush, { type RequestDetails, type RequestOptions, type WebPushError } from 'web-push';
import { startPushService, type PushService } from '../helpers/push-service.js';

const SUBJECT = 'mailto:ops@example.org';
const vapid = webpush.generateVAPIDKeys();
let ps: PushService;
before(async () => (ps = await startPushService()));
after(() => ps.close());

const options = (): RequestOptions => ({
  vapidDetails: { subject: SUBJECT, ...vapid },
  TTL: 60,
  contentEncoding: 'aes128gcm',
  agent: ps.agent,
});

/** POSTs a request web-push prepared, with `headers` changed; answers the status and the refusal text. */
function post(d: RequestDetails, headers: Record<string, string | undefined>): Promise<[number, string]> {
  const all = Object.fromEntries(
    Object.entries({ ...d.headers, ...headers }).filter((e): e is [string, string] => e[1] !== undefined),
  );
  return new Promise((resolve, reject) => {
    const req = request(d.endpoint, { method: 'POST', headers: all, agent: ps.agent }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve([res.statusCode ?? 0, text]));
    });
    req.on('error', reject);
    req.end(d.body ?? undefined);
  });
}

test('a push web-push sends arrives decrypted, with its TTL, urgency, topic and VAPID identity', async () => {
  const sub = ps.subscribe(vapid.publicKey);
  const res = await webpush.sendNotification(sub, JSON.stringify({ title: 'x' }), {
    ...options(),
    urgency: 'high',
    topic: 'live-now',
  });
  assert.equal(res.statusCode, 201);
  const [msg] = await ps.waitFor(1);
  assert.deepEqual(msg, {
    endpoint: sub.endpoint,
    ttl: 60,
    urgency: 'high',
    topic: 'live-now',
    payload: { title: 'x' },
    vapidSubject: SUBJECT,
    vapidPublicKey: vapid.publicKey,
  });
});

test('a JWT signed by another key than the k it names is refused 401', async () => {
  const d = webpush.generateRequestDetails(ps.subscribe(), '{}', options());
  const other = webpush.generateVAPIDKeys().publicKey;
  const authorization = d.headers.Authorization?.replace(/k=[\w-]+$/, `k=${other}`);
  assert.notEqual(authorization, d.headers.Authorization);
  const [status, reason] = await post(d, { Authorization: authorization });
  assert.equal(status, 401);
  assert.match(reason, /signature/);
});

test('a JWT for another audience, or already expired, is refused 401', async () => {
  const sub = ps.subscribe();
  const elsewhere = webpush.generateRequestDetails(
    { ...sub, endpoint: 'https://fcm.googleapis.com/fcm/send/x' },
    '{}',
    options(),
  );
  const d = { ...webpush.generateRequestDetails(sub, '{}', options()), endpoint: sub.endpoint };
  const [audStatus, audReason] = await post(d, { Authorization: elsewhere.headers.Authorization });
  assert.equal(audStatus, 401);
  assert.match(audReason, /aud https:\/\/fcm\.googleapis\.com is not/);

  const expired = webpush.getVapidHeaders(
    ps.url,
    SUBJECT,
    vapid.publicKey,
    vapid.privateKey,
    'aes128gcm',
    Math.floor(Date.now() / 1000) - 60,
  );
  const [expStatus, expReason] = await post(d, { Authorization: expired.Authorization });
  assert.equal(expStatus, 401);
  assert.match(expReason, /exp/);
  assert.equal((await post(d, {}))[0], 201, 'the same request with its own header is delivered');
});

test('a missing TTL, a body for another subscription, a key the subscription refuses: 400, 400, 403', async () => {
  const sub = ps.subscribe(vapid.publicKey);
  const d = webpush.generateRequestDetails(sub, '{}', options());
  assert.equal((await post(d, { TTL: undefined }))[0], 400);
  const forOther = webpush.generateRequestDetails(ps.subscribe(), '{}', options());
  const [status, reason] = await post({ ...forOther, endpoint: sub.endpoint }, {});
  assert.equal(status, 400);
  assert.match(reason, /decrypt/);
  const stranger = webpush.generateVAPIDKeys();
  await assert.rejects(
    webpush.sendNotification(sub, '{}', { ...options(), vapidDetails: { subject: SUBJECT, ...stranger } }),
    (e: WebPushError) => e.statusCode === 403,
  );
});

test('respondWith(410) makes sendNotification fail with 410; an unknown endpoint answers 404', async () => {
  const sub = ps.subscribe();
  ps.respondWith(sub.endpoint, 410);
  await assert.rejects(
    webpush.sendNotification(sub, '{}', options()),
    (e: WebPushError) => e.statusCode === 410,
  );
  const unknown = { ...sub, endpoint: `${ps.url}/push/nobody` };
  await assert.rejects(
    webpush.sendNotification(unknown, '{}', options()),
    (e: WebPushError) => e.statusCode === 404,
  );
  assert.deepEqual(ps.rejected.at(-1), {
    endpoint: unknown.endpoint,
    status: 404,
    reason: 'no such subscription',
  });
});
