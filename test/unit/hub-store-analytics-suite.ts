/**
 * Analytics end to end inside the hub (issue 16), for one backend: edges' audience reports and community
 * events go through the recorder into the store, and come back out as the report and CSV a streamer reads.
 * Run on SQLite by test/unit/hub-analytics.test.ts and on PostgreSQL by test/integration/hub-store-postgres.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { HubEvents } from '../../src/hub/hub-events.js';
import { Directory } from '../../src/hub/directory.js';
import { AudienceBook } from '../../src/hub/analytics/audience-book.js';
import { AnalyticsRecorder, FOLDED_SPAN_S } from '../../src/hub/analytics/analytics-recorder.js';
import { analyticsReader } from '../../src/hub/analytics/analytics-api.js';
import type { AnalyticsConfig } from '../../src/common/config/index.js';
import type { Store } from '../../src/hub/store/types.js';
import type { StoreBackend } from '../helpers/store-backends.js';

const MIN = 60_000;
const T0 = 1_796_000_040 * 1000 - ((1_796_000_040 * 1000) % MIN);
const key = (n: number) => n.toString(16).padStart(16, '0');
const config: AnalyticsConfig = {
  enabled: true,
  sampleEveryMs: MIN,
  fullResolutionHours: 24,
  retentionDays: 90,
};

function rig(store: Store, clock: { t: number }) {
  const events = new HubEvents();
  const directory = new Directory(() => clock.t, 30_000);
  const book = new AudienceBook(6000, () => clock.t);
  const recorder = new AnalyticsRecorder({
    store,
    directory,
    book,
    events,
    config,
    leads: () => true,
    logger: pino({ level: 'silent' }),
    now: () => clock.t,
    manual: true,
  });
  const reader = analyticsReader(store, config, () => clock.t);
  return { events, directory, book, recorder, reader };
}

export function hubStoreAnalyticsSuite(backend: StoreBackend): void {
  test('analytics: a live seen by transport and region, unique viewers, watch time, chat and follows', () => {
    const clock = { t: T0 };
    const store = backend.open(backend.fresh(), { now: () => clock.t });
    const { events, directory, book, recorder, reader } = rig(store, clock);
    try {
      store.streamers.add({ name: 'alice', key: 'alice-key-0123456789' });
      store.streamers.add({ name: 'bob', key: 'bob-key-0123456789ab' });
      directory.setLive('alice', 'ingress-1', T0);
      events.emit({ type: 'stream.started', channel: 'alice', at: T0, title: 'Hi', category: '' });

      // First minute: four viewers at a European edge, two at an American one (k1 moved between them).
      clock.t = T0 + MIN - 1000;
      book.report('edge-a', {
        t: 'audience',
        region: 'eu',
        streams: { alice: { transports: { websocket: 3, hls: 1 }, joined: [1, 2, 3, 4].map(key) } },
      });
      book.report('edge-b', {
        t: 'audience',
        region: 'us',
        streams: { alice: { transports: { dash: 2 }, joined: [1, 5].map(key) } },
      });
      events.emit({ type: 'chat.message', channel: 'alice', at: clock.t, author: 'carol', text: 'hi' });
      events.emit({ type: 'chat.message', channel: 'alice', at: clock.t, author: 'carol', text: 'again' });
      events.emit({ type: 'chat.message', channel: 'alice', at: clock.t, author: 'dave', text: 'yo' });
      events.emit({ type: 'channel.followed', channel: 'alice', at: clock.t, follower: 'dave' });
      directory.setLive('alice', 'ingress-1', T0); // the ingress reports every 5 s
      clock.t = T0 + MIN + 1000;
      recorder.tick();

      // Second minute: one viewer left at edge-a (a new one), edge-b stopped reporting (its viewers left).
      clock.t = T0 + 2 * MIN - 2000;
      book.report('edge-a', {
        t: 'audience',
        region: 'eu',
        streams: { alice: { transports: { websocket: 1 }, joined: [key(6)] } },
      });
      directory.setLive('alice', 'ingress-1', T0);
      clock.t = T0 + 2 * MIN + 1000;
      recorder.tick();
      events.emit({ type: 'stream.ended', channel: 'alice', at: T0 + 150_000, durationS: 150 });
      directory.setOffline('alice');

      const q = `from=${T0}&to=${T0 + 3 * MIN}`;
      const r = reader.report('alice', q);
      assert.equal(r.stepS, 60);
      assert.deepEqual(r.series.times, [T0, T0 + MIN, T0 + 2 * MIN]);
      assert.deepEqual(r.series.total, [0, 6, 1], 'viewers per minute');
      assert.deepEqual(
        r.series.groups.map((g) => [g.name, g.viewers]),
        [
          ['dash', [0, 2, 0]],
          ['hls', [0, 1, 0]],
          ['websocket', [0, 3, 1]],
        ],
      );
      assert.deepEqual(r.series.messages, [0, 3, 0]);
      assert.deepEqual(r.series.follows, [0, 1, 0]);
      assert.deepEqual(r.summary, {
        peakViewers: 6,
        // 7 viewer-minutes over the 150 s the channel was live
        averageViewers: 2.8,
        uniqueViewers: 6,
        averageWatchS: 70,
        viewerHours: 0.12,
        liveS: 150,
        chatters: 2,
        messages: 3,
        follows: 1,
      });
      assert.equal(r.lives.length, 1);
      assert.equal(r.lives[0]!.endedAt, T0 + 150_000);

      const byRegion = reader.report('alice', `${q}&by=region`);
      assert.deepEqual(
        byRegion.series.groups.map((g) => [g.name, g.viewers]),
        [
          ['eu', [0, 4, 1]],
          ['us', [0, 2, 0]],
        ],
      );
      // One live, by its id: the same numbers.
      const one = reader.report('alice', `live=${r.lives[0]!.id}`);
      assert.equal(one.summary.uniqueViewers, 6);
      assert.equal(one.summary.liveS, 150);
      assert.equal(reader.report('bob', q).summary.uniqueViewers, 0, 'per channel');
      assert.equal(reader.report(null, q).summary.peakViewers, 6, 'the network');
      assert.throws(() => reader.report('bob', `live=${r.lives[0]!.id}`), /no such live/);

      const csv = reader.csv('alice', q);
      assert.equal(csv.raw?.contentType, 'text/csv; charset=utf-8');
      assert.match(
        csv.headers?.['content-disposition'] ?? '',
        /attachment; filename="alice-.*-analytics\.csv"/,
      );
      const lines = csv.raw.data.toString().split('\r\n');
      assert.equal(lines[0], 'time,viewers,viewers_dash,viewers_hls,viewers_websocket,messages,follows');
      assert.equal(lines[2], `${new Date(T0 + MIN).toISOString()},6,2,1,3,3,1`);
    } finally {
      recorder.close();
      store.close();
    }
  });

  test('analytics: a missed end still ends; old rows fold without losing viewer-time; retention deletes', () => {
    const clock = { t: T0 };
    const store = backend.open(backend.fresh(), { now: () => clock.t });
    const { directory, book, recorder, reader } = rig(store, clock);
    try {
      store.streamers.add({ name: 'bob', key: 'bob-key-0123456789ab' });
      // Live without a stream.started this hub heard (a restart): the sample starts its live.
      directory.setLive('bob', 'ingress-1', T0);
      for (let m = 1; m <= 12; m++) {
        clock.t = T0 + m * MIN - 1000;
        directory.setLive('bob', 'ingress-1', T0);
        book.report('edge-a', {
          t: 'audience',
          region: 'eu',
          streams: { bob: { transports: { websocket: 5 }, joined: [key(m)] } },
        });
        clock.t = T0 + m * MIN;
        recorder.tick();
      }
      assert.equal(store.analytics.openLives().length, 1);
      // The ingress vanished without a word: once the directory lets the stream go, the live ends.
      clock.t = T0 + 13 * MIN;
      recorder.tick();
      assert.deepEqual(store.analytics.openLives(), []);
      const range = `from=${T0}&to=${T0 + 20 * MIN}`;
      const before = reader.report('bob', range).summary;
      assert.equal(before.viewerHours, 1, '5 viewers for 12 minutes');
      assert.equal(before.uniqueViewers, 12);

      // Two days later the minutes are folded into 10-minute rows: fewer rows, the same viewer-time.
      clock.t = T0 + 2 * 86_400_000;
      const folded = store.analytics.fold(clock.t - 86_400_000, FOLDED_SPAN_S);
      assert.ok(folded >= 12, `${folded} rows folded`);
      const rows = store.analytics.samples('bob', T0, T0 + 20 * MIN);
      assert.ok(rows.length <= 3 && rows.every((x) => x.spanS === FOLDED_SPAN_S), JSON.stringify(rows));
      const after = reader.report('bob', range);
      assert.equal(after.stepS, FOLDED_SPAN_S, 'old data is read in 10-minute steps');
      assert.equal(after.summary.viewerHours, 1);
      assert.equal(after.summary.uniqueViewers, 12);

      // Past the retention everything goes.
      clock.t = T0 + 91 * 86_400_000;
      recorder.housekeeping();
      assert.deepEqual(store.analytics.samples('bob', 0, clock.t), []);
      assert.deepEqual(store.analytics.lives('bob', 0, clock.t, 10), []);
      assert.deepEqual(store.analytics.uniques('bob', 0, clock.t, 'viewer'), []);
    } finally {
      recorder.close();
      store.close();
    }
  });

  test('analytics: bad queries are refused with their code; disabled analytics say so', () => {
    const clock = { t: T0 };
    const store = backend.open(backend.fresh(), { now: () => clock.t });
    const { reader } = rig(store, clock);
    try {
      const code = (f: () => unknown, c: string) =>
        assert.throws(f, (e: unknown) => (e as { code?: string }).code === c, c);
      code(() => reader.report('a', 'by=city'), 'INVALID_VALUE');
      code(() => reader.report('a', 'from=yesterday'), 'INVALID_VALUE');
      code(() => reader.report('a', `from=${T0}&to=${T0 - 1}`), 'INVALID_VALUE');
      code(() => reader.report('a', `from=0&to=${T0}`), 'INVALID_VALUE');
      code(() => reader.report('a', 'live=lv_nothinghere1'), 'NOT_FOUND');
      code(() => reader.report('a', 'live=../../etc'), 'NOT_FOUND');
      const off = analyticsReader(store, { ...config, enabled: false }, () => clock.t);
      code(() => off.report('a', ''), 'ANALYTICS_DISABLED');
      // ISO times are read as well as milliseconds.
      const iso = reader.report(
        null,
        `from=${new Date(T0).toISOString()}&to=${new Date(T0 + MIN).toISOString()}`,
      );
      assert.equal(iso.from, T0);
    } finally {
      store.close();
    }
  });
}
