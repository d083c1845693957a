/**
 * TLS without a proxy, from self-signed certificates: every node serves TLS itself (the edge HTTPS and WSS,
 * the ingress and the intermediate WSS for the tree and the browser's ingest, the ingress RTMPS), and the
 * tree trusts its own certificates through `upstream.ca`. ffmpeg publishes over rtmps://, Chromium plays
 * over wss:// from https:// pages and goes live from /broadcast over wss://. SIGHUP after the files were
 * replaced: new connections (HTTPS and RTMPS) get the new certificate while the page already playing keeps
 * playing; a broken pair is refused and the one in use stays.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { KEY, publish, startNetwork, stop, waitFor, type TestNetwork } from '../helpers/network.js';
import { launchChromium } from '../helpers/browser.js';
import { httpsGet, selfSignedCert, servedCertName } from '../helpers/tls.js';
import { reloadAllTls } from '../../src/common/http/tls-app.js';
import { pictureTime } from '../helpers/watch-page.js';

const dir = mkdtempSync(join(tmpdir(), 'tiercast-tls-'));
const first = selfSignedCert(dir, '127.0.0.1', 'first');
const second = selfSignedCert(dir, '127.0.0.1', 'second');
/** The files the nodes are configured with; the test swaps their contents. */
const files = { cert: join(dir, 'served.cert.pem'), key: join(dir, 'served.key.pem') };
/** The tree's private CA: both self-signed certificates, so it trusts the nodes before and after the swap. */
const ca = join(dir, 'tree-ca.pem');
writeFileSync(ca, readFileSync(first.cert, 'utf8') + readFileSync(second.cert, 'utf8'));
const use = (pair: { cert: string; key: string }) => {
  copyFileSync(pair.cert, files.cert);
  copyFileSync(pair.key, files.key);
};

let net: TestNetwork;
let pub: ReturnType<typeof publish>;
let browser: Browser;
let context: BrowserContext;

before(async () => {
  use(first);
  net = await startNetwork({
    intermediates: 1,
    edge: { tls: files },
    ingress: { tls: files, rtmps: { host: '127.0.0.1', port: 0, ...files } },
    intermediate: { tls: files },
    upstreamCa: ca,
  });
  assert.match(net.edgeUrl, /^https:\/\//);
  assert.match(net.ingress.url, /^wss:\/\//);
  pub = publish(`rtmps://127.0.0.1:${net.ingress.rtmpsPort}/live`, KEY, 300);
  await waitFor(
    'the stream, published over RTMPS, listed by the HTTPS edge',
    async () => {
      const r = await httpsGet(`${net.edgeUrl}/api/streams`);
      return (JSON.parse(r.body) as Array<{ name: string }>).some((s) => s.name === 'cam');
    },
    30_000,
    250,
  );
  browser = await launchChromium({ fakeMedia: true });
  context = await browser.newContext({ ignoreHTTPSErrors: true });
});

after(async () => {
  await context?.close().catch(() => {});
  await browser?.close();
  if (pub) await stop(pub);
  await net?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function advances(page: Page, what: string): Promise<void> {
  const t0 = await pictureTime(page);
  await new Promise((r) => setTimeout(r, 2500));
  const t1 = await pictureTime(page);
  assert.ok(t1 - t0 > 1.5, `${what}: video time advanced ${(t1 - t0).toFixed(2)} s in 2.5 s`);
}

test('the edge serves HTTPS and WSS itself; a certificate swapped under it is picked up on SIGHUP', async () => {
  const edgePort = Number(new URL(net.edgeUrl).port);
  const rtmpsPort = net.ingress.rtmpsPort!;
  assert.equal(await servedCertName('127.0.0.1', edgePort), 'first');
  assert.equal(await servedCertName('127.0.0.1', rtmpsPort), 'first');

  const page = await context.newPage();
  await page.goto(`${net.edgeUrl}/watch/cam?transport=ws`);
  await waitFor('playback over wss', async () => (await pictureTime(page)) > 1, 30_000, 200);
  await advances(page, 'before the reload');
  assert.equal(await page.evaluate(() => window.tiercast.transport), 'ws');

  use(second);
  process.kill(process.pid, 'SIGHUP');
  await waitFor(
    'the new certificate on new HTTPS connections',
    async () => (await servedCertName('127.0.0.1', edgePort)) === 'second',
    5000,
    100,
  );
  assert.equal(await servedCertName('127.0.0.1', rtmpsPort), 'second', 'RTMPS too');
  await advances(page, 'the page that was playing, on its old connection');
  assert.deepEqual(await page.evaluate(() => window.tiercast.fallbacks), []);

  const fresh = await context.newPage();
  await fresh.goto(`${net.edgeUrl}/watch/cam?transport=ws`);
  await waitFor('a new page plays', async () => (await pictureTime(fresh)) > 1, 30_000, 200);
  await fresh.close();
  await page.close();

  // A key that is not the certificate's: refused, and the certificate in use stays.
  copyFileSync(first.key, files.key);
  // Four servers: the edge, the intermediate and the ingress apps, and RTMPS.
  assert.deepEqual(await reloadAllTls(), [false, false, false, false]);
  assert.equal(await servedCertName('127.0.0.1', edgePort), 'second');
  assert.equal(await servedCertName('127.0.0.1', rtmpsPort), 'second');
  writeFileSync(files.cert, 'not a certificate');
  assert.deepEqual(await reloadAllTls(), [false, false, false, false]);
  assert.equal((await httpsGet(`${net.edgeUrl}/healthz`)).status, 200, 'still serving');
});

test('a streamer on the HTTPS edge goes live from /broadcast over wss:// to the TLS ingress', async () => {
  await stop(pub);
  await waitFor('the RTMPS publish to end', () => !net.ingress.live.has('cam'), 15_000);
  const page = await context.newPage();
  await page.goto(`${net.edgeUrl}/broadcast`);
  await page.fill('#stream-key', KEY);
  await page.click('#start');
  await waitFor('the page to say Live', async () => (await page.textContent('#status')) === 'Live', 30_000);
  const viewer = await context.newPage();
  await viewer.goto(`${net.edgeUrl}/watch/cam?transport=ws`);
  await waitFor(
    'the viewer plays the browser’s stream',
    async () => (await pictureTime(viewer)) > 1,
    30_000,
    200,
  );
  await advances(viewer, 'the browser-published stream');
  await page.click('#start'); // Stop
  await viewer.close();
  await page.close();
});
