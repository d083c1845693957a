/**
 * The pure parts of webhooks (ADR 0021, proposed; issue 16): signatures a receiver can check, the retry
 * schedule, which target addresses are refused, and the bodies (tiercast JSON, Discord).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { signBody, verifySignature } from '../../src/hub/webhooks/signature.js';
import {
  FAILING_AFTER,
  GIVE_UP_AFTER_MS,
  MAX_RETRY_MS,
  delivered,
  givesUp,
  retryDelayMs,
} from '../../src/hub/webhooks/schedule.js';
import { checkTarget, checkTargetShape, isNonPublicAddress } from '../../src/common/net/target-url.js';
import { renderBody } from '../../src/hub/webhooks/formats.js';
import { postPinned } from '../../src/hub/webhooks/pinned-post.js';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HubEvent } from '../../src/common/protocol/hub-events.js';

const NOW = Date.UTC(2026, 11, 2, 12, 0, 0);

describe('webhook signatures', () => {
  const body = '{"event":"stream.started"}';
  it('a receiver with the secret accepts the body it was sent', () => {
    assert.deepEqual(verifySignature('s3cret', body, signBody('s3cret', body, NOW), NOW + 2000), {
      ok: true,
    });
  });
  it('another secret, a changed body, a replay after five minutes or a malformed header are refused', () => {
    const h = signBody('s3cret', body, NOW);
    assert.deepEqual(verifySignature('other', body, h, NOW), { ok: false, reason: 'mismatch' });
    assert.deepEqual(verifySignature('s3cret', `${body} `, h, NOW), { ok: false, reason: 'mismatch' });
    assert.deepEqual(verifySignature('s3cret', body, h, NOW + 301_000), { ok: false, reason: 'stale' });
    for (const bad of [undefined, '', 'v1=abc', `t=1,v1=${'g'.repeat(64)}`, `${h},v0=00`])
      assert.deepEqual(
        verifySignature('s3cret', body, bad, NOW),
        { ok: false, reason: 'malformed' },
        String(bad),
      );
  });
});

describe('webhook retries', () => {
  it('back off from 10 s, doubling, to at most an hour, within ±10 %', () => {
    const mid = () => 0.5;
    assert.deepEqual(
      [1, 2, 3, 4].map((a) => retryDelayMs(a, mid)),
      [10_000, 20_000, 40_000, 80_000],
    );
    assert.equal(retryDelayMs(40, mid), MAX_RETRY_MS);
    assert.equal(
      retryDelayMs(1, () => 0),
      9_000,
    );
    assert.equal(
      retryDelayMs(1, () => 0.999_999),
      11_000,
    );
  });
  it('a receiver failing for an hour gets about a dozen attempts, and a day ends them', () => {
    let t = 0;
    let attempts = 0;
    while (t < 3_600_000) t += retryDelayMs(++attempts, () => 0.5);
    assert.ok(attempts >= 8 && attempts <= 12, `${attempts} attempts in the first hour`);
    assert.equal(givesUp(NOW, NOW + GIVE_UP_AFTER_MS - 1), false);
    assert.equal(givesUp(NOW, NOW + GIVE_UP_AFTER_MS), true);
    assert.ok(FAILING_AFTER > 1);
  });
  it('only a 2xx is delivered; a redirect is not followed and not delivered', () => {
    assert.deepEqual([200, 204, 299, 301, 302, 400, 500].map(delivered), [
      true,
      true,
      true,
      false,
      false,
      false,
      false,
    ]);
  });
});

describe('webhook targets', () => {
  it('refuse other schemes, credentials in the URL, and very long URLs, with the reason', () => {
    assert.match((checkTargetShape('ftp://example.com/') as { reason: string }).reason, /http or https/);
    assert.match((checkTargetShape('https://u:p@example.com/') as { reason: string }).reason, /credentials/);
    assert.match(
      (checkTargetShape(`https://example.com/${'a'.repeat(2100)}`) as { reason: string }).reason,
      /2048/,
    );
    assert.match((checkTargetShape('not a url') as { reason: string }).reason, /not a URL/);
    assert.equal(checkTargetShape('rtmps://live.example.com/app', ['rtmp:', 'rtmps:']).ok, true);
  });
  it('know the non-public ranges, IPv4, IPv6 and IPv4-mapped', () => {
    for (const a of [
      '127.0.0.1',
      '10.1.2.3',
      '172.31.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '::1',
      '::',
      'fd00::1',
      'fe80::1',
      '::ffff:127.0.0.1',
      '::ffff:10.0.0.1',
      'not-an-ip',
    ])
      assert.equal(isNonPublicAddress(a), true, a);
    for (const a of ['93.184.216.34', '1.1.1.1', '2606:4700:4700::1111', '::ffff:1.1.1.1'])
      assert.equal(isNonPublicAddress(a), false, a);
  });
  it('refuse a host that resolves to any non-public address, unless private targets are allowed', async () => {
    const resolve = (h: string) =>
      Promise.resolve(h === 'rebind.example' ? ['1.1.1.1', '127.0.0.1'] : ['93.184.216.34']);
    const r = await checkTarget('https://rebind.example/hook', { allowPrivate: false, resolve });
    assert.deepEqual(r, {
      ok: false,
      reason: 'its host resolves to 127.0.0.1, which is not a public address',
    });
    assert.equal((await checkTarget('https://hooks.example/x', { allowPrivate: false, resolve })).ok, true);
    assert.equal((await checkTarget('http://[::1]:8080/x', { allowPrivate: false, resolve })).ok, false);
    assert.equal((await checkTarget('http://127.0.0.1:9/x', { allowPrivate: true, resolve })).ok, true);
    const none = await checkTarget('https://nx.example/', {
      allowPrivate: false,
      resolve: () => Promise.reject(new Error('ENOTFOUND')),
    });
    assert.deepEqual(none, { ok: false, reason: 'its host nx.example does not resolve' });
  });

  it('a delivery connects to the addresses checked, not to a second answer of the DNS (rebinding)', async () => {
    const got: Array<{ host: string | undefined; body: string }> = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        got.push({ host: req.headers.host, body });
        res.statusCode = 202;
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    try {
      // The name resolves nowhere on this machine: only the pinned address can reach the receiver.
      const url = new URL(`http://hooks.rebind.invalid:${port}/x`);
      const status = await postPinned(
        url,
        ['127.0.0.1'],
        { 'content-type': 'application/json' },
        '{"a":1}',
        2000,
      );
      assert.equal(status, 202);
      assert.deepEqual(
        got,
        [{ host: `hooks.rebind.invalid:${port}`, body: '{"a":1}' }],
        'the request names the host',
      );
      // Without pinned addresses the name is looked up, and fails.
      await assert.rejects(postPinned(url, undefined, {}, '{}', 2000), /ENOTFOUND|EAI_AGAIN/);
      // The check hands over what it resolved, for the delivery to use.
      const checked = await checkTarget('https://hooks.example/x', {
        allowPrivate: false,
        resolve: () => Promise.resolve(['203.0.113.7']),
      });
      assert.deepEqual(checked.ok && checked.addresses, ['203.0.113.7']);
    } finally {
      server.close();
    }
  });

  it('a receiver that never answers is given up on at the timeout', async () => {
    const server = createServer(() => {});
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    try {
      await assert.rejects(
        postPinned(new URL(`http://127.0.0.1:${port}/`), undefined, {}, '{}', 300),
        /no answer within 300 ms/,
      );
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});

describe('webhook bodies', () => {
  const started: HubEvent = {
    type: 'stream.started',
    channel: 'cam',
    at: NOW,
    title: 'Hi @everyone **now**',
    category: 'IRL',
  };
  it('tiercast JSON: the delivery id, the event, the channel, an ISO time and the rest as data', () => {
    assert.deepEqual(JSON.parse(renderBody('json', 'd1', started, 'https://t.example/watch/cam')), {
      id: 'd1',
      event: 'stream.started',
      channel: 'cam',
      at: '2026-12-02T12:00:00.000Z',
      data: { title: 'Hi @everyone **now**', category: 'IRL' },
    });
  });
  it('Discord: a message with the markdown and mentions of names and titles escaped, within its limits', () => {
    const d = JSON.parse(renderBody('discord', 'd1', started, 'https://t.example/watch/cam')) as {
      content: string;
      embeds: Array<{ url: string }>;
    };
    assert.equal(d.content, '**cam** is live: Hi \\@everyone \\*\\*now\\*\\*');
    assert.equal(d.embeds[0]!.url, 'https://t.example/watch/cam');
    const long = JSON.parse(
      renderBody(
        'discord',
        'd2',
        { type: 'chat.message', channel: 'cam', at: NOW, author: 'a', text: 'x'.repeat(5000) },
        '',
      ),
    ) as { content: string };
    assert.equal(long.content.length, 2000);
  });
});
