/**
 * Every error code tiercast uses, in one list: errors, HTTP error bodies, log lines, WebSocket close
 * reasons and chat notices all carry one of these. The three groups are the three tables of
 * docs/errors.md (a code may be in more than one: `BAD_REQUEST` is a node, API and chat code);
 * test/unit/error-codes-doc.test.ts checks that each table lists exactly its group. WebSocket close codes
 * are numbers, not codes: they are in `src/common/protocol/close-codes.ts` and their own table.
 *
 * A code read from the wire (a STREAM_END or ERROR frame, a hub notice) stays a string until checked with
 * `isErrorCode`: a peer of another version may send one this list does not have.
 */

/** Codes of the media nodes (ingress, relays, edges) and of things every node does. */
export const NODE_ERROR_CODES = [
  // configuration
  'CONFIG_INVALID',
  // ingest
  'BAD_STREAM_KEY',
  'STREAM_ALREADY_LIVE',
  'RTMP_PROTOCOL_ERROR',
  'RTMP_HANDSHAKE_FAILED',
  'RTMP_MESSAGE_TOO_LARGE',
  'RTMP_PUBLISH_TIMEOUT',
  'RTMP_TOO_MANY_CONNECTIONS',
  'UNSUPPORTED_CODEC',
  'MALFORMED_MEDIA_TAG',
  'CODEC_CHANGED',
  'KEYFRAME_INTERVAL_UNSUPPORTED',
  'NO_KEYFRAMES',
  'BROWSER_INGEST_MALFORMED',
  'BROWSER_INGEST_TOO_FAST',
  'WHIP_BAD_OFFER',
  'WHIP_BAD_CONTENT_TYPE',
  'WHIP_SESSION_NOT_FOUND',
  'SRT_HANDSHAKE_FAILED',
  'SRT_TOO_MANY_PENDING',
  // transcoding
  'TRANSCODER_START_FAILED',
  'TRANSCODER_DIED',
  'TRANSCODER_STALLED',
  'MP4_PARSE_ERROR',
  // other child processes (capture input, demo publisher)
  'PROCESS_START_FAILED',
  'PROCESS_DIED',
  // inter-tier protocol
  'PROTOCOL_MALFORMED_FRAME',
  'PROTOCOL_VERSION_MISMATCH',
  'PROTOCOL_FRAME_TOO_LARGE',
  'CLUSTER_AUTH_FAILED',
  'UPSTREAM_TIMEOUT',
  'UPSTREAM_UNAVAILABLE',
  'PARENT_AT_CAPACITY',
  'PARENT_LOOP',
  // delivery
  'STREAM_NOT_FOUND',
  'SEGMENT_NOT_FOUND',
  'BAD_REQUEST',
  'SLOW_CONSUMER',
  'PASSWORD_REQUIRED',
  'EDGE_AT_CAPACITY',
  // peer-assisted delivery (src/edge/p2p)
  'P2P_DISABLED',
  'P2P_NOT_YOUR_PEER',
  'P2P_RATE_LIMITED',
  'P2P_BAD_DATA',
  'P2P_SUPPLIER_LATE',
  'P2P_NOT_ADMITTED',
  // hub, as the nodes see it
  'HUB_UNAVAILABLE',
  'HUB_NOT_LEADER',
  'THUMBNAIL_FAILED',
  // the hub's own store (PostgreSQL behind a synchronous bridge, ADR 0016)
  'STORE_UNAVAILABLE',
  'STORE_TIMEOUT',
  // recordings' storage (src/common/storage) and past broadcasts
  'STORAGE_UNAVAILABLE',
  'VIDEO_NOT_FOUND',
  // restream outputs (issue 16)
  'RESTREAM_FAILED',
  'RESTREAM_KEY_UNREADABLE',
  // operations
  'LOG_LINES_SUPPRESSED',
  'METRICS_FAILED',
  'UWS_NATIVE_UNAVAILABLE',
  'TLS_RELOAD_FAILED',
  'TLS_HANDSHAKE_FAILED',
] as const;

/** Codes of the hub's store and of the JSON APIs (`{"error":{"code","message"}}`). */
export const API_ERROR_CODES = [
  'BAD_REQUEST',
  'DUPLICATE_NAME',
  'UNKNOWN_NAME',
  'INVALID_VALUE',
  'BAD_CREDENTIALS',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'CSRF_FAILED',
  'CLUSTER_AUTH_FAILED',
  'RATE_LIMITED',
  'PAYLOAD_TOO_LARGE',
  'NOT_FOUND',
  'METHOD_NOT_ALLOWED',
  'WEBHOOK_TARGET_REFUSED',
  'WEBHOOK_LIMIT',
  'PUSH_ENDPOINT_REFUSED',
  'PUSH_LIMIT',
  'PUSH_UNAVAILABLE',
  'RESTREAM_TARGET_REFUSED',
  'RESTREAM_LIMIT',
  'ANALYTICS_DISABLED',
  'INTERNAL',
] as const;

/** Codes of chat `notice` events sent to one connection, by the hub or (CHAT_*) by the edge. */
export const CHAT_NOTICE_CODES = [
  'STREAM_NOT_FOUND',
  'BANNED',
  'GUESTS_NOT_ALLOWED',
  'NOT_JOINED',
  'BAD_REQUEST',
  'EMPTY_MESSAGE',
  'MESSAGE_TOO_LONG',
  'DRAWING_TOO_LARGE',
  'BAD_DRAWING',
  'RATE_LIMITED',
  'MUTED',
  'SLOW_MODE',
  'ACCOUNTS_ONLY',
  'FOLLOWERS_ONLY',
  'LINK_BLOCKED',
  'MESSAGE_HELD',
  'RAID_REFUSED',
  'UNKNOWN_COMMAND',
  'BAD_COMMAND',
  'FORBIDDEN',
  'INVALID_NAME',
  'NAME_TAKEN',
  'INVALID_COLOR',
  'UNKNOWN_NAME',
  'INTERNAL',
  'CHAT_QUEUED',
  'CHAT_QUEUE_FULL',
  'CHAT_DISABLED',
] as const;

export type NodeErrorCode = (typeof NODE_ERROR_CODES)[number];
export type ApiErrorCode = (typeof API_ERROR_CODES)[number];
export type ChatNoticeCode = (typeof CHAT_NOTICE_CODES)[number];
export type ErrorCode = NodeErrorCode | ApiErrorCode | ChatNoticeCode;

/** Every code once. */
export const ERROR_CODES: readonly ErrorCode[] = [
  ...new Set<ErrorCode>([...NODE_ERROR_CODES, ...API_ERROR_CODES, ...CHAT_NOTICE_CODES]),
];

export function isErrorCode(s: unknown): s is ErrorCode {
  return typeof s === 'string' && (ERROR_CODES as readonly string[]).includes(s);
}
