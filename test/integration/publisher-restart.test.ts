/** A publisher that drops and comes back: viewers stay connected and the timeline continues. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { publish, startNetwork, stop, waitFor } from '../helpers/network.js';
import { TestViewer } from '../helpers/viewer.js';

test(
  'publisher reconnect: same socket, "end" then "info" with the same timeline, segments keep increasing',
  { timeout: 90_000 },
  async () => {
    const net = await startNetwork({ intermediates: 1 });
    let pub = publish(net.rtmpUrl, undefined, 60);
    const viewer = new TestViewer(`${net.edgeUrl.replace('http', 'ws')}/live/cam/ws`);
    try {
      await viewer.opened;
      await waitFor('chunks', () => viewer.of('v360').length > 10, 20_000);
      const firstInfo = viewer.texts.find((t) => t.type === 'info')!.info as {
        availabilityStartTime: number;
        epoch: number;
      };
      await stop(pub);
      await waitFor('end announced', () => viewer.texts.some((t) => t.type === 'end'), 10_000);
      const lastBefore = viewer.of('v360').at(-1)!;
      pub = publish(net.rtmpUrl, undefined, 60);
      await waitFor(
        'chunks again',
        () => viewer.of('v360').length > viewer.chunks.indexOf(lastBefore) + 10,
        30_000,
      );
      const infos = viewer.texts
        .filter((t) => t.type === 'info')
        .map((t) => t.info as { availabilityStartTime: number; epoch: number });
      const latest = infos.at(-1)!;
      assert.equal(latest.availabilityStartTime, firstInfo.availabilityStartTime, 'same timeline');
      assert.ok(latest.epoch > firstInfo.epoch, 'new epoch');
      const after = viewer.of('v360').filter((c) => c.segment > lastBefore.segment);
      assert.ok(after.length > 5);
      assert.ok((after[0]!.flags & 8) !== 0, 'first chunk after the gap is a discontinuity');
      assert.deepEqual(viewer.continuityProblems('v360'), []);
      assert.equal(viewer.closed, undefined, 'the viewer was never disconnected');
    } finally {
      viewer.close();
      await stop(pub);
      await net.close();
    }
  },
);
