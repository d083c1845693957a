/**
 * A Web Push *push service* on loopback for the tests, standing in for FCM and Mozilla autopush (which this
 * machine cannot reach). `subscribe()` plays the browser: it makes the P-256 key pair and auth secret a
 * PushSubscription carries and keeps the private half, so each push the application server sends is checked
 * as a real push service (and the browser behind it) checks it:
 * - RFC 8292 VAPID: `Authorization: vapid t=<JWT>, k=<key>` with an ES256 JWT signed by `k`, `aud` this
 *   origin, `exp` in the future and at most 24 h ahead, `sub` a `mailto:` or `https:` URL (401); a `k` other
 *   than the applicationServerKey the subscription was made with, if any (403);
 * - RFC 8030 headers: `TTL` an integer ≥ 0, `Urgency` and `Topic` well-formed when present (400);
 * - RFC 8188/8291: `Content-Encoding: aes128gcm` (415), at most 4096 bytes of body (413) that decrypt with the
 *   subscription's keys to one padded last record (400).
 * A push that passes lands in `received`, answered 201; one that fails lands in `rejected` with the reason.
 * It serves HTTPS, as every push service does and as the `web-push` library requires: trust it with `agent`
 * in this process, or with NODE_EXTRA_CA_CERTS=`caFile` in a child process.
 */
import {
  createDecipheriv,
  createECDH,
  createHmac,
  createPublicKey,
  randomBytes,
  verify,
  type ECDH,
  type KeyObject,
} from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selfSignedCert } from './tls.js';

export interface PushSubscriptionForTest {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}
export interface PushMessage {
  endpoint: string;
  ttl: number;
  urgency?: string;
  topic?: string;
  /** JSON.parse of the decrypted text (the text itself when it is not JSON). */
  payload: unknown;
  vapidSubject: string;
  vapidPublicKey: string;
}
export interface PushService {
  url: string;
  /** The service's self-signed certificate (PEM), its file, and an agent that trusts it. */
  ca: string;
  caFile: string;
  agent: Agent;
  /** A new browser subscription; given the applicationServerKey (base64url), only that VAPID key may push. */
  subscribe(applicationServerKey?: string): PushSubscriptionForTest;
  /** Later pushes to `endpoint` are answered `status` (410 Gone, 500...) instead of being delivered. */
  respondWith(endpoint: string, status: number): void;
  received: PushMessage[];
  waitFor(n: number, timeoutMs?: number): Promise<PushMessage[]>;
  rejected: Array<{ endpoint: string; status: number; reason: string }>;
  close(): Promise<void>;
}

interface Browser {
  ecdh: ECDH;
  auth: Buffer;
  serverKey?: string;
  status: number;
}
class Refused extends Error {
  constructor(
    readonly status: number,
    reason: string,
  ) {
    super(reason);
  }
}
const b64u = (s: string): Buffer => Buffer.from(s, 'base64url');
const hmac = (key: Buffer, ...data: Buffer[]): Buffer =>
  createHmac('sha256', key).update(Buffer.concat(data)).digest();
const MAX_BODY = 4096;
/** A JWT part as JSON; a part that is not is a refused token. */
function jwtPart(part: string): Record<string, unknown> {
  try {
    return JSON.parse(b64u(part).toString()) as Record<string, unknown>;
  } catch {
    throw new Refused(401, 'JWT part is not base64url JSON');
  }
}

/** A verifying key from an uncompressed P-256 point (0x04 | x | y); a point that is not one is refused. */
function p256Key(point: Buffer): KeyObject {
  const [x, y] = [point.subarray(1, 33).toString('base64url'), point.subarray(33).toString('base64url')];
  try {
    if (point.length !== 65 || point[0] !== 4) throw new Error('not uncompressed');
    return createPublicKey({ key: { kty: 'EC', crv: 'P-256', x, y }, format: 'jwk' });
  } catch {
    throw new Refused(401, 'k is not an uncompressed P-256 public key');
  }
}

/** Checks the VAPID Authorization header against `origin`; answers the JWT's subject and key. */
function checkVapid(header: string | undefined, origin: string): { sub: string; k: string } {
  const m = /^vapid\s+t=([\w-]+\.[\w-]+\.[\w-]+),\s*k=([\w-]+)$/i.exec(header ?? '');
  if (!m) throw new Refused(401, `Authorization is not "vapid t=<JWT>, k=<key>": ${header ?? '(none)'}`);
  const [jwt = '', k = ''] = [m[1], m[2]];
  const key = p256Key(b64u(k));
  const [h = '', c = '', s = ''] = jwt.split('.');
  const head = jwtPart(h);
  if (head.alg !== 'ES256' || head.typ !== 'JWT')
    throw new Refused(401, `JWT header ${JSON.stringify(head)}`);
  const sig = b64u(s);
  if (
    sig.length !== 64 ||
    !verify('sha256', Buffer.from(`${h}.${c}`), { key, dsaEncoding: 'ieee-p1363' }, sig)
  )
    throw new Refused(401, 'JWT signature does not verify against k');
  const claims = jwtPart(c);
  if (claims.aud !== origin) throw new Refused(401, `JWT aud ${String(claims.aud)} is not ${origin}`);
  const now = Date.now() / 1000;
  if (typeof claims.exp !== 'number' || claims.exp <= now || claims.exp > now + 24 * 3600)
    throw new Refused(401, `JWT exp ${String(claims.exp)} is not within the next 24 h`);
  if (typeof claims.sub !== 'string' || !/^(mailto:|https:)/.test(claims.sub))
    throw new Refused(401, `JWT sub ${String(claims.sub)} is not a mailto: or https: URL`);
  return { sub: claims.sub, k };
}

/** RFC 8188 + RFC 8291: decrypts a one-record aes128gcm body for the browser and strips its padding. */
function decrypt(body: Buffer, b: Browser): string {
  if (body.length < 21 + 65 + 17) throw new Refused(400, `body of ${body.length} bytes is too short`);
  const salt = body.subarray(0, 16);
  const rs = body.readUInt32BE(16);
  const idlen = body[20];
  if (idlen !== 65) throw new Refused(400, `keyid is ${idlen} bytes, not the 65 of a P-256 key`);
  const asPublic = body.subarray(21, 86);
  const record = body.subarray(86);
  if (rs < 18 || record.length > rs) throw new Refused(400, `body is not one record of rs ${rs}`);
  let secret: Buffer;
  try {
    secret = b.ecdh.computeSecret(asPublic);
  } catch {
    throw new Refused(400, 'keyid is not a P-256 public key');
  }
  const info = Buffer.concat([Buffer.from('WebPush: info\0'), b.ecdh.getPublicKey(), asPublic]);
  const ikm = hmac(hmac(b.auth, secret), info, Buffer.of(1));
  const prk = hmac(salt, ikm);
  const cek = hmac(prk, Buffer.from('Content-Encoding: aes128gcm\0'), Buffer.of(1)).subarray(0, 16);
  const nonce = hmac(prk, Buffer.from('Content-Encoding: nonce\0'), Buffer.of(1)).subarray(0, 12);
  let plain: Buffer;
  try {
    const d = createDecipheriv('aes-128-gcm', cek, nonce).setAuthTag(record.subarray(-16));
    plain = Buffer.concat([d.update(record.subarray(0, -16)), d.final()]);
  } catch {
    throw new Refused(400, 'body does not decrypt with the subscription keys');
  }
  let end = plain.length - 1;
  while (end >= 0 && plain[end] === 0) end--;
  if (plain[end] !== 2) throw new Refused(400, 'record does not end with the last-record delimiter 0x02');
  return plain.subarray(0, end).toString('utf8');
}

/** Checks one push to `browser` at `origin`; answers the message it carries. */
function checkPush(
  req: IncomingMessage,
  body: Buffer,
  browser: Browser,
  endpoint: string,
  origin: string,
): PushMessage {
  if (req.method !== 'POST') throw new Refused(405, `${req.method} is not POST`);
  const { sub, k } = checkVapid(req.headers.authorization, origin);
  if (browser.serverKey && k !== browser.serverKey)
    throw new Refused(403, 'k is not the applicationServerKey');
  const header = (name: string): string | undefined => req.headers[name]?.toString();
  const ttl = header('ttl');
  if (ttl === undefined || !/^\d+$/.test(ttl)) throw new Refused(400, `TTL ${ttl} is not an integer ≥ 0`);
  const urgency = header('urgency');
  if (urgency !== undefined && !['very-low', 'low', 'normal', 'high'].includes(urgency))
    throw new Refused(400, `Urgency ${urgency} is not very-low, low, normal or high`);
  const topic = header('topic');
  if (topic !== undefined && !/^[\w-]{1,32}$/.test(topic))
    throw new Refused(400, `Topic ${topic} is not ≤ 32 base64url characters`);
  const encoding = header('content-encoding');
  if (encoding !== 'aes128gcm') throw new Refused(415, `Content-Encoding ${encoding} is not aes128gcm`);
  if (body.length > MAX_BODY) throw new Refused(413, `body of ${body.length} bytes exceeds ${MAX_BODY}`);
  const text = decrypt(body, browser);
  let payload: unknown = text;
  try {
    payload = JSON.parse(text);
  } catch {
    // not JSON: the text is the payload
  }
  return { endpoint, ttl: Number(ttl), urgency, topic, payload, vapidSubject: sub, vapidPublicKey: k };
}

export async function startPushService(): Promise<PushService> {
  const dir = mkdtempSync(join(tmpdir(), 'push-service-'));
  const { cert, key } = selfSignedCert(dir, '127.0.0.1', 'push-service');
  const ca = readFileSync(cert, 'utf8');
  const browsers = new Map<string, Browser>();
  const waiters = new Set<() => void>();
  const received: PushMessage[] = [];
  const rejected: PushService['rejected'] = [];
  let url = '';
  const handle = (req: IncomingMessage, res: ServerResponse, body: Buffer): void => {
    const endpoint = `${url}${req.url ?? ''}`;
    try {
      const browser = browsers.get(/^\/push\/([\w-]+)$/.exec(req.url ?? '')?.[1] ?? '');
      if (!browser) throw new Refused(404, 'no such subscription');
      if (browser.status !== 201) return void res.writeHead(browser.status).end();
      received.push(checkPush(req, body, browser, endpoint, url));
      res.writeHead(201, { Location: `${url}/message/${randomBytes(8).toString('hex')}` }).end();
      for (const w of waiters) w();
    } catch (e) {
      const [status, reason] =
        e instanceof Refused ? [e.status, e.message] : [400, `unreadable request: ${String(e)}`];
      rejected.push({ endpoint, status, reason });
      res.writeHead(status, { 'Content-Type': 'text/plain' }).end(reason);
    }
  };
  const server: Server = createServer({ cert: ca, key: readFileSync(key) }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handle(req, res, Buffer.concat(chunks)));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  if (!addr || typeof addr === 'string') throw new Error('no address');
  url = `https://127.0.0.1:${addr.port}`;
  const agent = new Agent({ ca });
  return {
    url,
    ca,
    caFile: cert,
    agent,
    received,
    rejected,
    subscribe(applicationServerKey) {
      const id = randomBytes(12).toString('base64url');
      const ecdh = createECDH('prime256v1');
      ecdh.generateKeys();
      const auth = randomBytes(16);
      browsers.set(id, { ecdh, auth, serverKey: applicationServerKey, status: 201 });
      const keys = { p256dh: ecdh.getPublicKey().toString('base64url'), auth: auth.toString('base64url') };
      return { endpoint: `${url}/push/${id}`, keys };
    },
    respondWith(endpoint, status) {
      const browser = browsers.get(endpoint.slice(`${url}/push/`.length));
      if (!endpoint.startsWith(`${url}/push/`) || !browser)
        throw new Error(`not a subscription: ${endpoint}`);
      browser.status = status;
    },
    waitFor(n, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (received.length < n) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(received);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `${received.length} of ${n} pushes in ${timeoutMs} ms; rejected: ${JSON.stringify(rejected)}`,
            ),
          );
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async close() {
      agent.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
