/**
 * Transport: the viewers' WebSocket route `/live/NAME/ws` (uWebSockets.js). Parses the few control messages
 * a player sends and hands everything else to ViewerSession, behind an AdmittedViewer so nothing of a stream
 * is sent before the access gate has allowed it. Once a second it checks every viewer's progress (a viewer
 * that reads nothing is closed) and the edge-wide cap on memory held in viewers' send buffers.
 */
import type uWS from 'uWebSockets.js';
import { z } from 'zod';
import type { Logger } from '../common/logging/index.js';
import type { Metrics } from '../common/metrics/index.js';
import type { ViewerConfig } from '../common/config/index.js';
import { isValidName } from '../common/protocol/index.js';
import type { ResumePosition } from '../common/media.js';
import type { RelayNode } from '../common/relay/relay-node.js';
import type { App } from '../common/http/uws-server.js';
import { readCeiling, refuseOversize } from '../common/http/ws-oversize.js';
import { ViewerSession, overCap, type SessionP2p } from './viewer-session.js';
import { JoinSender } from './join-sender.js';
import { AdmittedViewer } from './viewer-admission.js';
import type { ViewerCounter } from './viewer-count.js';
import type { AccessGate, ViewerCredentials } from './access-gate.js';
import type { ProxyTrust } from '../common/http/client.js';
import { CloseCode } from '../common/protocol/close-codes.js';
import { createLogRateLimiter } from '../common/logging/rate-limit.js';
import type { CachedChunk } from '../common/relay/rendition-cache.js';
import type { P2pTracker } from './p2p/tracker.js';
import { MAX_P2P_MESSAGE_BYTES, p2pMessageSchemas, type P2pMessage } from './p2p/messages.js';

interface ViewerData {
  stream: string;
  credentials: ViewerCredentials;
  remote: string;
  initialVideo: string | undefined;
  /** Where a player that was watching elsewhere (another edge, or this one before a drop) left off. */
  resume: ResumePosition[];
  session: ViewerSession | undefined;
  /** Every send to the viewer; queues the join burst so that uWS does not keep a buffer its size. */
  sender: JoinSender | undefined;
  guard: AdmittedViewer | undefined;
  closed: boolean;
  /** Refused because the edge is full: closed with 4503 as soon as it opens, never counted. */
  full: boolean;
  /** Its id in the P2P tracker, once its page asked to take part. */
  peerId: string | undefined;
  /** The video rendition it receives (for the tracker, which may hear of it before the page asks). */
  video: string | undefined;
}

const controlSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('select'), video: z.string().max(64) }),
  z.object({ type: z.literal('ping'), t: z.number() }),
  ...p2pMessageSchemas,
]);

/** Control messages are a few dozen bytes, P2P signalling (an SDP) a few KB; anything longer is not ours. */
const MAX_CONTROL_BYTES = MAX_P2P_MESSAGE_BYTES;
/** How often progress and the edge-wide buffer cap are checked. */
const SWEEP_MS = 1000;
const P2P_DISABLED = JSON.stringify({
  type: 'p2p',
  state: 'off',
  reason: 'P2P_DISABLED: this edge does not use P2P for this stream',
});
const PASSWORD_REASON = 'PASSWORD_REQUIRED: this stream needs its password';

export function addViewerSocket(
  app: App,
  deps: {
    relay: RelayNode;
    config: ViewerConfig;
    logger: Logger;
    metrics: Metrics;
    counter: ViewerCounter;
    gate: AccessGate;
    /** The viewer's address and scheme, through trusted proxies. */
    clients: ProxyTrust;
    /** Whether the edge has no room for another viewer (edge.maxViewers). */
    atCapacity?: () => boolean;
    /** Peer-assisted delivery (p2p/tracker.ts). */
    p2p?: P2pTracker;
    /** The region of a viewer's address (edge selection). */
    regionOf?: (address: string) => string;
  },
): { close(): void } {
  const sockets = new Set<uWS.WebSocket<ViewerData>>();
  const { relay, config, logger, metrics, counter, gate } = deps;
  const fullLog = createLogRateLimiter(logger, { maxPerWindow: 5, windowMs: 10_000, what: 'full lines' });
  app.ws<ViewerData>('/live/:name/ws', {
    // Read past our limit so an oversize message is closed with 1009 and a reason, not uWS's bare drop.
    maxPayloadLength: readCeiling(MAX_CONTROL_BYTES),
    // uWS's own ceiling sits above ours: ViewerSession skips or closes first, with a reason.
    maxBackpressure: config.closeBackpressureBytes * 2,
    idleTimeout: config.idleTimeoutS,
    sendPingsAutomatically: true,
    drain: (ws) => ws.getUserData().sender?.onDrain(),
    upgrade: (res, req, context) => {
      const stream = req.getParameter(0) ?? '';
      const video = req.getQuery('video') || undefined;
      const resume = parseResume(req.getQuery('resume') ?? '');
      const key = req.getHeader('sec-websocket-key');
      const protocol = req.getHeader('sec-websocket-protocol');
      const ext = req.getHeader('sec-websocket-extensions');
      const client = deps.clients.of(res, req);
      const remote = client.ip;
      const credentials = { cookies: req.getHeader('cookie'), secure: client.secure };
      if (!isValidName(stream) || (video !== undefined && !isValidName(video))) {
        res.cork(() => res.writeStatus('400 Bad Request').end('bad stream name'));
        return;
      }
      if (!resume) {
        res.cork(() =>
          res
            .writeStatus('400 Bad Request')
            .writeHeader('x-tiercast-error', 'BAD_REQUEST')
            .end('malformed resume position'),
        );
        return;
      }
      // Known protected and no token: refused before the upgrade. Not known yet: upgraded, but held (open()).
      if (gate.access(stream, credentials) === 'deny') {
        logger.info(
          { stream, code: 'PASSWORD_REQUIRED' },
          'media socket refused: stream is password-protected',
        );
        res.cork(() =>
          res
            .writeStatus('403 Forbidden')
            .writeHeader('x-tiercast-error', 'PASSWORD_REQUIRED')
            .end('this stream needs its password'),
        );
        return;
      }
      res.upgrade<ViewerData>(
        {
          stream,
          credentials,
          remote,
          initialVideo: video,
          resume,
          session: undefined,
          sender: undefined,
          guard: undefined,
          closed: false,
          full: deps.atCapacity?.() ?? false,
          peerId: undefined,
          video: undefined,
        },
        key,
        protocol,
        ext,
        context,
      );
    },
    open: (ws) => {
      const d = ws.getUserData();
      if (d.full) {
        // Upgraded only so that the player can read why (an upgrade refusal is a bare 1006 in a browser).
        d.closed = true;
        if (fullLog.allow('full'))
          logger.warn(
            { stream: d.stream, code: 'EDGE_AT_CAPACITY' },
            'media socket refused: this edge is full',
          );
        ws.end(CloseCode.EDGE_AT_CAPACITY, 'EDGE_AT_CAPACITY: this edge is full; try another edge');
        return;
      }
      sockets.add(ws);
      // Bound once per viewer: this inc() runs for every frame sent to every viewer.
      const bytesOut = metrics.bytesOut.labels({ stream: d.stream, transport: 'ws' });
      const wsBytes = metrics.wsBytes.labels({ stream: d.stream });
      const sender = new JoinSender(ws);
      d.sender = sender;
      const session = new ViewerSession(
        {
          sendBinary: (frame) => {
            if (d.closed) return;
            sender.send(frame, true);
            wsBytes.inc(frame.length);
          },
          sendText: (text) => {
            if (d.closed) return;
            sender.send(text, false);
            wsBytes.inc(text.length);
          },
          bufferedAmount: () => (d.closed ? 0 : sender.bufferedAmount()),
          close: (code, reason) => {
            if (d.closed) return;
            d.closed = true;
            sender.close();
            logger.info(
              { stream: d.stream, remote: d.remote, code, reason },
              'viewer disconnected by the edge',
            );
            ws.end(code, reason);
          },
        },
        config,
        {
          onSent: (bytes) => bytesOut.inc(bytes),
          onSkipped: () => metrics.chunksDropped.inc({ stream: d.stream, reason: 'slow_viewer' }),
        },
        d.initialVideo,
        d.resume,
        deps.p2p ? new SessionPeer(deps.p2p, d) : undefined,
      );
      d.session = session;
      d.guard = new AdmittedViewer(
        session,
        () => gate.access(d.stream, d.credentials),
        () => {
          logger.info(
            { stream: d.stream, remote: d.remote, code: 'PASSWORD_REQUIRED' },
            'media socket refused: stream is password-protected',
          );
          session.close(CloseCode.FORBIDDEN, PASSWORD_REASON);
        },
      );
      counter.wsJoin(d.stream, d.remote);
      metrics.viewers.inc({ stream: d.stream, transport: 'ws' });
      const guard = d.guard;
      // Not in the upgrade's cork: the sender queues the burst and sends it from the next turn (join-sender.ts).
      sender.hold();
      relay.attach(d.stream, guard, d.resume);
      sender.release();
      const r = relay.get(d.stream);
      if (r && r.state === 'pending') {
        // Tell the player promptly if the stream turns out not to exist.
        void r.whenKnown(config.streamWaitMs).then((info) => {
          if (!d.closed && !info)
            session.sendText(JSON.stringify({ type: 'end', reason: 'stream is not live' }));
        });
      }
    },
    message: (ws, message, isBinary) => {
      const d = ws.getUserData();
      if (refuseOversize(ws, message, MAX_CONTROL_BYTES, 'control messages')) {
        logger.info(
          { stream: d.stream, remote: d.remote, code: 'PAYLOAD_TOO_LARGE', bytes: message.byteLength },
          'oversize control message: socket closed',
        );
        return;
      }
      if (isBinary || !d.session) return;
      let parsed: z.infer<typeof controlSchema>;
      try {
        const r = controlSchema.safeParse(JSON.parse(Buffer.from(message).toString('utf8')));
        if (!r.success) throw new Error('invalid control message');
        parsed = r.data;
      } catch {
        d.session.sendText(
          JSON.stringify({
            type: 'error',
            code: 'BAD_REQUEST',
            message: 'unknown or malformed control message',
          }),
        );
        logger.debug(
          { stream: d.stream, remote: d.remote, code: 'BAD_REQUEST' },
          'bad control message from viewer',
        );
        return;
      }
      if (parsed.type === 'ping') {
        d.session.sendText(JSON.stringify({ type: 'pong', t: parsed.t, server: Date.now() }));
      } else if (parsed.type.startsWith('p2p')) {
        if (!deps.p2p) return;
        if (d.peerId === undefined && !deps.p2p.enabledFor(d.stream)) {
          // Not for this stream: answered without becoming known to the tracker.
          if (parsed.type === 'p2p') d.session.sendText(P2P_DISABLED);
          return;
        }
        // The region is looked up only now, for the viewers whose page asks to take part.
        d.peerId ??= joinTracker(deps.p2p, d, relay, deps.regionOf?.(d.remote) ?? '');
        deps.p2p.handle(d.peerId, parsed as P2pMessage);
      } else if (parsed.type === 'select') {
        const r = d.session.select(parsed.video);
        if (!r.ok)
          d.session.sendText(JSON.stringify({ type: 'error', code: 'BAD_REQUEST', message: r.reason }));
      }
    },
    close: (ws) => {
      const d = ws.getUserData();
      if (d.full) return;
      d.closed = true;
      d.sender?.close();
      sockets.delete(ws);
      if (d.guard) relay.detach(d.stream, d.guard);
      if (d.peerId !== undefined) deps.p2p?.remove(d.peerId);
      counter.wsLeave(d.stream);
      metrics.viewers.dec({ stream: d.stream, transport: 'ws' });
    },
  });

  // Protection changed (a password set or removed, the directory arrived): decide again for every viewer.
  const offGate = gate.onChange(() => {
    for (const ws of [...sockets]) {
      const d = ws.getUserData();
      if (d.closed || !d.guard) continue;
      if (d.guard.recheck() === 'replay') {
        // Newly allowed: attach again so the relay sends the description, inits and backlog from the start.
        const guard = d.guard;
        relay.detach(d.stream, guard);
        d.sender?.hold();
        relay.attach(d.stream, guard);
        d.sender?.release();
      }
    }
  });

  const sweep = setInterval(() => {
    const now = Date.now();
    const held: Array<{ viewer: uWS.WebSocket<ViewerData>; buffered: number }> = [];
    for (const ws of [...sockets]) {
      const d = ws.getUserData();
      if (d.closed || !d.session) continue;
      d.session.checkProgress(now);
      if (!d.closed && d.sender) held.push({ viewer: ws, buffered: d.sender.bufferedAmount() });
    }
    for (const ws of overCap(held, config.totalBackpressureBytes)) {
      ws.getUserData().session?.close(
        4008,
        'SLOW_CONSUMER: the edge holds too much for slow viewers; closing the slowest',
      );
    }
  }, SWEEP_MS);
  sweep.unref();

  return {
    close: () => {
      clearInterval(sweep);
      offGate();
      for (const ws of [...sockets]) {
        const d = ws.getUserData();
        if (!d.closed) {
          d.closed = true;
          d.sender?.close();
          ws.end(1001, 'edge shutting down');
        }
      }
    },
  };
}

/** The session's view of the tracker, for one viewer (a class: one small object per viewer, no closures). */
class SessionPeer implements SessionP2p {
  constructor(
    private readonly tracker: P2pTracker,
    private readonly d: ViewerData,
  ) {}

  videoChanged(video: string | undefined): void {
    this.d.video = video;
    if (this.d.peerId !== undefined) this.tracker.setVideo(this.d.peerId, video);
  }

  announcement(c: CachedChunk): string | undefined {
    return this.d.peerId === undefined ? undefined : this.tracker.announcement(this.d.peerId, c);
  }
}

/** A viewer's first P2P message: it becomes known to the tracker (viewers that never ask cost nothing). */
function joinTracker(tracker: P2pTracker, d: ViewerData, relay: RelayNode, region: string): string {
  const id = tracker.add({
    stream: d.stream,
    region,
    sendText: (text) => d.session?.sendText(text),
    sendCached: (rendition, segment, chunk) => {
      const c = relay.get(d.stream)?.renditions.get(rendition)?.segment(segment)?.chunks[chunk];
      return c && c.meta.chunk === chunk && d.session ? d.session.resend(c) : 0;
    },
  });
  tracker.setVideo(id, d.video);
  return id;
}

const RESUME_RE = /^([A-Za-z0-9_-]{1,64}):(\d{1,10})\.(\d{1,5})$/;
/** Renditions a player receives at once: one video and its audio, with room to spare. */
const MAX_RESUME = 4;

/**
 * `resume=v360:12.3,a0:12.4`: per rendition, the last chunk (segment.chunk) the player has. Empty → [];
 * anything else malformed → undefined (refused with 400).
 */
export function parseResume(raw: string): ResumePosition[] | undefined {
  if (raw === '') return [];
  const parts = raw.split(',');
  if (parts.length > MAX_RESUME) return undefined;
  const out: ResumePosition[] = [];
  for (const p of parts) {
    const m = RESUME_RE.exec(p);
    if (!m) return undefined;
    const segment = Number(m[2]);
    const chunk = Number(m[3]);
    if (segment > 0xffffffff || chunk > 0xffff || out.some((o) => o.rendition === m[1])) return undefined;
    out.push({ rendition: m[1]!, segment, chunk });
  }
  return out;
}
