/**
 * A channel's chat rules and moderation log through the hub's remote API (issue 16): the streamer's own
 * credentials read and replace them; bad values get INVALID_VALUE with the field; another channel's
 * credentials reach nothing; every change is in the log, newest first.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestHub } from '../helpers/network.js';
import type { HubNode } from '../../src/hub/main.js';

let hub: HubNode | undefined;
after(() => hub?.close());

const basic = (name: string, key: string) => `Basic ${Buffer.from(`${name}:${key}`).toString('base64')}`;

test('the remote API reads and replaces the chat rules, refuses bad values, and logs each change', async () => {
  hub = await startTestHub();
  hub.store.streamers.add({ name: 'alice', key: 'alice-key-0123456789' });
  hub.store.streamers.add({ name: 'bob', key: 'bob-key-0123456789ab' });
  const call = (method: string, path: string, auth: string, body?: unknown) =>
    fetch(`${hub!.url}/api/v1/streams/${path}`, {
      method,
      headers: { authorization: auth, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const alice = basic('alice', 'alice-key-0123456789');
  const got = (await (await call('GET', 'alice/chat/rules', alice)).json()) as { rules: unknown };
  assert.deepEqual(got.rules, {
    slowModeS: 0,
    who: 'everyone',
    links: 'allow',
    linkAllow: [],
    blockedWords: [],
  });

  const rules = {
    slowModeS: 15,
    who: 'followers',
    links: 'block',
    linkAllow: ['*.Example.org', 'twitch.tv', 'twitch.tv'],
    blockedWords: ['spoiler'],
  };
  const put = await call('PUT', 'alice/chat/rules', alice, rules);
  assert.equal(put.status, 200);
  assert.deepEqual(((await put.json()) as { rules: { linkAllow: string[] } }).rules.linkAllow, [
    'example.org',
    'twitch.tv',
  ]);
  assert.equal(hub.store.moderation.rules('alice').slowModeS, 15);

  for (const [bad, field] of [
    [{ ...rules, slowModeS: -1 }, 'slowModeS'],
    [{ ...rules, who: 'friends' }, 'who'],
    [{ ...rules, linkAllow: ['not a domain'] }, 'linkAllow'],
    [{ ...rules, blockedWords: ['x'.repeat(51)] }, 'blockedWords'],
    [{ ...rules, extra: 1 }, ''],
  ] as const) {
    const r = await call('PUT', 'alice/chat/rules', alice, bad);
    const body = (await r.json()) as { error: { code: string; message: string } };
    assert.equal(r.status, 400, JSON.stringify(bad));
    assert.equal(body.error.code, 'INVALID_VALUE');
    assert.ok(body.error.message.includes(field), body.error.message);
  }
  assert.equal(hub.store.moderation.rules('alice').slowModeS, 15, 'a refused change changes nothing');

  // bob's key reaches only bob's channel.
  assert.equal(
    (await call('PUT', 'alice/chat/rules', basic('bob', 'bob-key-0123456789ab'), rules)).status,
    403,
  );
  assert.equal(
    (await call('GET', 'alice/moderation-log', basic('alice', 'wrong-key-0123456789'))).status,
    401,
  );

  const log = (await (await call('GET', 'alice/moderation-log', alice)).json()) as {
    entries: Array<{ actor: string; action: string; details: Record<string, unknown> }>;
  };
  assert.equal(log.entries.length, 1);
  assert.deepEqual(
    [
      log.entries[0]!.actor,
      log.entries[0]!.action,
      log.entries[0]!.details.slowModeS,
      log.entries[0]!.details.via,
    ],
    ['alice', 'rules', 15, 'remote API'],
  );
});
