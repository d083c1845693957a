/**
 * Protocol: the P2P messages a viewer sends on its media socket (text, JSON), validated before the tracker
 * sees them. Peer ids are the tracker's random ids; `data` of a signal is the page's WebRTC offer, answer or
 * ICE candidate, relayed as-is to the planned partner (its size is bounded by the socket's message limit).
 */
import { z } from 'zod';

const peerId = z.string().regex(/^[A-Za-z0-9_-]{8}$/, 'a peer id');
const rendition = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);
const position = {
  r: rendition,
  s: z.number().int().min(0).max(0xffffffff),
  c: z.number().int().min(0).max(0xffff),
};

export const p2pMessageSchemas = [
  /** The viewer's switch: take part or not. */
  z.object({ type: z.literal('p2p'), on: z.boolean() }),
  /** WebRTC signalling for a planned partner. */
  z.object({
    type: z.literal('p2p-signal'),
    to: peerId,
    data: z.union([
      z.strictObject({ sdp: z.string().max(6000), kind: z.enum(['offer', 'answer']) }),
      z.strictObject({
        candidate: z.string().max(512),
        sdpMid: z.string().max(32).nullable().optional(),
        sdpMLineIndex: z.number().int().min(0).max(16).nullable().optional(),
        /** The sender's role in the link, so the partner knows which of its links the candidate is for. */
        from: z.enum(['supplier', 'receiver']),
      }),
    ]),
  }),
  /** The receiver's data channel from a planned supplier opened or closed. */
  z.object({ type: z.literal('p2p-link'), peer: peerId, open: z.boolean() }),
  /**
   * A chunk the page needs from the edge: no peer delivered it by the deadline, or the page's player would
   * run out of media before the deadline (a fetch takes a round trip). The edge sends it.
   */
  z.object({ type: z.literal('p2p-fetch'), ...position }),
  /** The planned supplier of a chunk had not delivered it by the deadline (the edge counts it against it). */
  z.object({ type: z.literal('p2p-miss'), ...position }),
  /** A peer sent media that did not match the edge's digest. */
  z.object({ type: z.literal('p2p-bad'), peer: peerId, ...position }),
] as const;

export const p2pMessageSchema = z.discriminatedUnion('type', [...p2pMessageSchemas]);
export type P2pMessage = z.infer<typeof p2pMessageSchema>;

/** SDP for a data channel is 500–1500 bytes; a message carries at most this much. */
export const MAX_P2P_MESSAGE_BYTES = 8 * 1024;
