/**
 * The admin functions behind `node-role streamer|user|emoji`, over one store backend: run on SQLite by
 * test/unit/hub-admin.test.ts and on PostgreSQL by test/integration/hub-store-postgres.test.ts.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  emojiAdd,
  emojiJson,
  emojiList,
  emojiRemove,
  formatEmojiTable,
  formatStreamerTable,
  formatUserTable,
  streamerAdd,
  streamerEntries,
  streamerList,
  streamersJson,
  streamerRemove,
  streamerSet,
  userAdd,
  userList,
  usersJson,
  userRemove,
  userSetPassword,
  userSetRole,
} from '../../src/hub/admin.js';
import { HubError } from '../../src/hub/store/errors.js';
import type { Store } from '../../src/hub/store/types.js';
import type { StoreBackend } from '../helpers/store-backends.js';

export function hubAdminSuite(backend: StoreBackend): void {
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
    const store = backend.open(backend.fresh(), { now: () => Date.UTC(2026, 0, 2, 3, 4) });
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
      const r1 = streamerSet(s, 'alice', {
        title: 'Speedruns',
        category: 'games',
        password: 'view-password',
      });
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
      assert.throws(
        () => streamerSet(s, 'alice', { title: 'Changed', key: 'short' }),
        isHub('INVALID_VALUE'),
      );
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
      streamerAdd(s, {
        name: 'alice',
        key,
        title: 'Speedruns',
        category: 'games',
        password: 'view-password',
      });
      streamerAdd(s, { name: 'bob', key: 'bob-key-0123456789ab', description: 'x' });
      s.streamers.markLive('bob', Date.UTC(2026, 4, 6, 7, 8));
      assert.throws(
        () => streamerSet(s, 'bob', { title: 'evil \u009b31m red' }),
        isHub('INVALID_VALUE', /control/),
      );
      // The store refuses control characters; the table does not rely on it.
      const table = formatStreamerTable(
        streamerEntries(
          streamerList(s).map((x) => (x.name === 'bob' ? { ...x, title: 'evil \u001b[31m red' } : x)),
        ),
      );
      const lines = table.split('\n');
      assert.match(
        lines[0] ?? '',
        /^NAME\s+TITLE\s+CATEGORY\s+PASSWORD\s+TRANSCODE\s+CREATED\s+LAST LIVE\s+SOURCE$/,
      );
      assert.match(
        lines[1] ?? '',
        /^alice\s+Speedruns\s+games\s+yes\s+default\s+2026-01-02 03:04\s+-\s+hub$/,
      );
      assert.match(
        lines[2] ?? '',
        /^bob\s+evil \?\[31m red\s+-\s+no\s+default\s+2026-01-02 03:04\s+2026-05-06 07:08\s+hub$/,
      );
      assert.ok(!table.includes(key) && !table.includes('scrypt') && !table.includes('view-password'));
      assert.equal(formatStreamerTable([]), 'no streamers');
    });
  });

  test('streamer list: config streamers beside the hub’s, config first for a shared name; --json has the same fields', async () => {
    await withStore((s) => {
      const hubKey = 'hub-key-must-not-show-0123';
      streamerAdd(s, { name: 'alice', key: hubKey, title: 'Hub title', password: 'view-password' });
      const config = [
        { name: 'alice', key: 'config-key-must-not-show', title: 'Config title', transcode: 'off' as const },
        { name: 'zed', key: 'zed-config-key-0123456' },
      ];
      const rows = streamerEntries(streamerList(s), config);
      assert.deepEqual(
        rows.map((r) => [r.name, r.source, r.title]),
        [
          ['alice', 'config', 'Config title'],
          ['alice', 'hub', 'Hub title'],
          ['zed', 'config', ''],
        ],
      );
      const lines = formatStreamerTable(rows).split('\n');
      assert.match(lines[1] ?? '', /^alice\s+Config title\s+-\s+no\s+off\s+-\s+-\s+config$/);
      assert.match(lines[2] ?? '', /^alice\s+Hub title\s+-\s+yes\s+default\s+2026-01-02 03:04\s+-\s+hub$/);
      const json = streamersJson(rows);
      assert.deepEqual(json[1], {
        name: 'alice',
        title: 'Hub title',
        category: '',
        password: true,
        transcode: 'default',
        created: '2026-01-02T03:04:00.000Z',
        lastLive: null,
        source: 'hub',
      });
      assert.deepEqual(Object.keys(json[0]!), Object.keys(json[1]));
      const text = JSON.stringify(json);
      for (const secret of [hubKey, 'config-key-must-not-show', 'zed-config-key', 'view-password', 'scrypt'])
        assert.ok(!text.includes(secret), `never ${secret}`);
    });
  });

  test('user and emoji lists as JSON: the table’s fields, never a password hash or the image', async () => {
    await withStore(async (s) => {
      userAdd(s, 'carol', 'carol-password', 'admin');
      const users = usersJson(userList(s));
      assert.deepEqual(users, [{ id: 1, name: 'carol', role: 'admin', created: '2026-01-02T03:04:00.000Z' }]);
      assert.ok(
        !JSON.stringify(users).includes('scrypt') && !JSON.stringify(users).includes('carol-password'),
      );
      await emojiAdd(s, 'pog', file('pog2.png', PNG));
      assert.deepEqual(emojiJson(emojiList(s)), [{ name: 'pog', type: 'image/png', bytes: 48 }]);
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
}
