/**
 * WHIP (RFC 9725) on the ingress's HTTP port: `POST /whip` with an SDP offer and `Authorization: Bearer
 * STREAM_KEY` → `201 Created`, the SDP answer and `Location: /whip/ID` (a random id, never the key);
 * `DELETE /whip/ID` ends the publish; `PATCH` (trickle ICE) is 405: the answer carries every candidate;
 * `OPTIONS` answers CORS preflights for browser clients. The key goes through the shared publish flow,
 * so it is checked exactly as an RTMP publish's is; it is never logged.
 *
 * Refusals: 415 not application/sdp, 401 no or wrong key, 413 over MAX_OFFER_BYTES, 400 malformed
 * offer / no H.264 / too many tracks, 409 the stream is already live, 503 too many WHIP sessions.
 * Every refusal is a JSON `{"error":{"code","message"}}` body.
 */
import { randomBytes } from 'node:crypto';
import { TiercastError, type ErrorCode } from '../../common/errors/index.js';
import { BodyTooLarge, readBody } from '../../common/http/request.js';
import type { App, HttpResponse } from '../../common/http/uws-server.js';
import type { ProxyTrust } from '../../common/http/client.js';
import type { Logger } from '../../common/logging/index.js';
import type { Metrics } from '../../common/metrics/index.js';
import type { PublishFlow } from '../publish-flow.js';
import { checkOffer } from './sdp-offer.js';
import { WhipSession, type WhipIce } from './whip-session.js';

export const WHIP_PATH = '/whip';
export const MAX_OFFER_BYTES = 64 * 1024;
const MAX_SESSIONS = 64;

const CORS: Record<string, string> = {
  'access-control-allow-origin': '*',
  'access-control-expose-headers': 'Location, ETag, Accept-Post',
};

const STATUS: Partial<Record<ErrorCode, string>> = {
  BAD_STREAM_KEY: '401 Unauthorized',
  STREAM_ALREADY_LIVE: '409 Conflict',
  WHIP_BAD_OFFER: '400 Bad Request',
  UNSUPPORTED_CODEC: '400 Bad Request',
  WHIP_BAD_CONTENT_TYPE: '415 Unsupported Media Type',
  PAYLOAD_TOO_LARGE: '413 Content Too Large',
  WHIP_SESSION_NOT_FOUND: '404 Not Found',
  UPSTREAM_UNAVAILABLE: '503 Service Unavailable',
  TRANSCODER_START_FAILED: '503 Service Unavailable',
};

function reply(res: HttpResponse, status: string, body: string, headers: Record<string, string>): void {
  res.cork(() => {
    res.writeStatus(status);
    for (const [k, v] of Object.entries({ ...CORS, ...headers })) res.writeHeader(k, v);
    res.end(body);
  });
}

function refuse(
  res: HttpResponse,
  code: ErrorCode,
  message: string,
  extra: Record<string, string> = {},
): void {
  reply(res, STATUS[code] ?? '500 Internal Server Error', JSON.stringify({ error: { code, message } }), {
    'content-type': 'application/json',
    'cache-control': 'no-store',
    ...extra,
  });
}

export function addWhip(
  app: App,
  deps: {
    publish: PublishFlow;
    ice: WhipIce;
    /** The publisher's address, through trusted proxies. */
    clients: ProxyTrust;
    logger: Logger;
    metrics: Pick<Metrics, 'publishRejected'>;
  },
): { close(): void; readonly sessions: ReadonlyMap<string, WhipSession> } {
  const sessions = new Map<string, WhipSession>();
  const { logger, metrics } = deps;
  let closing = false;

  const refused = (res: HttpResponse, remote: string, code: ErrorCode, message: string, extra = {}) => {
    metrics.publishRejected.inc({ code });
    logger.warn({ remote, code, reason: message }, 'WHIP publish refused');
    refuse(res, code, message, extra);
  };

  const preflight = (res: HttpResponse, methods: string) =>
    reply(res, '204 No Content', '', {
      'access-control-allow-methods': methods,
      'access-control-allow-headers': 'Authorization, Content-Type, If-Match',
      'access-control-max-age': '86400',
      'accept-post': 'application/sdp',
    });
  app.options(WHIP_PATH, (res) => preflight(res, 'POST, OPTIONS'));
  app.options(`${WHIP_PATH}/:id`, (res) => preflight(res, 'DELETE, PATCH, OPTIONS'));

  app.post(WHIP_PATH, (res, req) => {
    const remote = deps.clients.of(res, req).ip;
    const type = req.getHeader('content-type').split(';')[0]!.trim().toLowerCase();
    const auth = req.getHeader('authorization');
    const length = Number(req.getHeader('content-length') || '0');
    if (type !== 'application/sdp') {
      refused(
        res,
        remote,
        'WHIP_BAD_CONTENT_TYPE',
        'the offer must be sent as Content-Type: application/sdp',
      );
      return;
    }
    const m = /^Bearer\s+(\S+)$/i.exec(auth.trim());
    if (!m) {
      refused(res, remote, 'BAD_STREAM_KEY', 'send the stream key as Authorization: Bearer STREAM_KEY', {
        'www-authenticate': 'Bearer',
      });
      return;
    }
    const key = m[1]!;
    if (length > MAX_OFFER_BYTES) {
      refused(res, remote, 'PAYLOAD_TOO_LARGE', `the offer is over ${MAX_OFFER_BYTES} bytes`);
      return;
    }
    void (async () => {
      let aborted = false;
      let body: Buffer;
      try {
        body = await readBody(res, MAX_OFFER_BYTES);
      } catch (err) {
        if (err instanceof BodyTooLarge)
          refused(res, remote, 'PAYLOAD_TOO_LARGE', `the offer is over ${MAX_OFFER_BYTES} bytes`);
        return;
      }
      res.onAborted(() => (aborted = true));
      const sdp = body.toString('utf8');
      let summary;
      try {
        summary = checkOffer(sdp);
      } catch (err) {
        if (!(err instanceof TiercastError)) throw err;
        refused(res, remote, err.code, err.message);
        return;
      }
      if (closing || sessions.size >= MAX_SESSIONS) {
        refused(res, remote, 'UPSTREAM_UNAVAILABLE', 'the ingress takes no more WHIP publishes right now');
        return;
      }
      const id = randomBytes(18).toString('base64url');
      const ref: { session?: WhipSession } = {};
      let ended: string | undefined;
      let published;
      try {
        published = await deps.publish({
          key,
          remoteAddress: remote,
          onFailed: (code, description) => {
            logger.warn({ remote, session: id, code, reason: description }, 'WHIP publish ended');
            if (ref.session) ref.session.end(`${code}: ${description}`);
            else ended = description;
          },
        });
      } catch (err) {
        const code = err instanceof TiercastError ? err.code : 'BAD_STREAM_KEY';
        const message =
          code === 'BAD_STREAM_KEY'
            ? 'invalid stream key'
            : code === 'STREAM_ALREADY_LIVE'
              ? 'the stream is already live'
              : (err as Error).message;
        if (!aborted)
          refuse(res, code, message, code === 'BAD_STREAM_KEY' ? { 'www-authenticate': 'Bearer' } : {});
        return;
      }
      const log = logger.child({ session: id, stream: published.name });
      const session = new WhipSession(id, summary, deps.ice, {
        sink: published.sink,
        logger: log,
        onEnded: (reason) => {
          sessions.delete(id);
          log.info({ reason }, 'WHIP session ended');
        },
      });
      ref.session = session;
      sessions.set(id, session);
      if (ended !== undefined) {
        session.end(ended);
        if (!aborted) refuse(res, 'TRANSCODER_START_FAILED', ended);
        return;
      }
      let answer: string;
      try {
        answer = await session.answer(sdp);
      } catch (err) {
        session.end('the offer could not be answered');
        log.warn(
          { remote, code: 'WHIP_BAD_OFFER', err: (err as Error).message },
          'WHIP offer not answerable',
        );
        if (!aborted)
          refuse(res, 'WHIP_BAD_OFFER', `the offer could not be answered: ${(err as Error).message}`);
        return;
      }
      if (aborted) {
        session.end('the publisher went away before the answer');
        return;
      }
      log.info({ remote, audio: summary.opus !== undefined }, 'WHIP session created');
      reply(res, '201 Created', answer, {
        'content-type': 'application/sdp',
        location: `${WHIP_PATH}/${id}`,
        etag: `"${id}"`,
      });
    })().catch((err: unknown) => {
      logger.error({ remote, err: (err as Error).message }, 'WHIP request failed');
    });
  });

  app.del(`${WHIP_PATH}/:id`, (res, req) => {
    const id = req.getParameter(0) ?? '';
    const s = sessions.get(id);
    if (!s) {
      refuse(res, 'WHIP_SESSION_NOT_FOUND', 'no such WHIP session');
      return;
    }
    s.end('the publisher ended the WHIP session');
    reply(res, '200 OK', '', {});
  });
  app.patch(`${WHIP_PATH}/:id`, (res) => {
    reply(res, '405 Method Not Allowed', '', { allow: 'DELETE, OPTIONS' });
  });

  return {
    sessions,
    close: () => {
      closing = true;
      for (const s of [...sessions.values()]) s.end('ingress shutting down');
    },
  };
}
