/**
 * Oversize WebSocket messages from browsers, closed with a code and a reason instead of a dropped connection.
 * uWebSockets.js closes a socket without a close frame (the peer sees 1006, no reason) when a message passes
 * the route's `maxPayloadLength`. So a route sets `maxPayloadLength` to `readCeiling(limit)`, above its real
 * limit, and checks the real limit itself with `refuseOversize`: anything between the two is answered with
 * close 1009 and `PAYLOAD_TOO_LARGE: …`. Only a message past the ceiling still gets uWS's abrupt close.
 */
import type uWS from 'uWebSockets.js';
import { CloseCode } from '../protocol/close-codes.js';

/** RFC 6455 "Message Too Big". */
export const CLOSE_MESSAGE_TOO_BIG = CloseCode.MESSAGE_TOO_BIG;

/**
 * uWS buffers a fragmented message up to maxPayloadLength per socket before handing it over, so the ceiling
 * is bounded: what an attacker can pin per socket. 64 KiB covers any mistake a page can make with a control
 * message; past it the sender is not a page of ours.
 */
export function readCeiling(limitBytes: number, ceilingBytes = 64 * 1024): number {
  return Math.max(limitBytes, ceilingBytes);
}

/** Closes the socket with 1009 and a reason if `message` is over `limitBytes`; true if it did. */
export function refuseOversize(
  ws: uWS.WebSocket<unknown>,
  message: ArrayBuffer,
  limitBytes: number,
  what: string,
): boolean {
  if (message.byteLength <= limitBytes) return false;
  // A close reason is at most 123 bytes: keep it short.
  ws.end(CLOSE_MESSAGE_TOO_BIG, `PAYLOAD_TOO_LARGE: ${what} are at most ${limitBytes} bytes`.slice(0, 123));
  return true;
}
