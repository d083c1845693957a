/**
 * The dashboard's restream panel in a real Chromium, with a real hub, ingress and edge, and nginx-rtmp as the
 * target (issue 16): the streamer adds an output (a URL that is not RTMP says why); the key is cleared from
 * the form and is nowhere on the page; going live (ffmpeg publishing to the ingress) the panel shows the output
 * live and ffprobe reads the stream back from nginx; removing the output empties the list.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { KEY, publish, run, stop, waitFor } from '../helpers/network.js';
import { startHubSite, type HubSite } from '../helpers/hub-site.js';
import { startNginxRtmp, type NginxRtmp } from '../helpers/nginx-rtmp.js';

const OUTPUT_KEY = 'yt_abcd-efgh-ijkl-mnop';
let site: HubSite;
let nginx: NginxRtmp;

before(async () => {
  nginx = await startNginxRtmp();
  site = await startHubSite({ restream: { allowPrivateTargets: true } }, { ingressKeysFromHub: true });
});

after(async () => {
  await site?.close();
  await nginx?.stop();
});

test('the streamer adds an output on the dashboard, goes live, sees it live, and nginx-rtmp receives the stream', async () => {
  const page = await site.newPage();
  let pub: ReturnType<typeof publish> | undefined;
  try {
    await page.goto(`${site.net.edgeUrl}/dashboard`);
    await page.fill('#key-login-key', KEY);
    await page.click('#key-login-form button[type="submit"]');
    await page.locator('#output-form').waitFor();
    await waitFor('no outputs yet', async () =>
      /No outputs yet/.test(await page.locator('#outputs-status').innerText()),
    );

    await page.fill('#output-name', 'Local nginx');
    await page.fill('#output-url', 'http://127.0.0.1/live');
    await page.fill('#output-key', OUTPUT_KEY);
    await page.click('#output-form button[type="submit"]');
    assert.match(
      await page.locator('#output-form .form-error').innerText(),
      /starts with rtmp:\/\/ or rtmps:\/\//,
    );

    await page.fill('#output-url', nginx.appUrl);
    await page.click('#output-form button[type="submit"]');
    const row = page.locator('.dash-output');
    await row.waitFor();
    assert.match(
      await row.innerText(),
      /Local nginx[\s\S]*rtmp:\/\/127\.0\.0\.1:\d+\/live[\s\S]*Source[\s\S]*starts when you go live/,
    );
    assert.equal(await page.inputValue('#output-key'), '', 'the key is cleared from the form');
    assert.ok(!(await page.content()).includes(OUTPUT_KEY), 'the key is nowhere on the page');

    pub = publish(site.net.rtmpUrl, KEY, 120);
    await waitFor(
      'the panel shows the output live',
      async () => (await row.locator('.dash-output-state').innerText()) === 'live',
      45_000,
      500,
    );
    const probed = await run(
      'ffprobe',
      [
        '-v',
        'error',
        '-rw_timeout',
        '8000000',
        '-show_entries',
        'stream=codec_type',
        '-of',
        'csv=p=0',
        `${nginx.appUrl}/${OUTPUT_KEY}`,
      ],
      20_000,
    );
    assert.deepEqual(probed.stdout.trim().split('\n').sort(), ['audio', 'video']);

    page.once('dialog', (d) => void d.accept());
    await row.locator('.dash-hook-remove').click();
    await waitFor('the list is empty', async () => (await page.locator('.dash-output').count()) === 0);
    assert.deepEqual(site.errors, []);
  } finally {
    if (pub) await stop(pub);
  }
});
