/**
 * Analytics end to end (issue 16): a real hub, ingress and edge, ffmpeg publishing, and three viewers on three
 * transports from three addresses (Chromium's watch page over WebSocket; LL-HLS and LL-DASH clients fetching
 * playlists and media parts through a trusted proxy that names them; an address that only reads playlists is
 * no viewer). The hub samples every 2 s. The remote API's report counts each
 * transport and each viewer once; the streamer's dashboard shows the same numbers, draws the chart (uPlot)
 * grouped by player and by region, and downloads the series as CSV. An operator sees the whole network.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { KEY, publish, stop, waitFor } from '../helpers/network.js';
import { startHubSite, type HubSite } from '../helpers/hub-site.js';

let site: HubSite;
let pub: ReturnType<typeof publish> | undefined;
let polling = true;
const pollers: Promise<void>[] = [];

const get = (url: string | URL, address: string) =>
  fetch(url, { headers: { 'x-forwarded-for': address } }).then(async (r) => ({
    url: r.url,
    text: await r.text(),
  }));

/** The newest LL-HLS part, found from an address that fetches no media (a playlist alone is no viewer). */
async function newestPart(): Promise<string> {
  const master = await get(`${site.net.edgeUrl}/live/cam/master.m3u8`, '192.0.2.99');
  const mediaUrl = new URL(
    master.text.split('\n').find((l) => l && !l.startsWith('#'))!,
    master.url,
  );
  const playlist = (await get(mediaUrl, '192.0.2.99')).text;
  const parts = [...playlist.matchAll(/#EXT-X-PART:[^\n]*URI="([^"]+)"/g)];
  return new URL(parts[parts.length - 1]![1]!, mediaUrl).href;
}

/**
 * An HTTP player behind the proxy at 127.0.0.1, as its address: its manifest or playlists (which say which
 * player it is), then media parts, every second.
 */
async function httpViewer(kind: 'hls' | 'dash', address: string): Promise<void> {
  while (polling) {
    try {
      if (kind === 'dash') await get(`${site.net.edgeUrl}/live/cam/manifest.mpd`, address);
      else {
        const master = await get(`${site.net.edgeUrl}/live/cam/master.m3u8`, address);
        await get(
          new URL(
            master.text.split('\n').find((l) => l && !l.startsWith('#'))!,
            master.url,
          ),
          address,
        );
      }
      await get(await newestPart(), address);
    } catch {
      // the stream is not live yet
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

before(async () => {
  site = await startHubSite({ analytics: { sampleEveryMs: 2000 } }, { edge: { trustProxy: ['127.0.0.1'] } });
});

after(async () => {
  polling = false;
  await Promise.all(pollers);
  if (pub) await stop(pub);
  await site?.close();
});

interface Report {
  summary: Record<string, number>;
  series: { times: number[]; total: number[]; groups: { name: string; viewers: number[] }[] };
}

test('viewers on three transports are counted in the report, the dashboard chart and the CSV', async () => {
  pub = publish(site.net.rtmpUrl, KEY, 120);
  const watcher = await site.newPage();
  await watcher.goto(`${site.net.edgeUrl}/watch/cam`);
  await waitFor(
    'the watch page to show a picture',
    async () => Boolean(await watcher.evaluate('window.tiercast && window.tiercast.position() !== null')),
    45_000,
  );
  pollers.push(httpViewer('hls', '203.0.113.20'));
  pollers.push(httpViewer('dash', '198.51.100.30'));

  const basic = { authorization: `Basic ${Buffer.from(`cam:${KEY}`).toString('base64')}` };
  const t = (await (
    await fetch(`${site.hub.url}/api/v1/token`, { method: 'POST', headers: basic })
  ).json()) as {
    token: string;
  };
  const auth = { authorization: `Bearer ${t.token}` };
  let report: Report | undefined;
  const peakOf = (r: Report, name: string) =>
    Math.max(0, ...(r.series.groups.find((g) => g.name === name)?.viewers ?? [0]));
  await waitFor(
    'the report to count a viewer on each transport',
    async () => {
      const r = await fetch(`${site.hub.url}/api/v1/streams/cam/analytics?from=${Date.now() - 600_000}`, {
        headers: auth,
      });
      report = (await r.json()) as Report;
      return ['websocket', 'hls', 'dash'].every((n) => peakOf(report!, n) >= 1);
    },
    40_000,
    1000,
  );
  assert.ok(report);
  // Each transport had one viewer; the edge sampled once every 2 s (averaged into minute points: ≤ 1 each).
  for (const n of ['websocket', 'hls', 'dash']) assert.ok(peakOf(report, n) <= 1, `${n}: one viewer`);
  assert.equal(report.summary.uniqueViewers, 3, 'three addresses, three viewers');
  assert.ok((report.summary.liveS ?? 0) > 0);

  const csv = await fetch(`${site.hub.url}/api/v1/streams/cam/analytics.csv?from=${Date.now() - 600_000}`, {
    headers: auth,
  });
  assert.equal(csv.headers.get('content-type'), 'text/csv; charset=utf-8');
  const lines = (await csv.text()).trim().split('\r\n');
  assert.equal(lines[0], 'time,viewers,viewers_dash,viewers_hls,viewers_websocket,messages,follows');
  assert.match(lines[lines.length - 1]!, /^\d{4}-\d\d-\d\dT[\d:.]+Z,[\d.]+,[\d.]+,[\d.]+,[\d.]+,\d+,\d+$/);
  const bad = await fetch(`${site.hub.url}/api/v1/streams/cam/analytics?by=city`, { headers: auth });
  assert.equal(bad.status, 400);
  assert.equal(((await bad.json()) as { error: { code: string } }).error.code, 'INVALID_VALUE');

  // The streamer's dashboard: the same numbers, the chart, the CSV.
  const page = await site.newPage();
  await page.goto(`${site.net.edgeUrl}/dashboard`);
  await page.fill('#key-login-key', KEY);
  await page.click('#key-login-form button[type="submit"]');
  const tiles = page.locator('#analytics-summary');
  await waitFor(
    'the analytics summary',
    async () => /Unique viewers\s*3/.test(await tiles.innerText()),
    20_000,
  );
  await page.locator('#analytics-chart canvas').first().waitFor();
  const legend = page.locator('#analytics-chart .u-legend');
  await waitFor('the chart legend names every player', async () => {
    const text = await legend.innerText();
    return ['All viewers', 'websocket', 'hls', 'dash'].every((n) => text.includes(n));
  });
  await page.selectOption('#analytics-by', 'region');
  await waitFor('the chart grouped by region', async () => {
    const text = await legend.innerText();
    return text.includes('local') && !text.includes('websocket');
  });
  const href = await page.getAttribute('#analytics-csv', 'href');
  assert.match(href ?? '', /^\/api\/dashboard\/analytics\.csv\?from=\d+&to=\d+&by=region$/);
  const fromPage = await page.evaluate<string>(`fetch(${JSON.stringify(href)}).then((r) => r.text())`);
  assert.match(fromPage, /^time,viewers,viewers_local,messages,follows\r\n/);
  // A streamer sees only their own channel.
  const other = await page.evaluate<{ error?: { code: string } }>(
    `fetch('/api/dashboard/analytics?channel=someone').then((r) => r.json())`,
  );
  assert.equal(other.error?.code, 'FORBIDDEN');

  // An operator (an admin account without a channel) sees the whole network, or one channel by name.
  site.hub.store.users.create('olga', 'olga-password-1', 'admin');
  const op = await site.newPage();
  await op.goto(`${site.net.edgeUrl}/login?next=%2Fdashboard`);
  await op.fill('#login-name', 'olga');
  await op.fill('#login-password', 'olga-password-1');
  await op.click('#panel-login button[type="submit"]');
  await op.waitForURL(/\/dashboard$/);
  await op.locator('#dash-network #analytics-panel').waitFor();
  const opTiles = op.locator('#analytics-summary');
  await waitFor(
    'the network summary',
    async () => /Unique viewers\s*3/.test(await opTiles.innerText()),
    20_000,
  );
  await op.fill('#analytics-channel', 'nobody');
  await op.press('#analytics-channel', 'Enter');
  await waitFor(
    'an unknown channel is said',
    async () =>
      /does not exist/.test(await op.locator('#analytics-status').innerText()) &&
      (await opTiles.innerText()) === '',
  );
  await op.fill('#analytics-channel', 'cam');
  await op.press('#analytics-channel', 'Enter');
  await waitFor('one channel for the operator', async () =>
    /Unique viewers\s*3/.test(await opTiles.innerText()),
  );
  assert.deepEqual(site.errors, []);
});
