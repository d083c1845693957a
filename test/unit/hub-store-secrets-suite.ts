/**
 * Stream keys, viewing and account passwords, and SQL metacharacters, for one backend: run on SQLite by
 * test/unit/hub-store-secrets.test.ts and on PostgreSQL by test/integration/hub-store-postgres.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { HubError } from '../../src/hub/store/errors.js';
import type { Store } from '../../src/hub/store/types.js';
import type { StoreBackend } from '../helpers/store-backends.js';

export function hubStoreSecretsSuite(backend: StoreBackend): void {
  function rejects(fn: () => unknown, code: string, message?: RegExp): void {
    assert.throws(fn, (err: unknown) => {
      assert.ok(err instanceof HubError, `expected a HubError, got ${String(err)}`);
      assert.equal(err.code, code);
      if (message) assert.match(err.message, message);
      return true;
    });
  }

  function rawDb(place: string) {
    return backend.raw(place);
  }

  function withStore<T>(
    fn: (s: Store, dataDir: string) => T,
    opts: { dataDir?: string; now?: () => number } = {},
  ): T {
    const dataDir = opts.dataDir ?? backend.fresh();
    const store = backend.open(dataDir, { now: opts.now });
    try {
      return fn(store, dataDir);
    } finally {
      store.close();
    }
  }

  const KEY = 'alice-key-0123456789abcdef';

  test('stream keys: verifyKey finds the streamer, rotateKey retires the old key at once', () => {
    withStore((s) => {
      s.streamers.add({ name: 'alice', key: KEY });
      s.streamers.add({ name: 'bob', key: 'bob-key-0123456789abcdef' });
      assert.equal(s.streamers.verifyKey(KEY)?.name, 'alice');
      assert.equal(s.streamers.verifyKey('bob-key-0123456789abcdef')?.name, 'bob');
      assert.equal(s.streamers.verifyKey(KEY + 'x'), undefined);
      assert.equal(s.streamers.verifyKey(''), undefined);
      const next = 'alice-rotated-0123456789';
      s.streamers.rotateKey('alice', next);
      assert.equal(s.streamers.verifyKey(KEY), undefined);
      assert.equal(s.streamers.verifyKey(next)?.name, 'alice');
      rejects(() => s.streamers.rotateKey('alice', 'short'), 'INVALID_VALUE');
      rejects(
        () => s.streamers.rotateKey('alice', 'bob-key-0123456789abcdef'),
        'INVALID_VALUE',
        /already in use/,
      );
      rejects(() => s.streamers.rotateKey('nobody', 'whatever-0123456789'), 'UNKNOWN_NAME');
      assert.equal(s.streamers.verifyKey(next)?.name, 'alice', 'a refused rotation changes nothing');
    });
  });

  test('verifyKey costs the same whether or not any streamer could match', () => {
    withStore((s) => {
      s.streamers.add({ name: 'alice', key: KEY });
      const time = (key: string) => {
        const samples: number[] = [];
        for (let i = 0; i < 5; i++) {
          const t0 = process.hrtime.bigint();
          s.streamers.verifyKey(key);
          samples.push(Number(process.hrtime.bigint() - t0));
        }
        return samples.sort((a, b) => a - b)[2] ?? 0;
      };
      const hit = time(KEY);
      const miss = time('no-streamer-has-this-key-0');
      // Without the dummy scrypt a miss is a single indexed SELECT: thousands of times faster than a hit.
      assert.ok(miss > hit / 3 && miss < hit * 3, `hit ${hit} ns, miss ${miss} ns`);
    });
  });

  test('viewing passwords verify, and a streamer without one accepts none', () => {
    withStore((s) => {
      s.streamers.add({ name: 'alice', key: KEY, password: 'correct horse' });
      s.streamers.add({ name: 'open', key: 'open-key-0123456789ab' });
      assert.equal(s.streamers.verifyPassword('alice', 'correct horse'), true);
      assert.equal(s.streamers.verifyPassword('alice', 'correct horse '), false);
      assert.equal(s.streamers.verifyPassword('open', 'anything-at-all'), false);
      assert.equal(s.streamers.verifyPassword('nobody', 'correct horse'), false);
    });
  });

  test('keys and passwords are stored only as scrypt hashes: never in clear in the database files', () => {
    const dataDir = backend.fresh();
    const secrets = [
      'STREAMKEY-cleartext-7f3a9c',
      'VIEWPASS-cleartext-51be',
      'USERPASS-cleartext-88d2',
      'ROTATED-cleartext-key-1d0e',
      'NEWUSERPASS-cleartext-4c',
    ];
    const store = backend.open(dataDir);
    // Written in clear on purpose: the scan must find it, or it is not reading the files that hold the data.
    const marker = 'VISIBLE-title-marker-93e1';
    store.streamers.add({ name: 'alice', key: secrets[0]!, password: secrets[1]!, title: marker });
    store.users.create('bob', secrets[2]!);
    store.streamers.rotateKey('alice', secrets[3]!);
    store.users.setPassword('bob', secrets[4]!);
    // Read while open (the WAL still holds the writes) and again after close (checkpointed into the main
    // file; on PostgreSQL, its WAL and the table files after a CHECKPOINT).
    const scan = () => {
      let seen = false;
      for (const f of backend.files(dataDir)) {
        const bytes = readFileSync(f);
        if (bytes.includes(Buffer.from(marker))) seen = true;
        for (const secret of secrets) {
          assert.equal(bytes.includes(Buffer.from(secret)), false, `${secret} found in ${f}`);
          assert.equal(
            bytes.includes(Buffer.from(secret, 'utf16le')),
            false,
            `${secret} found in ${f} (utf16)`,
          );
        }
      }
      assert.ok(seen, 'the scan reads the files the data is in');
    };
    scan();
    store.close();
    store.close();
    scan();
    const db = rawDb(dataDir);
    const row = db.prepare('SELECT key_hash, key_hint, password_hash FROM streamers').get() as {
      key_hash: string;
      key_hint: string;
      password_hash: string;
    };
    db.close();
    assert.match(row.key_hash, /^scrypt\$16384\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    assert.match(row.password_hash, /^scrypt\$16384\$8\$1\$/);
    assert.match(row.key_hint, /^[0-9a-f]{8}$/);
  });

  test('SQL metacharacters are stored literally and names carrying them are refused', () => {
    const evil = "x'); DROP TABLE streamers;--";
    const quotes = `"; DELETE FROM users; -- 100% _match_ \\ '' ?1 @name`;
    const dataDir = backend.fresh();
    withStore(
      (s) => {
        s.users.create('bob', 'bob-password');
        const a = s.streamers.add({
          name: 'alice',
          key: KEY,
          title: evil,
          description: quotes,
          category: evil.slice(0, 20),
        });
        assert.equal(a.title, evil);
        assert.equal(
          s.streamers.update('alice', { description: `${quotes}\n${evil}` }).description,
          `${quotes}\n${evil}`,
        );
        rejects(() => s.streamers.add({ name: evil, key: 'evil-key-0123456789' }), 'INVALID_VALUE');
        rejects(() => s.users.create(evil, 'long-enough-pw'), 'INVALID_VALUE');
        assert.equal(s.streamers.get(evil), undefined);
        assert.equal(s.users.getByName("bob' OR '1'='1"), undefined);
        assert.equal(s.users.verify("bob' --", 'bob-password'), undefined);
        assert.equal(s.streamers.verifyPassword("alice' --", 'anything-at-all'), false);
        rejects(() => s.streamers.remove("alice' OR '1'='1"), 'UNKNOWN_NAME');
        s.sanctions.add({
          channel: 'alice',
          kind: 'ban',
          target: { type: 'name', value: evil },
          until: null,
          by: quotes,
        });
        assert.equal(s.sanctions.active('alice', 'ban', { type: 'name', value: evil }), true);
        assert.equal(s.sanctions.active('alice', 'ban', { type: 'name', value: "x' OR '1'='1" }), false);
        s.chat.append({
          channel: 'alice',
          seq: 1,
          kind: 'text',
          author: evil,
          color: quotes,
          badge: 'guest',
          text: `${evil}${quotes}`,
          at: 1,
        });
        const [m] = s.chat.recent('alice', 10);
        assert.deepEqual([m?.author, m?.color, m?.text], [evil, quotes, `${evil}${quotes}`]);
      },
      { dataDir },
    );
    withStore(
      (s) => {
        assert.equal(s.streamers.list().length, 1);
        assert.equal(s.streamers.get('alice')?.title, evil);
        assert.equal(s.users.list().length, 1);
      },
      { dataDir },
    );
  });
}
