/**
 * Moderators, sanctions, follows, emoji and chat history, for one backend: run on SQLite by
 * test/unit/hub-store-channels.test.ts and on PostgreSQL by test/integration/hub-store-postgres.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HubError } from '../../src/hub/store/errors.js';
import type { Store, StoredChatMessage } from '../../src/hub/store/types.js';
import type { OpenOptions, StoreBackend } from '../helpers/store-backends.js';

export function hubStoreChannelsSuite(backend: StoreBackend): void {
  function rejects(fn: () => unknown, code: string, message?: RegExp): void {
    assert.throws(fn, (err: unknown) => {
      assert.ok(err instanceof HubError, `expected a HubError, got ${String(err)}`);
      assert.equal(err.code, code);
      if (message) assert.match(err.message, message);
      return true;
    });
  }

  /** A store with streamers alice and bob and users carol and dave. */
  function withStore<T>(
    fn: (s: Store, ids: { carol: number; dave: number }) => T,
    opts: OpenOptions = {},
  ): T {
    const store = backend.open(backend.fresh(), opts);
    try {
      store.streamers.add({ name: 'alice', key: 'alice-key-0123456789' });
      store.streamers.add({ name: 'bob', key: 'bob-key-0123456789ab' });
      const carol = store.users.create('carol', 'carol-password').id;
      const dave = store.users.create('dave', 'dave-password').id;
      return fn(store, { carol, dave });
    } finally {
      store.close();
    }
  }

  const msg = (channel: string, seq: number, extra: Partial<StoredChatMessage> = {}): StoredChatMessage => ({
    channel,
    seq,
    kind: 'text',
    author: 'carol',
    color: '#aabbcc',
    badge: 'user',
    text: `message ${seq}`,
    at: 1000 + seq,
    ...extra,
  });

  const PNG = Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    Buffer.alloc(24, 7),
  ]);
  const GIF = Buffer.concat([Buffer.from('GIF89a'), Buffer.alloc(24, 1)]);
  const WEBP = Buffer.concat([
    Buffer.from('RIFF'),
    Buffer.from([24, 0, 0, 0]),
    Buffer.from('WEBPVP8 '),
    Buffer.alloc(16, 2),
  ]);

  test('moderators: add is idempotent, lookups ignore the case of account names, unknown names are errors', () => {
    withStore((s) => {
      s.moderators.add('alice', 'carol');
      s.moderators.add('alice', 'Carol');
      s.moderators.add('alice', 'dave');
      assert.deepEqual(s.moderators.list('alice'), ['carol', 'dave']);
      assert.deepEqual(s.moderators.list('bob'), []);
      assert.equal(s.moderators.is('alice', 'CAROL'), true);
      assert.equal(s.moderators.is('bob', 'carol'), false);
      assert.equal(s.moderators.is('nobody', 'carol'), false);
      rejects(() => s.moderators.add('nobody', 'carol'), 'UNKNOWN_NAME', /\[streamer:nobody\]/);
      rejects(() => s.moderators.add('alice', 'ghost'), 'UNKNOWN_NAME', /\[user:ghost\]/);
      s.moderators.remove('alice', 'carol');
      s.moderators.remove('alice', 'carol');
      assert.deepEqual(s.moderators.list('alice'), ['dave']);
      rejects(() => s.moderators.remove('alice', 'ghost'), 'UNKNOWN_NAME');
      s.users.remove('dave');
      assert.deepEqual(s.moderators.list('alice'), [], "a removed account's moderator seats go with it");
    });
  });

  test('sanctions: active until they expire, replaced when repeated, removable, listed while in force', () => {
    let clock = 10_000;
    withStore(
      (s) => {
        const guest = { type: 'name', value: 'Troll' } as const;
        s.sanctions.add({ channel: 'alice', kind: 'mute', target: guest, until: 20_000, by: 'alice' });
        s.sanctions.add({
          channel: 'alice',
          kind: 'ban',
          target: { type: 'ip', value: '203.0.113.9' },
          until: null,
          by: 'carol',
        });
        assert.equal(s.sanctions.active('alice', 'mute', guest), true);
        assert.equal(
          s.sanctions.active('alice', 'mute', { type: 'name', value: 'troll' }),
          true,
          'names match regardless of case',
        );
        assert.equal(s.sanctions.active('alice', 'ban', guest), false, 'kinds are separate');
        assert.equal(s.sanctions.active('bob', 'mute', guest), false, 'channels are separate');
        assert.equal(
          s.sanctions.active('alice', 'mute', { type: 'user', value: 'Troll' }),
          false,
          'target types are separate',
        );
        assert.equal(s.sanctions.active('alice', 'mute', guest, 19_999), true);
        assert.equal(s.sanctions.active('alice', 'mute', guest, 20_000), false, 'expired at `until`');
        assert.deepEqual(
          s.sanctions.list('alice').map((x) => [x.kind, x.target.value, x.until, x.by, x.at]),
          [
            ['mute', 'Troll', 20_000, 'alice', 10_000],
            ['ban', '203.0.113.9', null, 'carol', 10_000],
          ],
        );
        assert.deepEqual(
          s.sanctions.list('alice', 25_000).map((x) => x.kind),
          ['ban'],
        );

        clock = 15_000;
        s.sanctions.add({ channel: 'alice', kind: 'mute', target: guest, until: 40_000, by: 'carol' });
        assert.equal(
          s.sanctions.list('alice').filter((x) => x.kind === 'mute').length,
          1,
          'one sanction per target',
        );
        assert.equal(
          s.sanctions.active('alice', 'mute', guest, 30_000),
          true,
          'the repeat replaced the expiry',
        );

        assert.equal(s.sanctions.remove('alice', 'mute', guest), true);
        assert.equal(s.sanctions.remove('alice', 'mute', guest), false);
        assert.equal(s.sanctions.active('alice', 'mute', guest), false);
        rejects(
          () => s.sanctions.add({ channel: 'nobody', kind: 'mute', target: guest, until: null, by: 'x' }),
          'UNKNOWN_NAME',
        );
        rejects(
          () =>
            s.sanctions.add({
              channel: 'alice',
              kind: 'kick' as 'mute',
              target: guest,
              until: null,
              by: 'x',
            }),
          'INVALID_VALUE',
        );
        rejects(
          () =>
            s.sanctions.add({
              channel: 'alice',
              kind: 'mute',
              target: { type: 'mac' as 'ip', value: 'x' },
              until: null,
              by: 'x',
            }),
          'INVALID_VALUE',
        );
        rejects(
          () =>
            s.sanctions.add({
              channel: 'alice',
              kind: 'mute',
              target: { type: 'ip', value: '' },
              until: null,
              by: 'x',
            }),
          'INVALID_VALUE',
        );
        rejects(
          () =>
            s.sanctions.add({ channel: 'alice', kind: 'mute', target: guest, until: Number.NaN, by: 'x' }),
          'INVALID_VALUE',
        );
      },
      { now: () => clock },
    );
  });

  test('follows: one per account and streamer, counted, listed, removed', () => {
    withStore((s, { carol, dave }) => {
      s.follows.follow(carol, 'alice');
      s.follows.follow(carol, 'alice');
      s.follows.follow(carol, 'bob');
      s.follows.follow(dave, 'alice');
      assert.equal(s.follows.count('alice'), 2);
      assert.equal(s.follows.count('bob'), 1);
      assert.equal(s.follows.count('nobody'), 0);
      assert.deepEqual(s.follows.list(carol), ['alice', 'bob']);
      s.follows.unfollow(carol, 'alice');
      s.follows.unfollow(carol, 'alice');
      assert.deepEqual(s.follows.list(carol), ['bob']);
      assert.equal(s.follows.count('alice'), 1);
      rejects(() => s.follows.follow(carol, 'nobody'), 'UNKNOWN_NAME');
      rejects(() => s.follows.follow(424242, 'alice'), 'NOT_FOUND');
      s.users.remove('dave');
      assert.equal(s.follows.count('alice'), 0);
    });
  });

  test('removing a streamer removes its follows, moderators, sanctions and history', () => {
    withStore((s, { carol }) => {
      s.follows.follow(carol, 'alice');
      s.follows.follow(carol, 'bob');
      s.moderators.add('alice', 'carol');
      s.sanctions.add({
        channel: 'alice',
        kind: 'ban',
        target: { type: 'name', value: 'x' },
        until: null,
        by: 'alice',
      });
      s.chat.append(msg('alice', 1));
      s.streamers.remove('alice');
      assert.deepEqual(s.follows.list(carol), ['bob']);
      assert.deepEqual(s.moderators.list('alice'), []);
      assert.deepEqual(s.sanctions.list('alice'), []);
      assert.deepEqual(s.chat.recent('alice', 10), []);
      assert.equal(s.chat.lastSeq('alice'), 0);
      // A new streamer of the same name starts clean.
      s.streamers.add({ name: 'alice', key: 'alice-new-key-0123456789' });
      assert.equal(s.follows.count('alice'), 0);
      assert.equal(s.moderators.is('alice', 'carol'), false);
      assert.equal(s.sanctions.active('alice', 'ban', { type: 'name', value: 'x' }), false);
    });
  });

  test('broadcasts: opened once, ended, peak only rises, listed newest first, renamed, hidden, removed with the streamer', () => {
    withStore((s) => {
      const a = {
        id: '20261201T170000Z-0000aaaa',
        stream: 'alice',
        title: 'first',
        category: 'Talk',
        startedAt: 1000,
      };
      const b = { ...a, id: '20261201T180000Z-0000bbbb', title: 'second', startedAt: 2000 };
      assert.equal(s.broadcasts.start(a).endedAt, null);
      assert.equal(
        s.broadcasts.start({ ...a, title: 'again' }).title,
        'first',
        'a repeated report is the same row',
      );
      s.broadcasts.start(b);
      s.broadcasts.start({ ...a, id: '20261201T190000Z-0000cccc', stream: 'bob', startedAt: 3000 });
      const ended = s.broadcasts.end(a.id, { endedAt: 61_000, durationMs: 59_500.4, bytes: 12_345 });
      assert.deepEqual(
        [ended.endedAt, ended.durationMs, ended.bytes, ended.hidden],
        [61_000, 59_500, 12_345, false],
      );
      s.broadcasts.notePeak(a.id, 7);
      s.broadcasts.notePeak(a.id, 3);
      assert.equal(s.broadcasts.get(a.id)?.peakViewers, 7, 'a lower count does not lower the peak');
      assert.deepEqual(
        s.broadcasts.list('alice').map((x) => x.title),
        ['second', 'first'],
      );
      assert.deepEqual(
        s.broadcasts.all().map((x) => x.startedAt),
        [1000, 2000, 3000],
      );
      const renamed = s.broadcasts.update(a.id, { title: 'Renamed', hidden: true });
      assert.deepEqual([renamed.title, renamed.hidden], ['Renamed', true]);
      assert.equal(s.broadcasts.update(a.id, { hidden: false }).hidden, false);
      rejects(() => s.broadcasts.update('20261201T000000Z-ffffffff', { title: 'x' }), 'NOT_FOUND');
      rejects(
        () => s.broadcasts.end('20261201T000000Z-ffffffff', { endedAt: 1, durationMs: 1, bytes: 1 }),
        'NOT_FOUND',
      );
      rejects(
        () => s.broadcasts.start({ ...a, id: '20261201T000000Z-eeeeeeee', stream: 'nobody' }),
        'UNKNOWN_NAME',
      );
      // What the ingress records of a channel is the channel's own choice (null: the ingress's setting).
      assert.equal(s.streamers.get('alice')?.recording, null);
      assert.equal(s.streamers.update('alice', { recording: 'source' }).recording, 'source');
      assert.equal(s.streamers.update('alice', { recording: null }).recording, null);
      rejects(() => s.streamers.update('alice', { recording: 'sometimes' as never }), 'INVALID_VALUE');
      assert.equal(s.broadcasts.remove(b.id), true);
      assert.equal(s.broadcasts.remove(b.id), false);
      s.streamers.remove('alice');
      assert.deepEqual(s.broadcasts.list('alice'), []);
      assert.equal(s.broadcasts.all().length, 1, "bob's stays");
    });
  });

  test('emoji: PNG, GIF and WebP by magic bytes, within 64 KiB, names unique', () => {
    withStore((s) => {
      s.emoji.add({ name: 'pog', mime: 'image/png', data: PNG });
      s.emoji.add({ name: 'wave_2', mime: 'image/gif', data: GIF });
      s.emoji.add({ name: 'kek', mime: 'image/webp', data: WEBP });
      assert.deepEqual(s.emoji.list(), [
        { name: 'kek', mime: 'image/webp' },
        { name: 'pog', mime: 'image/png' },
        { name: 'wave_2', mime: 'image/gif' },
      ]);
      const got = s.emoji.get('pog');
      assert.equal(got?.mime, 'image/png');
      assert.ok(got?.data.equals(PNG));
      assert.equal(s.emoji.get('nope'), undefined);
      rejects(
        () => s.emoji.add({ name: 'pog', mime: 'image/png', data: PNG }),
        'DUPLICATE_NAME',
        /\[emoji:pog\]/,
      );
      rejects(
        () => s.emoji.add({ name: 'Pog', mime: 'image/png', data: PNG }),
        'INVALID_VALUE',
        /emoji name/,
      );
      rejects(() => s.emoji.add({ name: 'x'.repeat(33), mime: 'image/png', data: PNG }), 'INVALID_VALUE');
      rejects(
        () => s.emoji.add({ name: 'liar', mime: 'image/gif', data: PNG }),
        'INVALID_VALUE',
        /is image\/png, not "image\/gif"/,
      );
      rejects(
        () => s.emoji.add({ name: 'svg', mime: 'image/png', data: Buffer.from('<svg onload="alert(1)"/>') }),
        'INVALID_VALUE',
        /not a PNG, GIF or WebP/,
      );
      rejects(
        () => s.emoji.add({ name: 'empty', mime: 'image/png', data: Buffer.alloc(0) }),
        'INVALID_VALUE',
      );
      const big = Buffer.concat([PNG, Buffer.alloc(64 * 1024 - PNG.length + 1)]);
      rejects(
        () => s.emoji.add({ name: 'big', mime: 'image/png', data: big }),
        'INVALID_VALUE',
        /65537 bytes, over the 65536-byte limit/,
      );
      s.emoji.add({ name: 'max', mime: 'image/png', data: big.subarray(0, 64 * 1024) });
      s.emoji.remove('pog');
      assert.equal(s.emoji.get('pog'), undefined);
      rejects(() => s.emoji.remove('pog'), 'UNKNOWN_NAME');
    });
  });

  test('chat history is trimmed to historySize and keeps the newest, in order', () => {
    withStore(
      (s) => {
        for (let seq = 1; seq <= 12; seq++) s.chat.append(msg('alice', seq));
        s.chat.append(msg('bob', 1));
        assert.deepEqual(
          s.chat.recent('alice', 100).map((m) => m.seq),
          [8, 9, 10, 11, 12],
        );
        assert.deepEqual(
          s.chat.recent('alice', 2).map((m) => m.seq),
          [11, 12],
        );
        assert.deepEqual(s.chat.recent('alice', 0), []);
        assert.deepEqual(
          s.chat.recent('bob', 10).map((m) => m.seq),
          [1],
          'channels are trimmed separately',
        );
        assert.deepEqual(s.chat.recent('nobody', 10), []);
        assert.deepEqual(s.chat.recent('alice', 1)[0], msg('alice', 12));
      },
      { historySize: 5 },
    );
  });

  test("a message's origin is stored with it, survives a restart and a full trim, and is unique", () => {
    const dataDir = backend.fresh();
    const first = backend.open(dataDir, { historySize: 0 });
    first.streamers.add({ name: 'alice', key: 'alice-key-0123456789' });
    assert.equal(first.chat.hasOrigin('edge-1.x:1'), false);
    first.chat.append(msg('alice', 1), 'edge-1.x:1');
    first.chat.append(msg('alice', 2));
    assert.equal(first.chat.hasOrigin('edge-1.x:1'), true, 'kept even with no history kept');
    assert.throws(() => first.chat.append(msg('alice', 3), 'edge-1.x:1'), 'an origin is stored once');
    assert.equal(first.chat.lastSeq('alice'), 2, 'the refused append left nothing behind');
    assert.throws(() => first.chat.append(msg('alice', 3), ''), /origin/);
    first.close();
    const second = backend.open(dataDir);
    assert.equal(second.chat.hasOrigin('edge-1.x:1'), true, 'another hub on the same store knows it');
    assert.equal(second.chat.hasOrigin('edge-1.x:2'), false);
    assert.equal(second.chat.byOrigin('edge-1.x:1'), undefined, 'no history kept: nothing to send again');
    second.chat.append(msg('alice', 3), 'edge-1.x:3');
    assert.deepEqual(second.chat.byOrigin('edge-1.x:3'), msg('alice', 3), 'the message posted for it');
    assert.equal(second.chat.byOrigin('edge-1.x:9'), undefined);
    second.close();
  });

  test('lastSeq continues after a restart, even when history was deleted or cleared', () => {
    const dataDir = backend.fresh();
    const first = backend.open(dataDir);
    first.streamers.add({ name: 'alice', key: 'alice-key-0123456789' });
    const drawing = 'data:image/png;base64,iVBORw0KGgo=';
    for (let seq = 1; seq <= 7; seq++)
      first.chat.append(msg('alice', seq, seq === 7 ? { kind: 'drawing', image: drawing, text: '' } : {}));
    first.chat.remove('alice', [2, 3, 99]);
    assert.deepEqual(
      first.chat.recent('alice', 10).map((m) => m.seq),
      [1, 4, 5, 6, 7],
    );
    first.close();

    const second = backend.open(dataDir);
    assert.equal(second.chat.lastSeq('alice'), 7);
    assert.equal(second.chat.recent('alice', 1)[0]?.image, drawing);
    assert.equal(
      'image' in (second.chat.recent('alice', 2)[0] ?? {}),
      false,
      'no image key on text messages',
    );
    second.chat.clear('alice');
    assert.deepEqual(second.chat.recent('alice', 10), []);
    second.close();

    const third = backend.open(dataDir);
    assert.equal(third.chat.lastSeq('alice'), 7, 'numbering never goes backwards');
    assert.equal(third.chat.lastSeq('nobody'), 0);
    third.chat.append(msg('alice', 8));
    assert.deepEqual(
      third.chat.recent('alice', 10).map((m) => m.seq),
      [8],
    );
    third.close();
  });

  test("a system line's key and params survive a restart; lines stored before migration 014 have none", () => {
    const dataDir = backend.fresh();
    // A database as the release before the line keys left it (migration 014 undone), with a line in it.
    const setup = backend.open(dataDir);
    setup.streamers.add({ name: 'alice', key: 'alice-key-0123456789' });
    setup.close();
    const db = backend.raw(dataDir);
    db.exec('ALTER TABLE chat_messages DROP COLUMN text_key');
    db.exec('ALTER TABLE chat_messages DROP COLUMN text_params');
    db.prepare('DELETE FROM schema_migrations WHERE version = ?').run(14);
    db.prepare(
      `INSERT INTO chat_messages (streamer_id, seq, kind, author, color, badge, text, image, at)
       SELECT id, 1, 'system', 'system', '#aabbcc', 'system', ?, NULL, 1001 FROM streamers WHERE name = ?`,
    ).run('carol was muted by dave', 'alice');
    db.prepare(
      'INSERT INTO chat_channels (streamer_id, last_seq) SELECT id, 1 FROM streamers WHERE name = ?',
    ).run('alice');
    db.close();

    const line = msg('alice', 2, {
      kind: 'system',
      author: 'system',
      badge: 'system',
      text: 'carol was muted for 5 minutes by dave',
      key: 'chat.system.mutedFor',
      params: { name: 'carol', by: 'dave', count: 5 },
    });
    const first = backend.open(dataDir);
    assert.deepEqual(
      first.chat.recent('alice', 1)[0],
      msg('alice', 1, { kind: 'system', author: 'system', badge: 'system', text: 'carol was muted by dave' }),
      'an older line: its English only',
    );
    first.chat.append(line);
    first.chat.append(msg('alice', 3, { kind: 'system', text: 'Chat was cleared', key: 'chat.system.x' }));
    first.close();

    const second = backend.open(dataDir);
    const [older, keyed, noParams] = second.chat.recent('alice', 10);
    assert.equal('key' in older!, false);
    assert.deepEqual(keyed, line);
    assert.deepEqual(
      noParams,
      msg('alice', 3, { kind: 'system', text: 'Chat was cleared', key: 'chat.system.x' }),
    );
    rejects(() => second.chat.append(msg('alice', 4, { key: 'chat.<b>' })), 'INVALID_VALUE', /line key/);
    rejects(
      () =>
        second.chat.append(msg('alice', 4, { key: 'chat.system.x', params: { a: {} as unknown as string } })),
      'INVALID_VALUE',
      /params/,
    );
    second.close();
  });

  test('chat append refuses non-increasing seqs, unknown channels and bad values', () => {
    withStore((s) => {
      s.chat.append(msg('alice', 5));
      rejects(() => s.chat.append(msg('alice', 5)), 'INVALID_VALUE', /seq must increase \(last stored 5\)/);
      rejects(() => s.chat.append(msg('alice', 3)), 'INVALID_VALUE');
      rejects(() => s.chat.append(msg('alice', 0)), 'INVALID_VALUE');
      rejects(() => s.chat.append(msg('alice', 6.5)), 'INVALID_VALUE');
      rejects(() => s.chat.append(msg('nobody', 1)), 'UNKNOWN_NAME', /\[streamer:nobody\]/);
      rejects(() => s.chat.append(msg('alice', 6, { kind: 'html' as 'text' })), 'INVALID_VALUE');
      rejects(() => s.chat.append(msg('alice', 6, { badge: 'owner' as 'host' })), 'INVALID_VALUE');
      assert.equal(s.chat.lastSeq('alice'), 5, 'refused messages do not advance numbering');
      s.chat.remove('nobody', [1]);
      s.chat.clear('nobody');
    });
  });

  test('historySize 0 stores no messages but still numbers them', () => {
    withStore(
      (s) => {
        s.chat.append(msg('alice', 1));
        s.chat.append(msg('alice', 2));
        assert.deepEqual(s.chat.recent('alice', 10), []);
        assert.equal(s.chat.lastSeq('alice'), 2);
      },
      { historySize: 0 },
    );
  });
}
