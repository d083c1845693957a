/**
 * tiercast behind a reverse proxy, as an operator runs it: `node-role all` with `trustProxy` naming the
 * proxies, and Debian's nginx and HAProxy with the sample configurations (deploy/nginx/tiercast.conf,
 * deploy/haproxy/haproxy.cfg) terminating TLS in front of it. The browser reaches the proxies at 127.0.0.2
 * from 127.0.0.1; nginx reaches tiercast from 127.0.0.3 and HAProxy from 127.0.0.4, so the address tiercast
 * acts on tells them apart. Through each proxy, over HTTPS, Chromium plays the stream with each player
 * (WebSocket, LL-DASH, LL-HLS), registers, gets Secure `__Host-` cookies and chats; a second client that
 * hammers the login is limited on its own address, not the proxy's (which every viewer shares) nor the one
 * it claims in its own X-Forwarded-For (nginx merges it into one header, HAProxy sends its own line after
 * the client's); the ingress's paths reach the ingress, and a streamer goes live from /broadcast through
 * nginx.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { KEY, SECRET, publish, stop, waitFor } from '../helpers/network.js';
import { cli, freePort } from '../helpers/hub-process.js';
import { launchChromium } from '../helpers/browser.js';
import {
  haproxyMissing,
  nginxMissing,
  startHaproxyProxy,
  startNginxProxy,
  type RunningProxy,
} from '../helpers/reverse-proxies.js';
import { pictureTime } from '../helpers/watch-page.js';

type Kind = 'nginx' | 'haproxy';
const KINDS: readonly Kind[] = ['nginx', 'haproxy'];
const BROWSER_HOST = '127.0.0.1';
const PROXY_HOST = '127.0.0.2';
const PROXY_SOURCE: Record<Kind, string> = { nginx: '127.0.0.3', haproxy: '127.0.0.4' };
/** A second client per proxy, on its own address. */
const OTHER_CLIENT: Record<Kind, string> = { nginx: '127.0.0.5', haproxy: '127.0.0.6' };
const SPOOFED = '198.51.100.9';
/** Each proxy's browser context registers once and fails one login: 4 attempts from the browser in all. */
const LOGINS_PER_MINUTE = 5;
const skip = nginxMissing || haproxyMissing;

const dir = mkdtempSync(join(tmpdir(), 'tiercast-proxy-'));
let node: ChildProcess | undefined;
let logs = '';
const proxies = {} as Record<Kind, RunningProxy>;
let pub: ReturnType<typeof publish> | undefined;
let browser: Browser;
/** One browser context per proxy (both proxies are 127.0.0.2: cookies would be shared). */
const contexts = {} as Record<Kind, BrowserContext>;
const errors: string[] = [];

before(async () => {
  if (skip) return;
  const dataDir = join(dir, 'data');
  const added = await cli(['streamer', 'add', '--name', 'cam', '--key', KEY, '--data-dir', dataDir]);
  assert.equal(added.code, 0, added.stderr);
  const [edge, ingress, rtmp, inter, hub] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const local = (port: number) => ({ host: '127.0.0.1', port });
  // nginx's port is in the edge's config: /broadcast sends to the ingress through it.
  const nginxPort = await freePort();
  const trustProxy = Object.values(PROXY_SOURCE);
  writeFileSync(
    join(dir, 'tiercast.json'),
    JSON.stringify({
      clusterSecret: SECRET,
      logLevel: 'info',
      hub: { http: local(hub), dataDir, loginRatePerMinute: LOGINS_PER_MINUTE },
      ingress: { http: local(ingress), rtmp: local(rtmp), srt: { enabled: false }, trustProxy },
      intermediate: { http: local(inter) },
      edge: {
        http: local(edge),
        trustProxy,
        broadcast: { ingestUrl: `wss://${PROXY_HOST}:${nginxPort}/publish/ws` },
      },
    }),
  );
  node = spawn(process.execPath, ['bin/node-role.js', 'all', '-c', join(dir, 'tiercast.json')], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, TIERCAST_LOG_LEVEL: 'info' },
  });
  node.stdout!.on('data', (d: Buffer) => (logs += d.toString()));
  node.stderr!.on('data', (d: Buffer) => (logs += d.toString()));
  await waitFor(
    'node-role all running',
    () => {
      if (node!.exitCode !== null) throw new Error(`node-role all exited: ${logs.slice(-2000)}`);
      return logs.includes('tiercast is running');
    },
    30_000,
  );
  const upstreams = { edge: `127.0.0.1:${edge}`, ingress: `127.0.0.1:${ingress}`, listenHost: PROXY_HOST };
  proxies.nginx = await startNginxProxy({
    ...upstreams,
    prefix: join(dir, 'nginx'),
    bindHost: PROXY_SOURCE.nginx,
    httpsPort: nginxPort,
  });
  proxies.haproxy = await startHaproxyProxy({
    ...upstreams,
    prefix: join(dir, 'haproxy'),
    bindHost: PROXY_SOURCE.haproxy,
  });
  pub = publish(`rtmp://127.0.0.1:${rtmp}/live`, KEY, 300);
  for (const kind of KINDS)
    await waitFor(
      `the stream listed through ${kind}`,
      async () => {
        const list = (await (await httpsCall(kind, 'GET', '/api/streams', BROWSER_HOST)).json()) as Array<{
          name: string;
          live: boolean;
        }>;
        return list.some((s) => s.name === 'cam' && s.live);
      },
      30_000,
      250,
    );
  browser = await launchChromium({ fakeMedia: true });
  for (const kind of KINDS) contexts[kind] = await browser.newContext({ ignoreHTTPSErrors: true });
});

after(async () => {
  for (const c of Object.values(contexts)) await c.close().catch(() => {});
  await browser?.close();
  if (pub) await stop(pub);
  for (const p of Object.values(proxies)) await p.close();
  if (node && node.exitCode === null) {
    node.kill('SIGTERM');
    const t = setTimeout(() => node?.kill('SIGKILL'), 10_000);
    await new Promise((r) => node!.once('exit', r));
    clearTimeout(t);
  }
  rmSync(dir, { recursive: true, force: true });
});

/** A request to a proxy's HTTPS port from a chosen local address (the self-signed certificate accepted). */
function httpsCall(
  kind: Kind,
  method: string,
  path: string,
  from: string,
  opts: { headers?: Record<string, string>; body?: string } = {},
): Promise<{
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json(): Promise<unknown>;
}> {
  const url = new URL(path, proxies[kind].httpsUrl);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method,
        localAddress: from,
        rejectUnauthorized: false,
        headers: opts.headers,
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('end', () => {
          const text = Buffer.concat(parts).toString();
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            json: () => Promise.resolve(JSON.parse(text) as unknown),
          });
        });
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

async function newPage(kind: Kind): Promise<Page> {
  const page = await contexts[kind].newPage();
  page.on('pageerror', (e) => errors.push(e.message));
  return page;
}

/** Every `login refused` the hub logged, by the address it logged. */
const refusedLogins = () =>
  logs
    .split('\n')
    .filter((l) => l.includes('"login refused"'))
    .map((l) => (JSON.parse(l) as { ip?: string }).ip);

for (const kind of KINDS) {
  for (const transport of ['ws', 'dash', 'hls'] as const) {
    test(
      `through ${kind} over HTTPS the watch page plays over ${transport}`,
      { skip, timeout: 90_000 },
      async () => {
        const page = await newPage(kind);
        try {
          await page.goto(`${proxies[kind].httpsUrl}/watch/cam?transport=${transport}`);
          await waitFor('playback started', async () => (await pictureTime(page)) > 1, 30_000, 200);
          const t0 = await pictureTime(page);
          await new Promise((r) => setTimeout(r, 3000));
          const t1 = await pictureTime(page);
          assert.ok(t1 - t0 > 2, `video time advanced ${(t1 - t0).toFixed(2)} s in 3 s`);
          assert.equal(await page.evaluate(() => window.tiercast.transport), transport);
          assert.deepEqual(await page.evaluate(() => window.tiercast.fallbacks), []);
        } finally {
          await page.close();
        }
      },
    );
  }

  test(`${kind}: plain HTTP is sent to HTTPS; an HTTP/1.0 client gets an answer`, { skip }, async () => {
    const r = await fetch(`${proxies[kind].httpUrl}/watch/cam`, { redirect: 'manual' });
    assert.equal(r.status, 301);
    assert.match(r.headers.get('location') ?? '', /^https:\/\/.*\/watch\/cam$/);
    // uWebSockets.js does not answer HTTP/1.0 (docs/deploy.md): nginx speaks 1.1 to it for such clients;
    // HAProxy passes the version on, so its sample refuses at once rather than time out after 10 s.
    const expected =
      kind === 'nginx'
        ? /^HTTP\/1\.[01] 200 OK\r\n[\s\S]*\r\n\r\nok$/
        : /^HTTP\/1\.[01] 505 [^\r]*\r\n[\s\S]*use HTTP\/1\.1$/;
    const url = new URL(proxies[kind].httpsUrl);
    const answer = await new Promise<string>((resolve, reject) => {
      const s = tlsConnect({ host: url.hostname, port: Number(url.port), rejectUnauthorized: false }, () =>
        s.write('GET /healthz HTTP/1.0\r\n\r\n'),
      );
      let data = '';
      s.setEncoding('utf8');
      s.on('data', (d: string) => (data += d));
      s.on('end', () => resolve(data));
      s.on('error', reject);
    });
    assert.match(answer, expected);
  });

  test(`${kind}: the ingress's paths reach the ingress`, { skip }, async () => {
    // The edge has no /whip: the ingress's own refusal (no stream key) shows where the request went.
    const r = await httpsCall(kind, 'POST', '/whip', BROWSER_HOST, {
      headers: { 'content-type': 'application/sdp' },
      body: 'v=0',
    });
    assert.equal(r.status, 401);
    assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'BAD_STREAM_KEY');
  });

  test(
    `${kind}: a viewer registers and chats; the session cookie is Secure and __Host-`,
    { skip, timeout: 60_000 },
    async () => {
      const account = `via-${kind}`;
      const page = await newPage(kind);
      try {
        await page.goto(`${proxies[kind].httpsUrl}/login?next=%2Fwatch%2Fcam`);
        await page.click('#tab-register');
        await page.fill('#register-name', account);
        await page.fill('#register-password', 'correct-horse-1');
        await page.fill('#register-confirm', 'correct-horse-1');
        await page.click('#panel-register button[type="submit"]');
        await page.waitForURL(`${proxies[kind].httpsUrl}/watch/cam`);
        const cookies = await contexts[kind].cookies(proxies[kind].httpsUrl);
        const session = cookies.find((c) => c.name === '__Host-tc_session');
        assert.ok(session, `cookies: ${cookies.map((c) => c.name).join(', ')}`);
        assert.equal(session.secure, true);
        assert.equal(session.httpOnly, true);
        assert.equal(session.path, '/');
        assert.ok(
          cookies.every((c) => c.name.startsWith('__Host-')),
          'every cookie over HTTPS is __Host-',
        );
        await waitFor('chatting as the account', async () =>
          (await page.locator('#chat-you').innerText()).includes(account),
        );
        await page.fill('#chat-input', `hello through ${kind}`);
        await page.press('#chat-input', 'Enter');
        await waitFor(
          'the message comes back',
          async () =>
            (await page.locator('#chat-log li.msg').allInnerTexts()).some((t) =>
              t.includes(`${account}: hello through ${kind}`),
            ),
          10_000,
          100,
        );
        assert.deepEqual(errors, []);
      } finally {
        await page.close();
      }
    },
  );

  test(
    `${kind}: each client is limited on its own address, not the proxy’s, not the one it claims`,
    { skip, timeout: 60_000 },
    async () => {
      const other = OTHER_CLIENT[kind];
      // The other client fetches a CSRF token, then fails to log in until the hub limits it.
      const csrf = await httpsCall(kind, 'GET', '/api/auth/csrf', other);
      const token = ((await csrf.json()) as { csrf: string }).csrf;
      const jar = String(csrf.headers['set-cookie']).split(';')[0]!;
      assert.match(jar, /^__Host-tc_csrf=/, 'HTTPS through the trusted proxy: __Host- cookies');
      const login = () =>
        httpsCall(kind, 'POST', '/api/auth/login', other, {
          headers: {
            cookie: jar,
            'x-tiercast-csrf': token,
            'content-type': 'application/json',
            // Written by the client itself: the proxy adds the address it saw, and only that one counts.
            'x-forwarded-for': SPOOFED,
          },
          body: JSON.stringify({ name: `via-${kind}`, password: 'wrong-password-1' }),
        });
      const statuses: number[] = [];
      for (let i = 0; i <= LOGINS_PER_MINUTE; i++) statuses.push((await login()).status);
      assert.deepEqual(statuses, [...Array<number>(LOGINS_PER_MINUTE).fill(401), 429]);

      // The browser, behind the same proxy, still has its own attempts.
      const page = await newPage(kind);
      try {
        await page.goto(`${proxies[kind].httpsUrl}/login`);
        await page.fill('#login-name', `via-${kind}`);
        await page.fill('#login-password', 'wrong-password-1');
        await page.click('#panel-login button[type="submit"]');
        await waitFor('the login form answers', async () =>
          /wrong|incorrect|invalid/i.test(await page.locator('#panel-login .form-error').innerText()),
        );
      } finally {
        await page.close();
      }
      const seen = new Set(refusedLogins());
      assert.ok(seen.has(BROWSER_HOST) && seen.has(other), `the hub logged ${[...seen].join(', ')}`);
      for (const wrong of [...Object.values(PROXY_SOURCE), SPOOFED])
        assert.ok(!seen.has(wrong), `the hub never acted on ${wrong}`);
    },
  );
}

test(
  'a streamer goes live from /broadcast through nginx (its /publish/ws location), seen at its own address',
  { skip, timeout: 90_000 },
  async () => {
    if (pub) await stop(pub);
    pub = undefined;
    await waitFor(
      'the RTMP publish to end',
      async () => {
        const list = (await (await httpsCall('nginx', 'GET', '/api/streams', BROWSER_HOST)).json()) as Array<{
          name: string;
          live: boolean;
        }>;
        return !list.some((s) => s.name === 'cam' && s.live);
      },
      20_000,
      250,
    );
    const page = await newPage('nginx');
    try {
      await page.goto(`${proxies.nginx.httpsUrl}/broadcast`);
      await page.fill('#stream-key', KEY);
      await page.click('#start');
      await waitFor(
        'the page to say Live',
        async () => (await page.textContent('#status')) === 'Live',
        30_000,
      );
      const viewer = await newPage('nginx');
      await viewer.goto(`${proxies.nginx.httpsUrl}/watch/cam?transport=ws`);
      await waitFor('the viewer plays', async () => (await pictureTime(viewer)) > 1, 30_000, 200);
      await viewer.close();
      await page.click('#start'); // Stop
    } finally {
      await page.close();
    }
    const publishers = logs
      .split('\n')
      .filter((l) => l.includes('publisher connected'))
      .map((l) => (JSON.parse(l) as { remote?: string }).remote);
    assert.equal(publishers.length, 2, 'the RTMP publisher, then the browser');
    assert.deepEqual([...new Set(publishers)], [BROWSER_HOST], 'never a proxy’s address');
  },
);
