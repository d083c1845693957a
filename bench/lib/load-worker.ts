/**
 * The load generator: a separate process (forked by load.ts, `node --import tsx`) holding many viewers
 * so that its CPU never counts as the server's. Driven over the IPC channel with one request at a time:
 * { id, cmd, ... } → { id, ok, result | error }.
 *
 * Groups of clients:
 *  - `ws`: WebSocket viewers of the edge (normal, slow = reading at a fixed byte rate, or idle);
 *  - `dash`: LL-DASH over HTTP against the edge: each client keeps one request per rendition open on the
 *    live segment (chunked transfer) and asks for the next one as soon as it ends, like dash.js does;
 *  - `hls`: HLS against nginx: the playlist every 500 ms, then each new fragment;
 *  - `llhls`: LL-HLS against the edge, like hls.js in lowLatencyMode: per rendition a blocking playlist
 *    reload for the next part and, at the same time, that part (the preload hint, answered when it exists).
 */
import { HttpConn, newCounters, WsViewer, type ViewerCounters } from './load-clients.js';
import { nowMs, sleep } from './stats.js';

interface HttpCounters {
  bytes: number;
  errors: number;
  segments: number;
  notFound: number;
  gaps: number;
  /** Requests made (every playlist and media request). */
  requests: number;
  /** Bytes of playlist responses (llhls), headers included; also counted in `bytes`. */
  playlistBytes: number;
}

const newHttpCounters = (): HttpCounters => ({
  bytes: 0,
  errors: 0,
  segments: 0,
  notFound: 0,
  gaps: 0,
  requests: 0,
  playlistBytes: 0,
});

interface Group {
  kind: 'ws' | 'dash' | 'hls' | 'llhls';
  ws: WsViewer[];
  http: HttpConn[];
  wsCounters: ViewerCounters;
  httpCounters: HttpCounters;
  alive: boolean;
}

const groups = new Map<string, Group>();

function group(name: string, kind: Group['kind']): Group {
  let g = groups.get(name);
  if (!g) {
    g = {
      kind,
      ws: [],
      http: [],
      wsCounters: newCounters(),
      httpCounters: newHttpCounters(),
      alive: true,
    };
    groups.set(name, g);
  }
  return g;
}

async function openWs(o: {
  group: string;
  url: string;
  count: number;
  readBytesPerSec?: number;
  measure?: boolean;
  concurrency?: number;
}): Promise<{ opened: number; failed: number; ms: number }> {
  const g = group(o.group, 'ws');
  const u = new URL(o.url);
  const t0 = Date.now();
  let opened = 0;
  let failed = 0;
  let next = 0;
  const worker = async () => {
    while (next < o.count) {
      next++;
      const v = new WsViewer({
        host: u.hostname,
        port: Number(u.port),
        path: u.pathname + u.search,
        counters: g.wsCounters,
        readBytesPerSec: o.readBytesPerSec ?? 0,
        measure: o.measure ?? true,
      });
      g.ws.push(v);
      try {
        // A handshake that does not complete in 10 s counts as failed (never hang the ramp).
        await Promise.race([
          v.opened,
          new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 10_000).unref()),
        ]);
        opened++;
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(o.concurrency ?? 64, o.count) }, worker));
  return { opened, failed, ms: Date.now() - t0 };
}

function mpdTiming(mpd: string): { ast: number; segMs: number } {
  const ast = Date.parse(/availabilityStartTime="([^"]+)"/.exec(mpd)?.[1] ?? '');
  const d = /<SegmentTemplate[^>]*timescale="(\d+)"[^>]*duration="(\d+)"/.exec(mpd);
  if (!Number.isFinite(ast) || !d) throw new Error('cannot read the MPD timing');
  return { ast, segMs: (Number(d[2]) / Number(d[1])) * 1000 };
}

async function openDash(o: {
  group: string;
  edgeUrl: string;
  stream: string;
  count: number;
  renditions: string[];
}): Promise<{ opened: number }> {
  const g = group(o.group, 'dash');
  const u = new URL(o.edgeUrl);
  const mpd = await (await fetch(`${o.edgeUrl}/live/${o.stream}/manifest.mpd`)).text();
  const t = mpdTiming(mpd);
  const current = () => Math.floor((Date.now() - t.ast) / t.segMs);
  const c = g.httpCounters;
  for (let i = 0; i < o.count; i++) {
    for (const rendition of o.renditions) {
      const conn = new HttpConn(u.hostname, Number(u.port), c);
      g.http.push(conn);
      void (async () => {
        let n = current();
        while (g.alive && !conn.closed) {
          c.requests++;
          const r = await conn.get(`/live/${o.stream}/${rendition}/${n}.m4s`).catch(() => undefined);
          if (!g.alive) return;
          if (!r) {
            await sleep(100);
            continue;
          }
          if (r.status === 200) {
            c.segments++;
            n++;
            continue;
          }
          c.notFound++;
          const cur = current();
          if (cur > n) {
            c.gaps += cur - n;
            n = cur;
          } else await sleep(50);
        }
      })();
    }
  }
  return { opened: o.count };
}

function openHls(o: {
  group: string;
  baseUrl: string;
  stream: string;
  count: number;
  pollMs?: number;
}): Promise<{ opened: number }> {
  const g = group(o.group, 'hls');
  const u = new URL(o.baseUrl);
  const c = g.httpCounters;
  const poll = o.pollMs ?? 500;
  for (let i = 0; i < o.count; i++) {
    const conn = new HttpConn(u.hostname, Number(u.port), c);
    g.http.push(conn);
    void (async () => {
      await sleep(Math.random() * poll);
      let next = -1;
      while (g.alive && !conn.closed) {
        const t = nowMs();
        c.requests++;
        const r = await conn.get(`/hls/${o.stream}.m3u8`, true).catch(() => undefined);
        if (!g.alive) return;
        if (r?.status === 200 && r.body) {
          const text = r.body.toString();
          const seq = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(text)?.[1] ?? NaN);
          const names = text.split('\n').filter((l) => l.endsWith('.ts'));
          const last = seq + names.length - 1;
          if (Number.isFinite(seq) && names.length) {
            if (next < 0) next = last;
            if (next < seq) {
              c.gaps += seq - next;
              next = seq;
            }
            while (next <= last && g.alive) {
              c.requests++;
              const s = await conn.get(`/hls/${names[next - seq]}`).catch(() => undefined);
              if (s?.status === 200) c.segments++;
              else c.notFound++;
              next++;
            }
          }
        }
        await sleep(Math.max(0, poll - (nowMs() - t)));
      }
    })();
  }
  return Promise.resolve({ opened: o.count });
}

/** A part's place in a rendition: segment (media sequence number) and part index in it. */
type PartRef = [segment: number, part: number];

const later = (a: PartRef, b: PartRef) => a[0] > b[0] || (a[0] === b[0] && a[1] > b[1]);
/** Whether `b` may be the part right after `a` (the next part, or the next segment's first). */
const adjacent = (a: PartRef, b: PartRef) =>
  (b[0] === a[0] && b[1] === a[1] + 1) || (b[0] === a[0] + 1 && b[1] === 0);

/** The parts a media playlist lists (`#EXT-X-PART`, in order) and its `#EXT-X-PRELOAD-HINT` (always last). */
function partRefs(text: string): { listed: PartRef[]; hint: PartRef | undefined } {
  const listed: PartRef[] = [];
  for (const m of text.matchAll(/URI="(\d+)\.(\d+)\.m4s"/g)) listed.push([Number(m[1]), Number(m[2])]);
  const hint = text.includes('#EXT-X-PRELOAD-HINT') ? listed.pop() : undefined;
  return { listed, hint };
}

function openLlHls(o: {
  group: string;
  edgeUrl: string;
  stream: string;
  count: number;
  renditions: string[];
}): Promise<{ opened: number }> {
  const g = group(o.group, 'llhls');
  const u = new URL(o.edgeUrl);
  const c = g.httpCounters;
  // Playlist responses count in `bytes` like everything else, and in `playlistBytes` to tell the overhead.
  const playlistCounters = {
    get bytes() {
      return c.playlistBytes;
    },
    set bytes(v: number) {
      c.bytes += v - c.playlistBytes;
      c.playlistBytes = v;
    },
    get errors() {
      return c.errors;
    },
    set errors(v: number) {
      c.errors = v;
    },
  };
  const follow = async (pl: HttpConn, pt: HttpConn, base: string) => {
    let prev: PartRef | undefined; // the last part received
    let next: PartRef | undefined; // the part asked for next; undefined: (re)join at the live edge
    const got = (p: PartRef, listed: PartRef[]) => {
      if (prev) {
        const between = listed.filter((x) => later(x, prev!) && later(p, x)).length;
        c.gaps += between || (adjacent(prev, p) ? 0 : 1);
      }
      prev = p;
      c.segments++;
    };
    const part = (p: PartRef) => {
      c.requests++;
      return pt.get(`${base}${p[0]}.${p[1]}.m4s`).catch(() => undefined);
    };
    // Parts the playlist lists past the last one received (a reload that came back further on), then the hint.
    const advance = async (refs: { listed: PartRef[]; hint: PartRef | undefined }) => {
      for (const p of refs.listed) {
        if (!g.alive || !prev || !later(p, prev)) continue;
        const r = await part(p);
        if (r?.status === 200) got(p, refs.listed);
        else if (r) c.notFound++;
      }
      next = refs.hint;
    };
    while (g.alive) {
      const want = next;
      if (!want) {
        c.requests++;
        const r = await pl.get(`${base}playlist.m3u8`, true).catch(() => undefined);
        if (!g.alive) return;
        const refs = r?.status === 200 && r.body ? partRefs(r.body.toString('latin1')) : undefined;
        if (refs?.hint) await advance(refs);
        else await sleep(100);
        continue;
      }
      // hls.js in lowLatencyMode: a blocking reload for the next part and, meanwhile, that part itself.
      c.requests++;
      const [r, media] = await Promise.all([
        pl.get(`${base}playlist.m3u8?_HLS_msn=${want[0]}&_HLS_part=${want[1]}`, true).catch(() => undefined),
        part(want),
      ]);
      if (!g.alive) return;
      const refs = r?.status === 200 && r.body ? partRefs(r.body.toString('latin1')) : undefined;
      if (media?.status === 200) got(want, refs?.listed ?? []);
      else if (media) c.notFound++;
      // A refused or failed reload (503: the part did not come; 400: too far ahead): rejoin at the live edge.
      if (refs?.hint) await advance(refs);
      else next = undefined;
    }
  };
  for (let i = 0; i < o.count; i++)
    for (const rendition of o.renditions) {
      const pl = new HttpConn(u.hostname, Number(u.port), playlistCounters);
      const pt = new HttpConn(u.hostname, Number(u.port), c);
      g.http.push(pl, pt);
      void follow(pl, pt, `/live/${o.stream}/${rendition}/`);
    }
  return Promise.resolve({ opened: o.count });
}

function stats(o: { group?: string; reset?: boolean }) {
  const list = o.group ? [groups.get(o.group)].filter((g): g is Group => !!g) : [...groups.values()];
  const out = {
    bytes: 0,
    messages: 0,
    chunks: 0,
    gaps: 0,
    skipped: 0,
    closed: 0,
    errors: 0,
    segments: 0,
    notFound: 0,
    requests: 0,
    playlistBytes: 0,
    connected: 0,
    latency: { n: 0, p50: NaN, p95: NaN, p99: NaN },
    edgeLatency: { n: 0, p50: NaN, p95: NaN, p99: NaN },
    minChunks: NaN,
    maxChunks: NaN,
    short: 0,
  };
  const counts: number[] = [];
  for (const g of list) {
    const w = g.wsCounters;
    const h = g.httpCounters;
    out.bytes += w.bytes + h.bytes;
    out.messages += w.messages;
    out.chunks += w.chunks;
    out.gaps += w.gaps + h.gaps;
    out.skipped += w.skipped;
    out.closed += w.closed;
    out.errors += w.errors + h.errors;
    out.segments += h.segments;
    out.notFound += h.notFound;
    out.requests += h.requests;
    out.playlistBytes += h.playlistBytes;
    out.connected += g.ws.filter((v) => !v.closed).length + g.http.filter((c) => !c.closed).length;
    // Every viewer must get every chunk: the fewest one viewer got tells a starved or stalled one.
    for (const v of g.ws) {
      counts.push(v.chunksInWindow);
      if (o.reset) v.chunksInWindow = 0;
    }
    if (list.length === 1) {
      out.latency = {
        n: w.latency.n,
        p50: w.latency.percentile(50),
        p95: w.latency.percentile(95),
        p99: w.latency.percentile(99),
      };
      out.edgeLatency = {
        n: w.edgeLatency.n,
        p50: w.edgeLatency.percentile(50),
        p95: w.edgeLatency.percentile(95),
        p99: w.edgeLatency.percentile(99),
      };
    }
    if (o.reset) {
      Object.assign(w, { bytes: 0, messages: 0, chunks: 0, gaps: 0, skipped: 0, closed: 0, errors: 0 });
      w.latency.reset();
      w.edgeLatency.reset();
      Object.assign(h, newHttpCounters());
    }
  }
  if (counts.length) {
    counts.sort((a, b) => a - b);
    out.minChunks = counts[0]!;
    out.maxChunks = counts[counts.length - 1]!;
    // A stalled or starved viewer: clearly fewer chunks than this process's median viewer (the slack is
    // a chunk in flight per rendition at either end of the window).
    const median = counts[Math.floor(counts.length / 2)]!;
    out.short = counts.filter((c) => c < median - Math.max(4, 0.05 * median)).length;
  }
  const u = process.cpuUsage();
  // `at`: when these counters were read; a saturated generator answers late, so its window is its own.
  return { ...out, cpuSeconds: (u.user + u.system) / 1e6, at: Date.now() };
}

function close(o: { group?: string }) {
  for (const [name, g] of [...groups]) {
    if (o.group && name !== o.group) continue;
    g.alive = false;
    for (const v of g.ws) v.close();
    for (const c of g.http) c.close();
    groups.delete(name);
  }
  return { closed: true };
}

type Request = { id: number; cmd: string } & Record<string, unknown>;

process.on('message', (m: Request) => {
  const handle = async (): Promise<unknown> => {
    switch (m.cmd) {
      case 'ws':
        return openWs(m as unknown as Parameters<typeof openWs>[0]);
      case 'dash':
        return openDash(m as unknown as Parameters<typeof openDash>[0]);
      case 'hls':
        return openHls(m as unknown as Parameters<typeof openHls>[0]);
      case 'llhls':
        return openLlHls(m as unknown as Parameters<typeof openLlHls>[0]);
      case 'stats':
        return stats(m as Parameters<typeof stats>[0]);
      case 'close':
        return close(m as Parameters<typeof close>[0]);
      default:
        throw new Error(`unknown command ${m.cmd}`);
    }
  };
  handle().then(
    (result) => process.send?.({ id: m.id, ok: true, result }),
    (err: unknown) =>
      process.send?.({ id: m.id, ok: false, error: err instanceof Error ? err.message : String(err) }),
  );
});
process.on('disconnect', () => process.exit(0));
