/**
 * The dashboard's webhooks panel in a real Chromium, against a real hub and edge and a real HTTP receiver
 * (issue 16): the streamer adds a hook (a refused address says why), copies its secret, shown once; a title
 * saved on the same dashboard reaches the receiver signed with that secret; the hook's delivery log on the
 * page says it was delivered; the secret is nowhere on the page after it was hidden; removing the hook stops it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { KEY, waitFor, type TestNetwork } from '../helpers/network.js';
import { startHubSite, type HubSite } from '../helpers/hub-site.js';
import { webhookReceiver } from '../helpers/webhook-receiver.js';
import { verifySignature } from '../../src/hub/webhooks/signature.js';
import type { HubNode } from '../../src/hub/main.js';

let site: HubSite;
let hub: HubNode;
let net: TestNetwork;
let browser: Browser;
let receiver: Awaited<ReturnType<typeof webhookReceiver>>;

before(async () => {
  receiver = await webhookReceiver(() => 204);
  // The receiver is on loopback: the operator allows private targets (off by default).
  site = await startHubSite({ webhooks: { allowPrivateTargets: true } });
  ({ hub, net, browser } = site);
});

after(async () => {
  await site?.close();
  receiver?.server.close();
});

test('the streamer adds a webhook on the dashboard, its secret shown once; a title change reaches it signed, and the log says so', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  try {
    await page.goto(`${net.edgeUrl}/dashboard`);
    await page.locator('#key-login-key').waitFor();
    await page.fill('#key-login-key', KEY);
    await page.click('#key-login-form button[type="submit"]');
    await page.locator('#hook-form').waitFor();
    await waitFor('the panel says there are none', async () =>
      /No webhooks yet/.test(await page.locator('#hooks-status').innerText()),
    );
    // Chat messages are opt-in: not ticked by default.
    assert.equal(await page.locator('#hook-events input[value="chat.message"]').isChecked(), false);
    assert.equal(await page.locator('#hook-events input[value="stream.started"]').isChecked(), true);

    // An address the hub refuses says why, and nothing is added.
    await page.fill('#hook-url', 'ftp://example.com/hook');
    await page.click('#hook-form button[type="submit"]');
    await waitFor('the form says why', async () =>
      /scheme must be http or https/.test(await page.locator('#hook-form .form-error').innerText()),
    );
    assert.equal(hub.store.webhooks.list('cam').length, 0);

    await page.fill('#hook-url', `${receiver.url}/tiercast`);
    await page.click('#hook-form button[type="submit"]');
    await page.locator('#hook-secret').waitFor({ state: 'visible' });
    const secret = await page.inputValue('#hook-secret-value');
    assert.match(secret, /^whsec_[A-Za-z0-9_-]{40,}$/);
    const row = page.locator('#hooks-list li.dash-hook');
    await waitFor('the hook is listed', async () => (await row.count()) === 1);
    assert.match(await row.innerText(), new RegExp(`${receiver.url}/tiercast`));
    assert.match(await row.innerText(), /JSON · Went live, Stream ended, Title or category changed/);
    const [stored] = hub.store.webhooks.list('cam');
    assert.equal(stored?.secret, secret, 'the page showed the secret the hub signs with');

    // A title saved on the dashboard is an event: the receiver gets it, signed with that secret.
    await page.fill('#info-title-input', 'Webhooks live');
    await page.click('#info-form button[type="submit"]');
    await waitFor('the receiver got the title change', () => receiver.got.length >= 1, 10_000, 50);
    const got = receiver.got[0]!;
    assert.equal(got.path, '/tiercast');
    const body = JSON.parse(got.body) as { event: string; channel: string; data: { title: string } };
    assert.equal(body.event, 'stream.title_changed');
    assert.equal(body.channel, 'cam');
    assert.equal(body.data.title, 'Webhooks live');
    assert.deepEqual(verifySignature(secret, got.body, got.signature, Date.now()), { ok: true });

    // The delivery log on the page.
    await row.locator('summary').click();
    await waitFor('the log says delivered', async () =>
      /Title or category changed · .+ · delivered \(HTTP 204, 1 attempt\)/.test(
        await row.locator('.dash-hook-deliveries').innerText(),
      ),
    );

    // Hidden, the secret is gone from the page, and a reload does not bring it back.
    await page.click('#hook-secret-hide');
    assert.equal(await page.locator('#hook-secret').isHidden(), true);
    assert.equal((await page.content()).includes(secret), false, 'the secret is not in the page');
    await page.reload();
    await page.locator('#hooks-list li.dash-hook').waitFor();
    assert.equal((await page.content()).includes(secret), false, 'nor after a reload');

    // Removed, it gets nothing more.
    page.once('dialog', (d) => void d.accept());
    await page.locator('#hooks-list li.dash-hook .dash-hook-remove').click();
    await waitFor('the panel lists none', async () => (await page.locator('#hooks-list li').count()) === 0);
    assert.equal(hub.store.webhooks.list('cam').length, 0);
    const before = receiver.got.length;
    await page.fill('#info-title-input', 'No hook now');
    await page.click('#info-form button[type="submit"]');
    await waitFor('saved', () => hub.store.streamers.get('cam')?.title === 'No hook now');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(receiver.got.length, before, 'a removed hook receives nothing');
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test("another channel's session cannot see or remove this channel's hooks", async () => {
  hub.store.streamers.add({ name: 'other', key: 'other-key-0123456789abc' });
  const mine = await fetch(`${net.edgeUrl}/api/dashboard/webhooks`);
  assert.equal(mine.status, 401, 'no session: no hooks');
  const h = hub.store.webhooks.add({
    id: 'wh_0123456789ab',
    channel: 'cam',
    url: `${receiver.url}/x`,
    secret: 'whsec_test_0123456789',
    format: 'json',
    events: ['stream.started'],
  });
  const context = await browser.newContext();
  const page = await context.newPage();
  try {
    await page.goto(`${net.edgeUrl}/dashboard`);
    await page.fill('#key-login-key', 'other-key-0123456789abc');
    await page.click('#key-login-form button[type="submit"]');
    await page.locator('#hook-form').waitFor();
    // The page's own API helper (it adds the CSRF header), as a hand-made request from that session would.
    const answers = await page.evaluate(`(async () => {
      const { api } = await import('/static/api.js');
      const list = await api('GET', '/api/dashboard/webhooks');
      const del = await api('DELETE', '/api/dashboard/webhooks/${h.id}');
      const log = await api('GET', '/api/dashboard/webhooks/${h.id}/deliveries');
      return { list: list.ok ? list.data : null, del: del.ok ? 'ok' : del.error.code, log: log.ok ? 'ok' : log.error.code };
    })()`);
    assert.deepEqual(answers, { list: { webhooks: [] }, del: 'NOT_FOUND', log: 'NOT_FOUND' });
    assert.ok(hub.store.webhooks.get(h.id), 'still there');
  } finally {
    await context.close();
  }
});
