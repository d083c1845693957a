/**
 * Log amplification: anonymous manifest requests for streams that do not exist must not write the log
 * line by line (they used to write four info lines each, across edge, intermediate and ingress). A real
 * tree on loopback, logging at info like production.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { edgeSchema, ingressSchema, intermediateSchema } from '../../src/common/config/index.js';
import { startEdge } from '../../src/edge/main.js';
import { startIngress } from '../../src/ingress/main.js';
import { startIntermediate } from '../../src/intermediate/main.js';
import { SECRET } from '../helpers/network.js';

test(
  '50 manifest requests for unknown streams: 404 each, and at most one log line at info',
  { timeout: 60_000 },
  async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(s) });
    const listen = { host: '127.0.0.1', port: 0 };
    const ingress = await startIngress(
      ingressSchema.parse({ nodeId: 'ing-l', clusterSecret: SECRET, rtmp: listen, http: listen }),
      logger,
    );
    const inter = await startIntermediate(
      intermediateSchema.parse({
        nodeId: 'int-l',
        clusterSecret: SECRET,
        http: listen,
        upstream: { parents: [ingress.url], idleUnsubscribeMs: 500 },
      }),
      logger,
    );
    const edge = await startEdge(
      edgeSchema.parse({
        nodeId: 'edge-l',
        clusterSecret: SECRET,
        http: listen,
        upstream: { parents: [inter.url], idleUnsubscribeMs: 500 },
      }),
      logger,
    );
    try {
      await new Promise((r) => setTimeout(r, 500)); // links up
      const before = lines.length;
      for (let i = 0; i < 50; i++) {
        const r = await fetch(`${edge.url.replace('ws', 'http')}/live/nosuch${i}/manifest.mpd`);
        assert.equal(r.status, 404);
        await r.body?.cancel();
      }
      await new Promise((r) => setTimeout(r, 1500)); // idle unsubscribes happen too
      const written = lines.slice(before);
      assert.ok(written.length <= 1, `log lines written: ${written.length}\n${written.slice(0, 6).join('')}`);
    } finally {
      await edge.close();
      await inter.close();
      await ingress.close();
    }
  },
);
