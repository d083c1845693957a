/**
 * A child whose cluster secret its parent refuses (401 CLUSTER_AUTH_FAILED) retries with exponential
 * backoff up to its backoffMaxMs, and neither side logs a line per attempt: against real nodes, the
 * parent's refusal count is sampled over ~3 s (attempts must grow sparser) and both sides' log lines
 * are counted.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { hubLinkSchema, hubSchema, intermediateSchema } from '../../src/common/config/index.js';
import { HubLink } from '../../src/edge/hub-link.js';
import { startHub } from '../../src/hub/main.js';
import { startIntermediate } from '../../src/intermediate/main.js';

const PARENT_SECRET = 'the-parents-secret-0123456789';
const WRONG_SECRET = 'not-the-parents-secret-98765';
const closers: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of closers.reverse()) await c();
});

/** A logger whose lines (warn and above) are kept, as JSON objects. */
function recordingLogger(): { logger: Logger; lines: Array<{ msg: string; code?: string }> } {
  const lines: Array<{ msg: string; code?: string }> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n').filter(Boolean))
        lines.push(JSON.parse(l) as { msg: string; code?: string });
      done();
    },
  });
  return { logger: pino({ level: 'warn' }, stream), lines };
}

async function refusals(metricsUrl: string): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  const m = /tiercast_protocol_errors_total\{[^}]*code="CLUSTER_AUTH_FAILED"[^}]*\} (\d+)/.exec(text);
  return Number(m?.[1] ?? 0);
}

/** Refusals counted by the parent in each of `windows` windows of `ms`. */
async function sample(metricsUrl: string, windows: number, ms: number): Promise<number[]> {
  const counts: number[] = [];
  let last = await refusals(metricsUrl);
  for (let i = 0; i < windows; i++) {
    await new Promise((r) => setTimeout(r, ms));
    const now = await refusals(metricsUrl);
    counts.push(now - last);
    last = now;
  }
  return counts;
}

function assertSparser(counts: number[], what: string): void {
  const total = counts.reduce((a, b) => a + b, 0);
  const half = Math.floor(counts.length / 2);
  const first = counts.slice(0, half).reduce((a, b) => a + b, 0);
  const second = counts.slice(half).reduce((a, b) => a + b, 0);
  assert.ok(total >= 3, `${what}: the child keeps trying (${counts.join(',')})`);
  // 100 ms doubling: ~0.1, 0.3, 0.7, 1.5, 3.1 s: about 5 attempts in 3 s (a fixed 100 ms retry: 30).
  assert.ok(total <= 10, `${what}: attempts back off (${counts.join(',')} in 3 s)`);
  assert.ok(second < first, `${what}: attempts grow sparser (${counts.join(',')})`);
  assert.ok(counts.at(-1)! <= 1, `${what}: at most one attempt in the last 0.5 s (${counts.join(',')})`);
}

test('an intermediate with the wrong cluster secret backs off from its parent, logging little', async () => {
  const parentLog = recordingLogger();
  const parent = await startIntermediate(
    intermediateSchema.parse({
      nodeId: 'parent',
      clusterSecret: PARENT_SECRET,
      http: { host: '127.0.0.1', port: 0 },
      upstream: { parents: ['ws://127.0.0.1:9'] },
    }),
    parentLog.logger,
  );
  closers.push(() => parent.close());
  const childLog = recordingLogger();
  const child = await startIntermediate(
    intermediateSchema.parse({
      nodeId: 'child',
      clusterSecret: WRONG_SECRET,
      http: { host: '127.0.0.1', port: 0 },
      upstream: { parents: [parent.url], backoffInitialMs: 100, backoffMaxMs: 5000 },
    }),
    childLog.logger,
  );
  closers.push(() => child.close());
  const metricsUrl = `${parent.url.replace(/^ws/, 'http')}/metrics`;
  const counts = await sample(metricsUrl, 6, 500);
  assertSparser(counts, 'intermediate → parent');
  const refusedLines = childLog.lines.filter((l) => l.code === 'CLUSTER_AUTH_FAILED');
  assert.ok(refusedLines.length >= 1, 'the child says why it cannot connect');
  assert.ok(childLog.lines.length <= 3, `child log lines: ${childLog.lines.map((l) => l.msg).join(' | ')}`);
  const parentLines = parentLog.lines.filter((l) => l.code === 'CLUSTER_AUTH_FAILED');
  assert.ok(parentLines.length >= 1 && parentLines.length <= 2, `parent log lines: ${parentLines.length}`);
});

test('an edge hub link with the wrong cluster secret backs off from the hub, logging little', async () => {
  const hubLog = recordingLogger();
  const hub = await startHub(
    hubSchema.parse({
      nodeId: 'hub',
      clusterSecret: PARENT_SECRET,
      http: { host: '127.0.0.1', port: 0 },
      dataDir: mkdtempSync(join(tmpdir(), 'tiercast-backoff-')),
    }),
    hubLog.logger,
  );
  closers.push(() => hub.close());
  const linkLog = recordingLogger();
  const link = new HubLink({
    nodeId: 'edge',
    clusterSecret: WRONG_SECRET,
    config: hubLinkSchema.parse({ url: hub.url, reconnectBackoffMaxMs: 5000 }),
    logger: linkLog.logger,
    viewerCounts: () => ({}),
  });
  closers.push(() => link.close());
  link.start({
    onConnected: () => undefined,
    onDisconnected: () => undefined,
    onHubMessage: () => undefined,
  });
  const counts = await sample(`${hub.url}/metrics`, 6, 500);
  assertSparser(counts, 'edge → hub');
  assert.ok(linkLog.lines.length >= 1, 'the edge says why it cannot link');
  assert.ok(linkLog.lines.length <= 3, `edge log lines: ${linkLog.lines.map((l) => l.msg).join(' | ')}`);
  const hubLines = hubLog.lines.filter((l) => l.code === 'CLUSTER_AUTH_FAILED');
  assert.ok(hubLines.length >= 1 && hubLines.length <= 2, `hub log lines: ${hubLines.length}`);
});
