/** WebSocket close codes used by tiercast (4000–4999 are application codes). Listed in docs/errors.md. */
import type { ErrorCode } from '../errors/index.js';

export const CloseCode = {
  GOING_AWAY: 1001,
  /** RFC 6455 "message too big": a frame over the socket's limit (src/common/http/ws-oversize.ts). */
  MESSAGE_TOO_BIG: 1009,
  AUTH_FAILED: 4001,
  VERSION_MISMATCH: 4002,
  MALFORMED_FRAME: 4003,
  FRAME_TOO_LARGE: 4004,
  /** Refused for this viewer: a password is needed, or a moderator removed them (the reason says which). */
  FORBIDDEN: 4403,
  STREAM_NOT_FOUND: 4404,
  SLOW_CONSUMER: 4008,
  HEARTBEAT_TIMEOUT: 4009,
  PARENT_LOOP: 4010,
  /** A browser publish refused or ended: stream live elsewhere, codec, transcoder (the JSON before it says why). */
  PUBLISH_REFUSED: 4409,
  /** A browser publish sending media faster than real time. */
  TOO_FAST: 4429,
  /** A media socket refused because the edge is full (reason `EDGE_AT_CAPACITY: …`). */
  EDGE_AT_CAPACITY: 4503,
} as const;

export function closeCodeFor(code: ErrorCode | undefined): number {
  switch (code) {
    case 'CLUSTER_AUTH_FAILED':
      return CloseCode.AUTH_FAILED;
    case 'PROTOCOL_VERSION_MISMATCH':
      return CloseCode.VERSION_MISMATCH;
    case 'PROTOCOL_FRAME_TOO_LARGE':
      return CloseCode.FRAME_TOO_LARGE;
    case 'SLOW_CONSUMER':
      return CloseCode.SLOW_CONSUMER;
    case 'STREAM_NOT_FOUND':
      return CloseCode.STREAM_NOT_FOUND;
    default:
      return CloseCode.MALFORMED_FRAME;
  }
}
