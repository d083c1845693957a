/**
 * `node --import tsx bench/memory-breakdown.ts`: where the edge's per-viewer memory lives. 4,000 idle
 * WebSocket viewers join a live (then paused) 2 Mbit/s stream; the edge's /proc/<pid>/smaps is compared
 * before and after, next to V8's heap after a full GC (inspector). Not part of `npm run bench`.
 */
import { startPair, rtmpPublishUrl, waitLive, STREAM } from './lib/tiercast.js';
import { LoadGen } from './lib/load.js';
import { cleanupAll, childPids, commOf } from './lib/procs.js';
import { sourceClip } from './lib/media-files.js';
import { publishClip } from './hop-latency.js';
import { sleep } from './lib/stats.js';
import { Inspector } from './lib/inspector.js';
import { readFileSync } from 'node:fs';
/** RSS (kB) per mapping name; anonymous mappings keyed by address. */
function smaps(pid: number): Map<string, number> {
  const m = new Map<string, number>();
  let key = '';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const h = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (h) {
      key = h[3] || `anon:${h[1]}`;
      continue;
    }
    const r = /^Rss:\s+(\d+) kB/.exec(line);
    if (r) m.set(key, (m.get(key) ?? 0) + Number(r[1]));
  }
  return m;
}
const VIEWERS = 4000;
const clip = await sourceClip(1280, 720, 30, 2500);
const { ingress, edge } = await startPair(
  { ladder: [{ id: 'v240', height: 240, videoBitrateKbps: 2000 }], preset: 'ultrafast' },
  { nodeArgs: ['--inspect=127.0.0.1:0'] },
);
publishClip(clip, [rtmpPublishUrl(ingress)]);
await waitLive(edge.url);
const insp = await Inspector.attach(() => edge.proc.output());
const load = new LoadGen();
const url = `${edge.url.replace('http', 'ws')}/live/${STREAM}/ws`;
await load.request('ws', { group: 'w', url, count: 1 });
await sleep(2000);
for (const p of childPids(ingress.pid).filter((p) => commOf(p) === 'ffmpeg')) process.kill(p, 'SIGSTOP');
await insp.gcAndHeap();
const a = smaps(edge.pid);
await load.request('ws', { group: 'g', url, count: VIEWERS, concurrency: 200, measure: false });
await sleep(3000);
const h = await insp.gcAndHeap();
const ext = await insp.call<{ result: { value: unknown } }>('Runtime.evaluate', {
  expression: 'JSON.stringify(process.memoryUsage())',
  returnByValue: true,
});
await sleep(500);
const b = smaps(edge.pid);
const diff = [...b]
  .map(([k, v]) => [k, v - (a.get(k) ?? 0)] as const)
  .filter(([, d]) => Math.abs(d) > 2000)
  .sort((x, y) => y[1] - x[1]);
let anon = 0;
for (const [k, d] of diff) if (k.startsWith('anon:')) anon += d;
const total = (m: Map<string, number>) => [...m.values()].reduce((n, v) => n + v, 0);
const grown = total(b) - total(a);
console.log(
  'heap used',
  (h.usedSize / 2 ** 20).toFixed(1),
  'MiB; memoryUsage',
  JSON.stringify(ext.result?.value ?? ext),
);
console.log(
  'growth by mapping (kB):',
  diff
    .filter(([k]) => !k.startsWith('anon:'))
    .map(([k, d]) => `${k}:${d}`)
    .join(' '),
  'anonymous mappings total:',
  anon,
);
console.log(`RSS growth ${grown} kB for ${VIEWERS} viewers: ${(grown / VIEWERS).toFixed(1)} KB per viewer`);
for (const p of childPids(ingress.pid).filter((p) => commOf(p) === 'ffmpeg')) process.kill(p, 'SIGCONT');
insp.close();
await load.close();
await cleanupAll();
