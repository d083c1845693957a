/**
 * Transport: the viewers' WebSocket route `/live/NAME/ws` (uWebSockets.js). Parses the few control messages
 * a player sends and hands everything else to ViewerSession.
 */
import type uWS from 'uWebSockets.js';
import { z } from 'zod';
import type { Logger } from '../common/logging/index.js';
import type { Metrics } from '../common/metrics/index.js';
import type { ViewerConfig } from '../common/config/index.js';
import { isValidName } from '../common/protocol/index.js';
import type { RelayNode } from '../common/relay/relay-node.js';
import type { App } from '../common/http/uws-server.js';
import { ViewerSession } from './viewer-session.js';
import type { ViewerCounter } from './viewer-count.js';
import type { AccessGate } from './access-gate.js';

interface ViewerData {
  stream: string;
  cookies: string;
  remote: string;
  initialVideo: string | undefined;
  session: ViewerSession | undefined;
  closed: boolean;
}

const controlSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('select'), video: z.string().max(64) }),
  z.object({ type: z.literal('ping'), t: z.number() }),
]);

const MAX_CONTROL_BYTES = 1024;

export function addViewerSocket(
  app: App,
  deps: { relay: RelayNode; config: ViewerConfig; logger: Logger; metrics: Metrics; counter: ViewerCounter; gate: AccessGate },
): { close(): void } {
  const sockets = new Set<uWS.WebSocket<ViewerData>>();
  const { relay, config, logger, metrics, counter } = deps;
  app.ws<ViewerData>('/live/:name/ws', {
    maxPayloadLength: MAX_CONTROL_BYTES,
    // uWS's own ceiling sits above ours: ViewerSession skips or closes first, with a reason.
    maxBackpressure: config.closeBackpressureBytes * 2,
    idleTimeout: 32,
    sendPingsAutomatically: true,
    upgrade: (res, req, context) => {
      const stream = req.getParameter(0) ?? '';
      const video = req.getQuery('video') || undefined;
      const key = req.getHeader('sec-websocket-key');
      const protocol = req.getHeader('sec-websocket-protocol');
      const ext = req.getHeader('sec-websocket-extensions');
      const remote = Buffer.from(res.getRemoteAddressAsText()).toString();
      if (!isValidName(stream) || (video !== undefined && !isValidName(video))) {
        res.cork(() => res.writeStatus('400 Bad Request').end('bad stream name'));
        return;
      }
      if (!deps.gate.allows(stream, req.getHeader('cookie'))) {
        logger.info({ stream, code: 'PASSWORD_REQUIRED' }, 'media socket refused: stream is password-protected');
        res.cork(() => res.writeStatus('403 Forbidden').writeHeader('x-tiercast-error', 'PASSWORD_REQUIRED').end('this stream needs its password'));
        return;
      }
      res.upgrade<ViewerData>({ stream, cookies: req.getHeader('cookie'), remote, initialVideo: video, session: undefined, closed: false }, key, protocol, ext, context);
    },
    open: (ws) => {
      sockets.add(ws);
      const d = ws.getUserData();
      // Bound once per viewer: this inc() runs for every frame sent to every viewer.
      const bytesOut = metrics.bytesOut.labels({ stream: d.stream, transport: 'ws' });
      const session = new ViewerSession(
        {
          sendBinary: (frame) => {
            if (!d.closed) ws.send(frame, true);
          },
          sendText: (text) => {
            if (!d.closed) ws.send(text, false);
          },
          bufferedAmount: () => (d.closed ? 0 : ws.getBufferedAmount()),
          close: (code, reason) => {
            if (d.closed) return;
            d.closed = true;
            logger.info({ stream: d.stream, remote: d.remote, code, reason }, 'viewer disconnected by the edge');
            ws.end(code, reason);
          },
        },
        config,
        {
          onSent: (bytes) => bytesOut.inc(bytes),
          onSkipped: () => metrics.chunksDropped.inc({ stream: d.stream, reason: 'slow_viewer' }),
        },
        d.initialVideo,
      );
      d.session = session;
      counter.wsJoin(d.stream);
      metrics.viewers.inc({ stream: d.stream, transport: 'ws' });
      ws.cork(() => relay.attach(d.stream, session));
      const r = relay.get(d.stream);
      if (r && r.state === 'pending') {
        // Tell the player promptly if the stream turns out not to exist, and re-check protection once the
        // stream's own description arrives (before any media: inits and chunks come in later messages).
        void r.whenKnown(5000).then((info) => {
          if (d.closed) return;
          if (!info) ws.send(JSON.stringify({ type: 'end', reason: 'stream is not live' }), false);
          else if (!deps.gate.allows(d.stream, d.cookies)) session.close(4403, 'PASSWORD_REQUIRED: this stream needs its password');
        });
      }
    },
    message: (ws, message, isBinary) => {
      const d = ws.getUserData();
      if (isBinary || !d.session) return;
      let parsed: z.infer<typeof controlSchema>;
      try {
        const r = controlSchema.safeParse(JSON.parse(Buffer.from(message).toString('utf8')));
        if (!r.success) throw new Error('invalid control message');
        parsed = r.data;
      } catch {
        ws.send(JSON.stringify({ type: 'error', code: 'BAD_REQUEST', message: 'unknown or malformed control message' }), false);
        logger.debug({ stream: d.stream, remote: d.remote, code: 'BAD_REQUEST' }, 'bad control message from viewer');
        return;
      }
      if (parsed.type === 'ping') {
        ws.send(JSON.stringify({ type: 'pong', t: parsed.t, server: Date.now() }), false);
      } else {
        const r = d.session.select(parsed.video);
        if (!r.ok) ws.send(JSON.stringify({ type: 'error', code: 'BAD_REQUEST', message: r.reason }), false);
      }
    },
    close: (ws) => {
      const d = ws.getUserData();
      d.closed = true;
      sockets.delete(ws);
      if (d.session) relay.detach(d.stream, d.session);
      counter.wsLeave(d.stream);
      metrics.viewers.dec({ stream: d.stream, transport: 'ws' });
    },
  });
  return {
    close: () => {
      for (const ws of [...sockets]) {
        const d = ws.getUserData();
        if (!d.closed) {
          d.closed = true;
          ws.end(1001, 'edge shutting down');
        }
      }
    },
  };
}
