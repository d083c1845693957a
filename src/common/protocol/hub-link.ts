/**
 * The edge ↔ hub link: JSON text frames over one cluster-authenticated WebSocket per edge
 * (`/internal/edge`, subprotocol tiercast-hub.v1). Chat flows up as join/leave/act per viewer connection;
 * the hub answers with broadcasts (fanned out by each edge to its local viewers of the channel), direct
 * events for one connection, kicks, and the directory. Decoding validates at the boundary.
 */
import { z } from 'zod';
import {
  LINK_ENVELOPE_BYTES,
  MAX_DRAWING_BYTES,
  MAX_LINK_MESSAGE_BYTES,
  MAX_MESSAGE_CHARS,
  maxRawTextUnits,
} from '../chat/limits.js';
import { ProtocolError } from '../errors/index.js';

export const HUB_SUBPROTOCOL = 'tiercast-hub.v1';
export { LINK_FRAME_CEILING_BYTES, MAX_LINK_MESSAGE_BYTES } from '../chat/limits.js';

const conn = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);
const channel = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);

/** How a viewer receives a stream: the WebSocket push players, or an HTTP player (an unknown one is `http`). */
export const AUDIENCE_TRANSPORTS = ['websocket', 'dash', 'hls', 'http'] as const;
export type AudienceTransport = (typeof AUDIENCE_TRANSPORTS)[number];
/** Viewer keys in one audience message (about 19 bytes each in JSON: far under the link's message limit). */
export const MAX_AUDIENCE_KEYS = 10_000;
const viewerKey = z.string().regex(/^[0-9a-f]{16}$/);

const origin = z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/);

const identity = z.strictObject({
  session: z.string().max(2048).optional(),
  guestName: z.string().max(64).optional(),
  ip: z.string().max(64),
});
const action = z.discriminatedUnion('type', [
  // The edge has already refused anything over the hub's limits; these are the ceilings every limit is under.
  z.strictObject({
    type: z.literal('send'),
    text: z.string().max(maxRawTextUnits(MAX_MESSAGE_CHARS)),
    id: z.string().max(64).optional(),
  }),
  z.strictObject({
    type: z.literal('draw'),
    image: z.string().max(MAX_DRAWING_BYTES),
    id: z.string().max(64).optional(),
  }),
]);

export const edgeToHubSchema = z.discriminatedUnion('t', [
  z.strictObject({ t: z.literal('join'), conn, channel, identity }),
  z.strictObject({ t: z.literal('leave'), conn }),
  // origin: the edge's id for this action (edge id, boot, counter); the hub acknowledges it once stored and
  // never posts the same origin twice, so the edge can resend what was unacknowledged (ADR 0018).
  z.strictObject({ t: z.literal('act'), conn, action, origin: origin.optional() }),
  z.strictObject({ t: z.literal('viewers'), counts: z.record(channel, z.number().int().nonnegative()) }),
  // Analytics (issue 16): who watches how, from which region, and who began watching since the last report
  // (day-salted hashes of client addresses; the hub counts unique viewers with them and keeps nothing else).
  z.strictObject({
    t: z.literal('audience'),
    region: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/),
    streams: z.record(
      channel,
      z.strictObject({
        transports: z.partialRecord(z.enum(AUDIENCE_TRANSPORTS), z.number().int().nonnegative()),
        joined: z.array(viewerKey).max(MAX_AUDIENCE_KEYS),
      }),
    ),
  }),
]);
export type EdgeToHub = z.infer<typeof edgeToHubSchema>;

const directoryEntry = z.strictObject({
  name: channel,
  title: z.string(),
  category: z.string(),
  description: z.string(),
  live: z.boolean(),
  viewers: z.number().int().nonnegative(),
  startedAt: z.number().nullable(),
  protected: z.boolean(),
  thumbnail: z.string().nullable(),
});

/** The hub's chat limits, announced on link open: the edge checks them at the first hop and tells browsers. */
const limits = z.strictObject({
  maxMessageChars: z.number().int().min(1).max(MAX_MESSAGE_CHARS),
  maxDrawingBytes: z.number().int().min(1).max(MAX_DRAWING_BYTES),
});

export const hubToEdgeSchema = z.discriminatedUnion('t', [
  z.strictObject({ t: z.literal('limits'), chat: limits }),
  z.strictObject({ t: z.literal('broadcast'), channel, event: z.record(z.string(), z.unknown()) }),
  z.strictObject({ t: z.literal('direct'), conn, event: z.record(z.string(), z.unknown()) }),
  z.strictObject({ t: z.literal('kick'), conn, reason: z.string().max(256) }),
  // Every action up to this origin (they arrive in order on one link) was handled: stored or refused.
  z.strictObject({ t: z.literal('ack'), origin }),
  // Per live stream being recorded, its broadcast (rewind while live plays /videos/ID). A message of its own,
  // after the directory: an edge of an earlier release ignores it (logged) and keeps its directory whole.
  z.strictObject({
    t: z.literal('recordings'),
    streams: z
      .record(channel, z.string().regex(/^\d{8}T\d{6}Z-[0-9a-f]{4,8}$/))
      .refine((r) => Object.keys(r).length <= 100_000, 'too many streams'),
  }),
  // A long directory comes in pages (each one link message); the edge applies it when the last has arrived.
  z.strictObject({
    t: z.literal('directory'),
    entries: z.array(directoryEntry).max(100_000),
    page: z.number().int().nonnegative().optional(),
    pages: z.number().int().positive().optional(),
  }),
]);
export type HubToEdge = z.infer<typeof hubToEdgeSchema>;
export type HubDirectoryEntry = z.infer<typeof directoryEntry>;

function decode<T>(schema: z.ZodType<T>, text: string, what: string): T {
  // Characters, not bytes: cheap, and never fewer than the bytes' count of a message that was within the limit.
  if (text.length > MAX_LINK_MESSAGE_BYTES)
    throw new ProtocolError('PROTOCOL_FRAME_TOO_LARGE', `${what} message too large`, { chars: text.length });
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new ProtocolError('PROTOCOL_MALFORMED_FRAME', `${what} message is not JSON`);
  }
  const r = schema.safeParse(raw);
  if (!r.success) {
    throw new ProtocolError(
      'PROTOCOL_MALFORMED_FRAME',
      `${what} message invalid: ${r.error.issues
        .map((i) => `${i.path.join('.')}: ${i.message}`)
        .join('; ')
        .slice(0, 300)}`,
    );
  }
  return r.data;
}

export const decodeEdgeToHub = (text: string): EdgeToHub => decode(edgeToHubSchema, text, 'edge');
export const decodeHubToEdge = (text: string): HubToEdge => decode(hubToEdgeSchema, text, 'hub');
export const encodeLink = (m: EdgeToHub | HubToEdge): string => JSON.stringify(m);

/** The directory as link messages that each fit MAX_LINK_MESSAGE_BYTES (one page unless it is long). */
export function directoryPages(entries: HubDirectoryEntry[]): HubToEdge[] {
  const budget = MAX_LINK_MESSAGE_BYTES - LINK_ENVELOPE_BYTES;
  const pages: HubDirectoryEntry[][] = [[]];
  let bytes = 0;
  for (const e of entries) {
    const size = Buffer.byteLength(JSON.stringify(e), 'utf8') + 1;
    if (bytes + size > budget && pages.at(-1)!.length > 0) {
      pages.push([]);
      bytes = 0;
    }
    pages.at(-1)!.push(e);
    bytes += size;
  }
  if (pages.length === 1) return [{ t: 'directory', entries: pages[0]! }];
  return pages.map((p, page) => ({ t: 'directory', entries: p, page, pages: pages.length }));
}

/**
 * Encodes for sending, or throws PROTOCOL_FRAME_TOO_LARGE if the message is over MAX_LINK_MESSAGE_BYTES: the
 * peer's socket would close the whole link on it. Callers drop that one message and log the code.
 */
export function encodeLinkChecked(m: EdgeToHub | HubToEdge): string {
  const text = JSON.stringify(m);
  // UTF-8 is at most 3 bytes per UTF-16 unit: short texts need no byte count.
  if (text.length * 3 > MAX_LINK_MESSAGE_BYTES) {
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes > MAX_LINK_MESSAGE_BYTES) {
      throw new ProtocolError(
        'PROTOCOL_FRAME_TOO_LARGE',
        `link message "${m.t}" over ${MAX_LINK_MESSAGE_BYTES} bytes not sent`,
        { bytes },
      );
    }
  }
  return text;
}
