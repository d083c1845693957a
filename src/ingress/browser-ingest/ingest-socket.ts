/**
 * Transport: the browser ingest WebSocket `/publish/ws` on the ingress's HTTP port (uWebSockets.js). One
 * BrowserIngestSession per socket does the work; this file only moves bytes. The key never travels in the
 * URL (nothing of the upgrade request is read but the address) and is never logged.
 *
 * uWS reads messages up to a ceiling a little above the 4 MiB limit so that an oversize frame is answered
 * with 1009 and words (ws-oversize.ts) rather than an abrupt close.
 */
import type uWS from 'uWebSockets.js';
import type { App } from '../../common/http/uws-server.js';
import { readCeiling } from '../../common/http/ws-oversize.js';
import type { Logger } from '../../common/logging/index.js';
import type { Metrics } from '../../common/metrics/index.js';
import { CloseCode } from '../../common/protocol/close-codes.js';
import { BROWSER_INGEST_PATH } from '../../common/protocol/browser-ingest.js';
import { unsupportedCodec } from '../flv/codecs.js';
import type { PublishFlow } from '../publish-flow.js';
import { INGEST_MAX_TEXT_BYTES } from './ingest-protocol.js';
import { BrowserIngestSession, DEFAULT_INGEST_LIMITS, type IngestLimits } from './ingest-session.js';
import type { ProxyTrust } from '../../common/http/client.js';

export { BROWSER_INGEST_PATH };

/**
 * Browsers encode Opus, not AAC: audio is sent only once the transcoder takes Opus (Enhanced RTMP ex-audio,
 * SoundFormat 9, AudioPacketType 0 SequenceStart, FourCC 'Opus'). Until then pages go live with video only.
 */
const OPUS_SUPPORTED =
  unsupportedCodec({ type: 8, data: Buffer.from([0x90, 0x4f, 0x70, 0x75, 0x73, 0]) }) === undefined;

interface SocketData {
  remote: string;
  session: BrowserIngestSession | undefined;
  closed: boolean;
}

export function addBrowserIngest(
  app: App,
  deps: {
    publish: PublishFlow;
    isLive: (name: string) => boolean;
    /** The streamer's address, through trusted proxies. */
    clients: ProxyTrust;
    logger: Logger;
    metrics: Pick<Metrics, 'publishRejected'>;
    limits?: Partial<IngestLimits>;
  },
): { close(): void } {
  const limits = { ...DEFAULT_INGEST_LIMITS, ...deps.limits };
  const sessions = new Map<string, BrowserIngestSession>();
  const sockets = new Set<uWS.WebSocket<SocketData>>();
  app.ws<SocketData>(BROWSER_INGEST_PATH, {
    maxPayloadLength: readCeiling(limits.maxFrameBytes, limits.maxFrameBytes + 64 * 1024),
    // The ingress only sends small JSON; a page that reads nothing is closed rather than buffered for.
    maxBackpressure: 256 * 1024,
    closeOnBackpressureLimit: 1,
    idleTimeout: 30,
    sendPingsAutomatically: true,
    upgrade: (res, req, context) => {
      const data: SocketData = {
        remote: deps.clients.of(res, req).ip,
        session: undefined,
        closed: false,
      };
      res.upgrade<SocketData>(
        data,
        req.getHeader('sec-websocket-key'),
        req.getHeader('sec-websocket-protocol'),
        req.getHeader('sec-websocket-extensions'),
        context,
      );
    },
    open: (ws) => {
      const d = ws.getUserData();
      sockets.add(ws);
      d.session = new BrowserIngestSession(
        {
          remoteAddress: d.remote,
          send: (msg) => {
            if (!d.closed) ws.send(JSON.stringify(msg), false);
          },
          end: (code, reason) => {
            if (d.closed) return;
            d.closed = true;
            ws.end(code, reason);
          },
        },
        {
          publish: deps.publish,
          audioSupported: OPUS_SUPPORTED,
          sessions,
          limits,
          isLive: deps.isLive,
          logger: deps.logger,
          metrics: deps.metrics,
        },
      );
    },
    message: (ws, message, isBinary) => {
      const s = ws.getUserData().session;
      if (!s) return;
      if (isBinary) {
        // The ArrayBuffer is uWS's and only valid during this call: the session copies what it keeps.
        s.onBinary(Buffer.from(message));
        return;
      }
      if (message.byteLength > INGEST_MAX_TEXT_BYTES) {
        s.refuse(
          'PAYLOAD_TOO_LARGE',
          `a text message is at most ${INGEST_MAX_TEXT_BYTES} bytes`,
          CloseCode.MESSAGE_TOO_BIG,
        );
        return;
      }
      s.onText(Buffer.from(message).toString('utf8'));
    },
    close: (ws) => {
      const d = ws.getUserData();
      d.closed = true;
      sockets.delete(ws);
      d.session?.onClosed();
    },
  });
  return {
    close: () => {
      for (const ws of [...sockets]) {
        const d = ws.getUserData();
        d.session?.onClosed('ingress shutting down');
        if (!d.closed) {
          d.closed = true;
          ws.end(1001, 'ingress shutting down');
        }
      }
    },
  };
}
