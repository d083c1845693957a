/**
 * Transport: viewers' chat WebSocket `/chat/NAME` (uWebSockets.js). Each socket subscribes to the channel's
 * topic so a hub broadcast is one publish; control is parsed here and handed to ChatBridge, which checks
 * sizes against the hub's limits. Frames up to CHAT_FRAME_CEILING_BYTES are read and answered with a code;
 * larger ones are closed with 1009 and a reason (ws-oversize.ts). A socket of a stream that becomes
 * password-protected is closed with 4403 unless its cookie holds a valid access token.
 */
import { randomBytes } from 'node:crypto';
import type uWS from 'uWebSockets.js';
import { z } from 'zod';
import type { Logger } from '../common/logging/index.js';
import {
  CHAT_FRAME_CEILING_BYTES,
  CHAT_FRAME_GRACE_BYTES,
  CHAT_SOCKET_MAX_BACKPRESSURE,
} from '../common/chat/index.js';
import { parseCookies, readCookie } from '../common/http/request.js';
import type { ProxyTrust } from '../common/http/client.js';
import { readCeiling, refuseOversize } from '../common/http/ws-oversize.js';
import { isValidName } from '../common/protocol/index.js';
import type { App } from '../common/http/uws-server.js';
import { SESSION_COOKIE } from '../common/protocol/session-tokens.js';
import type { AccessGate, ViewerCredentials } from './access-gate.js';
import type { ChatBridge } from './chat-bridge.js';
import { CloseCode } from '../common/protocol/close-codes.js';

interface ChatData {
  conn: string;
  channel: string;
  session: string | undefined;
  /** The upgrade's cookie header, to re-check access when the stream's protection changes. */
  credentials: ViewerCredentials;
  guestName: string | undefined;
  ip: string;
  closed: boolean;
}

// No length limits here: the frame ceiling bounds the input, and ChatBridge refuses long text and large
// drawings with their own codes (MESSAGE_TOO_LONG, DRAWING_TOO_LARGE) instead of "malformed".
const actionSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('send'), text: z.string(), id: z.string().max(64).optional() }),
  z.strictObject({ type: z.literal('draw'), image: z.string(), id: z.string().max(64).optional() }),
]);

const PASSWORD_REASON = 'PASSWORD_REQUIRED: this stream needs its password';

export const chatTopic = (channel: string) => `chat/${channel}`;

export function addChatSocket(
  app: App,
  deps: {
    chat: () => ChatBridge | undefined;
    gate: AccessGate;
    /** The viewer's address and scheme, through trusted proxies. */
    clients: ProxyTrust;
    logger: Logger;
    idleTimeoutS: number;
  },
): { close(): void } {
  const sockets = new Set<uWS.WebSocket<ChatData>>();
  const { logger, gate } = deps;
  const end = (ws: uWS.WebSocket<ChatData>, code: number, reason: string) => {
    const d = ws.getUserData();
    if (d.closed) return;
    d.closed = true;
    ws.end(code, reason);
  };
  // A password set while viewers chat: the same notification the media sockets get from the gate.
  const offGate = gate.onChange(() => {
    for (const ws of [...sockets]) {
      const d = ws.getUserData();
      if (d.closed || gate.allows(d.channel, d.credentials)) continue;
      logger.info(
        { channel: d.channel, code: 'PASSWORD_REQUIRED' },
        'chat closed: stream became password-protected',
      );
      end(ws, CloseCode.FORBIDDEN, PASSWORD_REASON);
    }
  });
  app.ws<ChatData>('/chat/:name', {
    maxPayloadLength: readCeiling(
      CHAT_FRAME_CEILING_BYTES,
      CHAT_FRAME_CEILING_BYTES + CHAT_FRAME_GRACE_BYTES,
    ),
    maxBackpressure: CHAT_SOCKET_MAX_BACKPRESSURE,
    closeOnBackpressureLimit: 1,
    idleTimeout: deps.idleTimeoutS,
    sendPingsAutomatically: true,
    upgrade: (res, req, context) => {
      const channel = req.getParameter(0) ?? '';
      const guestName = req.getQuery('name') || undefined;
      const client = deps.clients.of(res, req);
      const credentials = { cookies: req.getHeader('cookie'), secure: client.secure };
      const key = req.getHeader('sec-websocket-key');
      const protocol = req.getHeader('sec-websocket-protocol');
      const ext = req.getHeader('sec-websocket-extensions');
      const ip = client.ip;
      if (!isValidName(channel)) {
        res.cork(() => res.writeStatus('404 Not Found').end('no such channel'));
        return;
      }
      if (!gate.allows(channel, credentials)) {
        logger.info({ channel, code: 'PASSWORD_REQUIRED' }, 'chat refused: stream is password-protected');
        res.cork(() =>
          res
            .writeStatus('403 Forbidden')
            .writeHeader('x-tiercast-error', 'PASSWORD_REQUIRED')
            .end('this stream needs its password'),
        );
        return;
      }
      const data: ChatData = {
        conn: randomBytes(9).toString('base64url'),
        channel,
        session: readCookie(parseCookies(credentials.cookies), SESSION_COOKIE, client.secure),
        credentials,
        guestName: guestName?.slice(0, 64),
        ip,
        closed: false,
      };
      res.upgrade<ChatData>(data, key, protocol, ext, context);
    },
    open: (ws) => {
      const d = ws.getUserData();
      sockets.add(ws);
      ws.subscribe(chatTopic(d.channel));
      const chat = deps.chat();
      if (!chat) {
        ws.send(
          JSON.stringify({
            type: 'notice',
            level: 'error',
            code: 'CHAT_DISABLED',
            text: 'Chat is not enabled on this network.',
          }),
          false,
        );
        return;
      }
      chat.join(
        d.conn,
        d.channel,
        {
          ip: d.ip,
          ...(d.session ? { session: d.session } : {}),
          ...(d.guestName ? { guestName: d.guestName } : {}),
        },
        {
          send: (json) => {
            if (!d.closed) ws.send(json, false);
          },
          close: (code, reason) => end(ws, code, reason),
        },
      );
    },
    message: (ws, message, isBinary) => {
      const d = ws.getUserData();
      const chat = deps.chat();
      if (isBinary || !chat || d.closed) return;
      if (refuseOversize(ws, message, CHAT_FRAME_CEILING_BYTES, 'chat messages')) {
        d.closed = true;
        logger.info(
          { channel: d.channel, code: 'PAYLOAD_TOO_LARGE', bytes: message.byteLength },
          'chat socket closed: frame over the ceiling',
        );
        return;
      }
      let action: z.infer<typeof actionSchema>;
      try {
        const r = actionSchema.safeParse(JSON.parse(Buffer.from(message).toString('utf8')));
        if (!r.success) throw new Error('invalid');
        action = r.data;
      } catch {
        ws.send(
          JSON.stringify({
            type: 'notice',
            level: 'error',
            code: 'BAD_REQUEST',
            text: 'Malformed chat message.',
          }),
          false,
        );
        return;
      }
      chat.act(d.conn, action);
    },
    close: (ws) => {
      const d = ws.getUserData();
      d.closed = true;
      sockets.delete(ws);
      deps.chat()?.leave(d.conn);
    },
  });
  return {
    close: () => {
      offGate();
      for (const ws of [...sockets]) end(ws, 1001, 'edge shutting down');
    },
  };
}
