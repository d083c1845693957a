/**
 * Server side of the RTMP "simple" handshake, version 3:
 *   client → C0 (1 byte: version 3) + C1 (1536 bytes: time, zero, random)
 *   server → S0 (version 3) + S1 (time, zero, random) + S2 (echo of C1)
 *   client → C2 (1536 bytes, echo of S1; not checked)
 * S1's second word is zero, which tells ffmpeg and librtmp (OBS) not to attempt the Flash Player 9
 * digest validation; echoing C1 as S2 is what they then expect. Pure: feed bytes, get the reply.
 */
import { randomBytes } from 'node:crypto';
import { ProtocolError } from '../../common/errors/index.js';

export const RTMP_VERSION = 3;
export const HANDSHAKE_SIZE = 1536;

export interface HandshakeResult {
  /** Bytes to send to the client, if any. */
  reply?: Buffer;
  done: boolean;
  /** Bytes received after C2 (the client may pipeline its first chunks): feed them to the chunk parser. */
  rest: Buffer;
}

export interface ServerHandshakeOptions {
  /** For deterministic tests. */
  random?: (n: number) => Buffer;
  /** Value of S1's time field; defaults to 0 (the field is informational). */
  epochMs?: number;
}

const EMPTY = Buffer.alloc(0);

export class ServerHandshake {
  private stage: 'c0c1' | 'c2' | 'done' = 'c0c1';
  private buffered: Buffer = EMPTY;
  private readonly random: (n: number) => Buffer;
  private readonly epochMs: number;

  constructor(opts: ServerHandshakeOptions = {}) {
    this.random = opts.random ?? randomBytes;
    this.epochMs = opts.epochMs ?? 0;
  }

  get done(): boolean {
    return this.stage === 'done';
  }

  push(data: Buffer): HandshakeResult {
    if (this.stage === 'done') return { done: true, rest: data };
    const buf = this.buffered.length > 0 ? Buffer.concat([this.buffered, data]) : data;

    if (this.stage === 'c0c1') {
      // Check the version as soon as it arrives, so an HTTP request or a TLS hello fails immediately.
      if (buf.length >= 1 && buf[0] !== RTMP_VERSION) {
        throw new ProtocolError('RTMP_HANDSHAKE_FAILED', 'unsupported RTMP version', { version: buf[0] });
      }
      if (buf.length < 1 + HANDSHAKE_SIZE) {
        this.buffered = buf;
        return { done: false, rest: EMPTY };
      }
      const c1 = buf.subarray(1, 1 + HANDSHAKE_SIZE);
      const s1 = Buffer.alloc(HANDSHAKE_SIZE);
      s1.writeUInt32BE(this.epochMs >>> 0, 0);
      this.random(HANDSHAKE_SIZE - 8).copy(s1, 8);
      const reply = Buffer.concat([Buffer.from([RTMP_VERSION]), s1, c1]);
      this.stage = 'c2';
      const after = this.continueC2(buf.subarray(1 + HANDSHAKE_SIZE));
      return { ...after, reply };
    }
    return this.continueC2(buf);
  }

  private continueC2(buf: Buffer): HandshakeResult {
    if (buf.length < HANDSHAKE_SIZE) {
      // Copy: the caller's buffer may be large and C2 is small.
      this.buffered = Buffer.from(buf);
      return { done: false, rest: EMPTY };
    }
    this.buffered = EMPTY;
    this.stage = 'done';
    return { done: true, rest: buf.subarray(HANDSHAKE_SIZE) };
  }
}
