/**
 * The browser ingest socket (/publish/ws) against a real ingress in this process: an ingress with two
 * streamers ('cam' and 'other') and a 240p ladder, logging into `logs`; clients that open the socket and say
 * hello the way a page does; ffmpeg sources that are killed on `close()`, which also checks that no log
 * line holds a key. Shared by browser-ingest.test.ts (tags) and browser-ingest-webm.test.ts (WebM).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { pino } from 'pino';
import WebSocket from 'ws';
import { ingressSchema } from '../../src/common/config/index.js';
import { startIngress, type IngressNode } from '../../src/ingress/main.js';
import { waitFor } from './network.js';

export interface IngestClient {
  ws: WebSocket;
  messages: Array<Record<string, unknown>>;
  closed: Promise<{ code: number; reason: string }>;
}

export interface BrowserIngest {
  node: IngressNode;
  logs: string[];
  /** Opens /publish/ws and collects its text messages; nothing is sent. */
  connect(): Promise<IngestClient>;
  /** Opens the socket, sends `hello` (the key, and a format where one is asked for) and waits for the answer. */
  hello(hello: Record<string, unknown>): Promise<IngestClient>;
  /** Starts an ffmpeg with its stdout piped (killed on `close()`). */
  ffmpeg(args: string[]): ChildProcessByStdio<null, Readable, null>;
  /** Terminates the sockets, kills the ffmpegs, closes the ingress; then asserts no log line holds a key. */
  close(): Promise<void>;
}

export async function startBrowserIngest(opts: {
  nodeId: string;
  clusterSecret: string;
  /** The keys of the streamers 'cam' and 'other'. */
  keys: { cam: string; other: string };
}): Promise<BrowserIngest> {
  const logs: string[] = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => void logs.push(s) });
  const procs: ChildProcess[] = [];
  const sockets: WebSocket[] = [];
  const node = await startIngress(
    ingressSchema.parse({
      nodeId: opts.nodeId,
      clusterSecret: opts.clusterSecret,
      rtmp: { host: '127.0.0.1', port: 0 },
      http: { host: '127.0.0.1', port: 0 },
      streamers: [
        { name: 'cam', key: opts.keys.cam },
        { name: 'other', key: opts.keys.other },
      ],
      transcode: {
        preset: 'ultrafast',
        ladder: [{ id: 'v240', height: 240, videoBitrateKbps: 300 }],
        restartBackoffMs: 100,
      },
    }),
    logger,
  );

  async function connect(): Promise<IngestClient> {
    const ws = new WebSocket(`${node.url}/publish/ws`);
    sockets.push(ws);
    const messages: Array<Record<string, unknown>> = [];
    ws.on('message', (d, isBinary) => {
      if (!isBinary) messages.push(JSON.parse((d as Buffer).toString()) as Record<string, unknown>);
    });
    const closed = new Promise<{ code: number; reason: string }>((r) =>
      ws.on('close', (code, reason) => r({ code, reason: reason.toString() })),
    );
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return { ws, messages, closed };
  }

  return {
    node,
    logs,
    connect,
    async hello(hello) {
      const c = await connect();
      c.ws.send(JSON.stringify(hello));
      await waitFor('the answer to the key', () => c.messages.find((m) => 'ok' in m), 5000, 20);
      return c;
    },
    ffmpeg(args) {
      const p = spawn('ffmpeg', args, { stdio: ['ignore', 'pipe', 'ignore'] });
      procs.push(p);
      return p;
    },
    async close() {
      for (const s of sockets) s.terminate();
      for (const p of procs) p.kill('SIGKILL');
      await node.close();
      for (const k of [opts.keys.cam, opts.keys.other]) {
        assert.ok(!logs.some((l) => l.includes(k)), 'a log line holds a stream key');
      }
    },
  };
}
