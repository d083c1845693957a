/** `node-role ingress --input … --name …`: a local ffmpeg input published without RTMP. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startNetwork, run, waitFor } from '../helpers/network.js';

test(
  'a local capture input (lavfi here, a v4l2 webcam in production) goes live under its name',
  { timeout: 60_000 },
  async () => {
    const net = await startNetwork({ intermediates: 0 });
    try {
      const input = await net.ingress.publishInput({
        input: 'testsrc2=size=320x240:rate=25',
        format: 'lavfi',
        name: 'webcam',
      });
      await waitFor('webcam live', async () => {
        const l = (await (await fetch(`${net.edgeUrl}/api/streams`)).json()) as Array<{ name: string }>;
        return l.some((s) => s.name === 'webcam');
      });
      const r = await run(
        'ffmpeg',
        [
          '-v',
          'error',
          '-i',
          `${net.edgeUrl}/live/webcam/manifest.mpd`,
          '-map',
          '0:v:0',
          '-frames:v',
          '30',
          '-f',
          'null',
          '-',
        ],
        30_000,
      );
      assert.equal(r.code, 0, r.stderr);
      await input.close();
      await waitFor('offline after the input stops', () => !net.ingress.live.has('webcam'));
    } finally {
      await net.close();
    }
  },
);
