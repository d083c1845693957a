import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import {
  emojiAdd,
  emojiList,
  emojiRemove,
  formatEmojiTable,
  formatStreamerTable,
  formatUserTable,
  streamerAdd,
  streamerList,
  streamerRemove,
  streamerSet,
  userAdd,
  userList,
  userRemove,
  userSetPassword,
  userSetRole,
} from '../../src/hub/admin.js';
import { HubError } from '../../src/hub/store/errors.js';
import { openStore } from '../../src/hub/store/sqlite-store.js';
import type { Store } from '../../src/hub/store/types.js';

const logger = pino({ level: 'silent' });
const root = mkdtempSync(join(tmpdir(), 'tiercast-hub-admin-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

function isHub(code: string, message?: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof HubError, `expected a HubError, got ${String(err)}`);
    assert.equal(err.code, code);
    if (message) assert.match(err.message, message);
    return true;
  };
}

async function withStore(fn: (s: Store) => unknown): Promise<void> {
  const store = openStore({ dataDir: join(root, `d${++n}`), logger, now: () => Date.UTC(2026, 0, 2, 3, 4) });
  try {
    await fn(store);
  } finally {
    store.close();
  }
}

function file(name: string, data: Buffer): string {
  const p = join(root, `${++n}-${name}`);
  writeFileSync(p, data);
  return p;
}

const PNG = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  Buffer.alloc(40, 3),
]);
const GIF = Buffer.concat([Buffer.from('GIF87a'), Buffer.alloc(40, 1)]);

test('streamerAdd generates a 32-character key when none is given, and returns it once', async () => {
  await withStore((s) => {
    const { streamer, generatedKey } = streamerAdd(s, { name: 'alice', title: 'Hi' });
    assert.equal(streamer.name, 'alice');
    assert.match(generatedKey ?? '', /^[A-Za-z0-9_-]{32}$/);
    assert.equal(s.streamers.verifyKey(generatedKey!)?.name, 'alice');
    const other = streamerAdd(s, { name: 'bob' }).generatedKey;
    assert.notEqual(other, generatedKey);
    const given = streamerAdd(s, { name: 'carol', key: 'carol-chosen-key-123', password: 'view-password' });
    assert.equal(given.generatedKey, undefined);
    assert.equal(given.streamer.hasPassword, true);
    assert.equal(s.streamers.verifyKey('carol-chosen-key-123')?.name, 'carol');
    assert.throws(() => streamerAdd(s, { name: 'alice' }), isHub('DUPLICATE_NAME', /\[streamer:alice\]/));
    assert.throws(() => streamerAdd(s, { name: 'bad name!' }), isHub('INVALID_VALUE'));
    assert.throws(() => streamerAdd(s, { name: 'dave', key: 'short' }), isHub('INVALID_VALUE'));
    assert.deepEqual(
      streamerList(s).map((x) => x.name),
      ['alice', 'bob', 'carol'],
    );
  });
});

test('streamerSet edits the profile and password, and rotates or replaces the key', async () => {
  await withStore((s) => {
    const first = streamerAdd(s, { name: 'alice' }).generatedKey!;
    const r1 = streamerSet(s, 'alice', { title: 'Speedruns', category: 'games', password: 'view-password' });
    assert.equal(r1.generatedKey, undefined);
    assert.deepEqual(
      [r1.streamer.title, r1.streamer.category, r1.streamer.hasPassword],
      ['Speedruns', 'games', true],
    );
    assert.equal(s.streamers.verifyKey(first)?.name, 'alice', 'the key is untouched unless asked');

    const r2 = streamerSet(s, 'alice', { rotateKey: true });
    assert.match(r2.generatedKey ?? '', /^[A-Za-z0-9_-]{32}$/);
    assert.equal(s.streamers.verifyKey(first), undefined, 'the old key stops working at once');
    assert.equal(s.streamers.verifyKey(r2.generatedKey!)?.name, 'alice');

    const r3 = streamerSet(s, 'alice', { key: 'my-own-new-key-0123', password: null });
    assert.equal(r3.generatedKey, undefined);
    assert.equal(r3.streamer.hasPassword, false);
    assert.equal(s.streamers.verifyKey('my-own-new-key-0123')?.name, 'alice');
    assert.equal(s.streamers.verifyKey(r2.generatedKey!), undefined);

    assert.throws(
      () => streamerSet(s, 'alice', { key: 'another-key-012345', rotateKey: true }),
      isHub('INVALID_VALUE', /not both/),
    );
    assert.throws(() => streamerSet(s, 'alice', { title: 'Changed', key: 'short' }), isHub('INVALID_VALUE'));
    assert.equal(s.streamers.get('alice')?.title, 'Speedruns', 'a bad key changes nothing');
    assert.throws(
      () => streamerSet(s, 'nobody', { title: 'x' }),
      isHub('UNKNOWN_NAME', /\[streamer:nobody\]/),
    );
    assert.throws(() => streamerSet(s, 'alice', { title: 'x'.repeat(141) }), isHub('INVALID_VALUE'));

    streamerRemove(s, 'alice');
    assert.deepEqual(streamerList(s), []);
    assert.throws(() => streamerRemove(s, 'alice'), isHub('UNKNOWN_NAME'));
  });
});

test('formatStreamerTable shows the profile, never keys or hashes, and defuses terminal escapes', async () => {
  await withStore((s) => {
    const key = 'visible-key-must-not-show-123';
    streamerAdd(s, { name: 'alice', key, title: 'Speedruns', category: 'games', password: 'view-password' });
    streamerAdd(s, { name: 'bob', key: 'bob-key-0123456789ab', description: 'x' });
    s.streamers.markLive('bob', Date.UTC(2026, 4, 6, 7, 8));
    assert.throws(
      () => streamerSet(s, 'bob', { title: 'evil \u009b31m red' }),
      isHub('INVALID_VALUE', /control/),
    );
    // The store refuses control characters; the table does not rely on it.
    const table = formatStreamerTable(
      streamerList(s).map((x) => (x.name === 'bob' ? { ...x, title: 'evil \u001b[31m red' } : x)),
    );
    const lines = table.split('\n');
    assert.match(lines[0] ?? '', /^NAME\s+TITLE\s+CATEGORY\s+PASSWORD\s+TRANSCODE\s+CREATED\s+LAST LIVE$/);
    assert.match(lines[1] ?? '', /^alice\s+Speedruns\s+games\s+yes\s+default\s+2026-01-02 03:04\s+-$/);
    assert.match(
      lines[2] ?? '',
      /^bob\s+evil \?\[31m red\s+-\s+no\s+default\s+2026-01-02 03:04\s+2026-05-06 07:08$/,
    );
    assert.ok(!table.includes(key) && !table.includes('scrypt') && !table.includes('view-password'));
    assert.equal(formatStreamerTable([]), 'no streamers');
  });
});

test('emojiAdd reads a file, types it by its bytes, and refuses big, foreign or missing files', async () => {
  await withStore(async (s) => {
    assert.deepEqual(await emojiAdd(s, 'pog', file('pog.gif', PNG)), {
      name: 'pog',
      mime: 'image/png',
      bytes: PNG.length,
    });
    assert.deepEqual(await emojiAdd(s, 'wave', file('wave.png', GIF)), {
      name: 'wave',
      mime: 'image/gif',
      bytes: GIF.length,
    });
    assert.ok(s.emoji.get('pog')?.data.equals(PNG));
    await assert.rejects(
      emojiAdd(s, 'pog', file('again.png', PNG)),
      isHub('DUPLICATE_NAME', /\[emoji:pog\]/),
    );
    await assert.rejects(emojiAdd(s, 'Bad-Name', file('x.png', PNG)), isHub('INVALID_VALUE'));
    await assert.rejects(
      emojiAdd(s, 'big', file('big.png', Buffer.concat([PNG, Buffer.alloc(70_000)]))),
      isHub('INVALID_VALUE', /over the 65536-byte limit/),
    );
    await assert.rejects(
      emojiAdd(s, 'html', file('x.png', Buffer.from('<html><script>alert(1)</script>'))),
      isHub('INVALID_VALUE', /not a PNG, GIF or WebP/),
    );
    await assert.rejects(
      emojiAdd(s, 'gone', join(root, 'does-not-exist.png')),
      isHub('INVALID_VALUE', /cannot read emoji image: ENOENT/),
    );
    await assert.rejects(emojiAdd(s, 'dir', root), isHub('INVALID_VALUE', /cannot read/));
    assert.deepEqual(emojiList(s), [
      { name: 'pog', mime: 'image/png', bytes: PNG.length },
      { name: 'wave', mime: 'image/gif', bytes: GIF.length },
    ]);
    assert.match(
      formatEmojiTable(emojiList(s)),
      /^NAME\s+TYPE\s+BYTES\npog\s+image\/png\s+48\nwave\s+image\/gif\s+46$/,
    );
    emojiRemove(s, 'pog');
    assert.throws(() => emojiRemove(s, 'pog'), isHub('UNKNOWN_NAME'));
    assert.equal(formatEmojiTable([]), 'no emoji');
  });
});

test('user administration: add, list, set role and password, remove', async () => {
  await withStore((s) => {
    const carol = userAdd(s, 'carol', 'carol-password');
    assert.equal(carol.role, 'user');
    userAdd(s, 'root', 'root-password', 'admin');
    assert.throws(() => userAdd(s, 'carol', 'carol-password'), isHub('DUPLICATE_NAME', /\[user:carol\]/));
    assert.throws(() => userAdd(s, 'eve', 'short'), isHub('INVALID_VALUE'));
    assert.throws(
      () => userAdd(s, 'eve', 'long-enough', 'superuser' as 'admin'),
      isHub('INVALID_VALUE', /role/),
    );
    assert.equal(userSetRole(s, 'carol', 'admin').role, 'admin');
    assert.throws(() => userSetRole(s, 'carol', 'owner'), isHub('INVALID_VALUE'));
    assert.throws(() => userSetRole(s, 'nobody', 'user'), isHub('UNKNOWN_NAME'));
    userSetPassword(s, 'carol', 'a-new-password');
    assert.equal(s.users.verify('carol', 'a-new-password')?.name, 'carol');
    assert.equal(s.users.verify('carol', 'carol-password'), undefined);
    assert.throws(() => userSetPassword(s, 'nobody', 'a-new-password'), isHub('UNKNOWN_NAME'));
    const table = formatUserTable(userList(s));
    assert.match(
      table,
      /^ID\s+NAME\s+ROLE\s+CREATED\n1\s+carol\s+admin\s+2026-01-02 03:04\n2\s+root\s+admin\s+2026-01-02 03:04$/,
    );
    assert.ok(!table.includes('password') && !table.includes('scrypt'));
    userRemove(s, 'carol');
    assert.deepEqual(
      userList(s).map((u) => u.name),
      ['root'],
    );
    assert.throws(() => userRemove(s, 'carol'), isHub('UNKNOWN_NAME'));
    assert.equal(formatUserTable([]), 'no users');
  });
});
