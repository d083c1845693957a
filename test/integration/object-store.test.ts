/**
 * Recording storage (issue 15): the local directory and a real S3-compatible server (s3rver, from npm) pass
 * the same contract — whole objects written, read back, listed by prefix in key order, deleted by prefix;
 * a missing object is undefined; keys that could leave the store are refused on both; and start-up checks
 * say clearly what is wrong (an unwritable directory, a missing bucket, wrong credentials) without ever
 * showing the secret.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalDirStore, type ObjectStore } from '../../src/common/storage/object-store.js';
import { S3Store, type S3StoreOptions } from '../../src/common/storage/s3-store.js';
import { startS3, type TestS3 } from '../helpers/s3.js';

const dir = mkdtempSync(join(tmpdir(), 'tiercast-storage-'));
const SECRET = 'S3RVER';
let s3: TestS3;
let endpoint = '';
const stores: ObjectStore[] = [];

before(async () => {
  s3 = await startS3(dir);
  endpoint = s3.endpoint;
});

after(async () => {
  for (const s of stores) s.close();
  await s3.close();
  rmSync(dir, { recursive: true, force: true });
});

const s3Options = (over: Partial<S3StoreOptions> = {}): S3StoreOptions => ({
  endpoint,
  region: 'us-east-1',
  bucket: 'recordings',
  prefix: 'tiercast',
  accessKeyId: 'S3RVER',
  secretAccessKey: SECRET,
  requestTimeoutMs: 5000,
  ...over,
});

const backends: Array<[string, () => ObjectStore]> = [
  ['a local directory', () => new LocalDirStore(mkdtempSync(join(dir, 'local-')))],
  ['S3-compatible storage (s3rver)', () => new S3Store(s3Options({ prefix: `t${stores.length}` }))],
];

for (const [name, make] of backends) {
  describe(`recording storage on ${name}`, () => {
    let store: ObjectStore;
    before(async () => {
      store = make();
      stores.push(store);
      await store.check();
    });

    it('writes whole objects, reads them back, lists by prefix in key order, deletes by prefix', async () => {
      const seg = Buffer.from([0, 1, 2, 250, 251, 252]);
      await store.put('cam/b1/v720/init.mp4', Buffer.from('init'), 'video/mp4');
      await store.put('cam/b1/v720/00000002.m4s', seg, 'video/iso.segment');
      await store.put('cam/b1/v720/00000001.m4s', Buffer.from('one'));
      await store.put('cam/b10/a0/init.mp4', Buffer.from('other broadcast'));
      await store.put('cam/b1/timeline.json', Buffer.from('{}'));
      assert.deepEqual(await store.get('cam/b1/v720/00000002.m4s'), seg);
      await store.put('cam/b1/v720/00000001.m4s', Buffer.from('one, rewritten'));
      assert.equal((await store.get('cam/b1/v720/00000001.m4s'))?.toString(), 'one, rewritten');
      assert.equal(await store.get('cam/b1/v720/00000099.m4s'), undefined, 'a missing object is undefined');
      assert.deepEqual(await store.list('cam/b1/'), [
        { key: 'cam/b1/timeline.json', size: 2 },
        { key: 'cam/b1/v720/00000001.m4s', size: 14 },
        { key: 'cam/b1/v720/00000002.m4s', size: 6 },
        { key: 'cam/b1/v720/init.mp4', size: 4 },
      ]);
      assert.equal((await store.list('cam/b1')).length, 5, 'a prefix without "/" also matches b10');
      assert.equal(await store.deletePrefix('cam/b1/'), 4);
      assert.deepEqual(await store.list('cam/b1/'), []);
      assert.equal((await store.get('cam/b10/a0/init.mp4'))?.toString(), 'other broadcast', 'b10 untouched');
      assert.deepEqual(await store.list('nothing/here/'), []);
    });

    it('refuses keys that could leave the store, with INVALID_VALUE', async () => {
      for (const key of [
        '../etc/passwd',
        'cam/../../x',
        '/abs',
        'cam//x',
        'cam/./x',
        'a\\b',
        'x y',
        '',
        'cam/%2e%2e',
      ]) {
        await assert.rejects(store.put(key, Buffer.from('x')), { code: 'INVALID_VALUE' }, key);
        await assert.rejects(store.get(key), { code: 'INVALID_VALUE' }, key);
      }
      await assert.rejects(store.list('../'), { code: 'INVALID_VALUE' });
      await assert.rejects(store.deletePrefix('cam/../'), { code: 'INVALID_VALUE' });
    });
  });
}

describe('start-up checks say what is wrong', () => {
  it(
    'an unwritable directory',
    { skip: process.getuid?.() === 0 ? 'root writes anywhere' : false },
    async () => {
      const ro = mkdtempSync(join(dir, 'ro-'));
      chmodSync(ro, 0o500);
      await assert.rejects(new LocalDirStore(ro).check(), /STORAGE_UNAVAILABLE|cannot be written/);
    },
  );

  it('a directory that is a file', async () => {
    const store = new LocalDirStore('/dev/null/recordings');
    await assert.rejects(store.check(), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'STORAGE_UNAVAILABLE');
      assert.match(err.message, /recording directory cannot be written.*dir:\/dev\/null\/recordings/);
      return true;
    });
  });

  it('a missing bucket and wrong credentials, never showing the secret', async () => {
    const missing = new S3Store(s3Options({ bucket: 'no-such-bucket' }));
    const wrong = new S3Store(
      s3Options({ accessKeyId: 'NOT-THE-KEY', secretAccessKey: 'very-secret-value-42' }),
    );
    stores.push(missing, wrong);
    await assert.rejects(missing.check(), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'STORAGE_UNAVAILABLE');
      assert.match(err.message, /NoSuchBucket.*bucket:no-such-bucket/);
      return true;
    });
    await assert.rejects(wrong.check(), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'STORAGE_UNAVAILABLE');
      assert.match(err.message, /InvalidAccessKeyId|SignatureDoesNotMatch|AccessDenied/);
      assert.ok(!err.message.includes('very-secret-value-42') && !err.message.includes('NOT-THE-KEY'));
      return true;
    });
  });

  it('what a writer killed mid-write leaves (a temporary file) is never an object', async () => {
    const root = mkdtempSync(join(dir, 'crash-'));
    const store = new LocalDirStore(root);
    await store.put('cam/b1/v720/00000001.m4s', Buffer.alloc(64 * 1024, 7));
    const folder = join(root, 'cam', 'b1', 'v720');
    assert.deepEqual(readdirSync(folder), ['00000001.m4s'], 'written under a temporary name, then renamed');
    // A put of segment 2 killed before its rename leaves only this:
    writeFileSync(join(folder, '00000002.m4s.1a2b3c4d.tmp'), Buffer.alloc(1000, 9));
    assert.deepEqual(
      (await store.list('cam/b1/')).map((o) => o.key),
      ['cam/b1/v720/00000001.m4s'],
    );
    assert.equal(await store.get('cam/b1/v720/00000002.m4s'), undefined);
  });
});
