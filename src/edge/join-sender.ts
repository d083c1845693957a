/**
 * Transport: sends a viewer's join burst (description, inits, the current segment's backlog) so that
 * uWebSockets.js never assembles it in the socket's own backpressure buffer.
 *
 * Why: uWS gathers sends in one 16 KB cork buffer per event loop. A send that does not fit in what is
 * left of it (a corked burst past 16 KB, or one message of 16 KB or more while corked) is formatted into
 * the socket's backpressure `std::string` instead, even when the kernel then takes every byte at once,
 * and that string never gives its capacity back (drained with `clear()`, no shrink) until the socket
 * closes. A ~60 KB join burst sent in the upgrade's cork left ~24 KB behind per idle viewer (issue 12;
 * bench/analysis.md). So the burst is queued here and, one event-loop turn later, outside the upgrade's
 * cork, sent in corks that each fit the cork buffer, a message too large for it alone and uncorked (uWS
 * then writes header and payload with one writev, buffering only what the kernel refuses), and the next
 * batch only once uWS holds nothing for this socket (drain). Afterwards sends go straight to the socket:
 * live chunks arrive outside any uWS callback, so uWS sends each one by itself.
 */

/** The part of a uWS WebSocket this needs (uWS.WebSocket satisfies it). */
export interface CorkableSocket {
  cork(cb: () => void): unknown;
  send(message: Buffer | string, isBinary: boolean): unknown;
  getBufferedAmount(): number;
}

/** uWS's per-loop cork buffer (LoopData::CORK_BUFFER_SIZE): a corked send must end strictly below it. */
export const CORK_BUFFER_BYTES = 16 * 1024;

/** Bytes a server (unmasked) WebSocket frame of `payload` bytes takes on the wire. */
export function framedSize(payload: number): number {
  return payload + (payload < 126 ? 2 : payload < 65536 ? 4 : 10);
}

interface Queued {
  data: Buffer | string;
  binary: boolean;
  bytes: number;
}

export class JoinSender {
  private readonly queue: Queued[] = [];
  private queuedBytes = 0;
  private holding = false;
  private scheduled = false;
  private closed = false;

  constructor(
    private readonly socket: CorkableSocket,
    /** Runs the flush outside the current uWS callback (and its cork). */
    private readonly defer: (fn: () => void) => void = setImmediate,
  ) {}

  /** From now until release() and the queue is sent, sends are queued (a join or a replay begins). */
  hold(): void {
    this.holding = true;
  }

  /** The burst is complete: send it from the next event-loop turn on. */
  release(): void {
    this.schedule();
  }

  send(data: Buffer | string, binary: boolean): void {
    if (this.closed) return;
    if (!this.holding) {
      this.socket.send(data, binary);
      return;
    }
    const bytes = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
    this.queue.push({ data, binary, bytes });
    this.queuedBytes += bytes;
  }

  /** What this viewer holds unsent: uWS's buffer and the rest of the burst. */
  bufferedAmount(): number {
    return this.closed ? 0 : this.socket.getBufferedAmount() + this.queuedBytes;
  }

  /** uWS's drain event: the socket took some of its buffer; continue once it holds nothing. */
  onDrain(): void {
    if (this.queue.length > 0) this.schedule();
  }

  /** The socket is closing or closed: drop the rest, touch the socket no more. Idempotent. */
  close(): void {
    this.closed = true;
    this.queue.length = 0;
    this.queuedBytes = 0;
  }

  private schedule(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    this.defer(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    const q = this.queue;
    while (!this.closed && q.length > 0 && this.socket.getBufferedAmount() === 0) {
      if (framedSize(q[0]!.bytes) >= CORK_BUFFER_BYTES) {
        this.sendNext();
        continue;
      }
      this.socket.cork(() => {
        let corked = 0;
        while (q.length > 0 && corked + framedSize(q[0]!.bytes) < CORK_BUFFER_BYTES)
          corked += framedSize(this.sendNext());
      });
    }
    // Whatever is still queued goes on at the next drain.
    if (q.length === 0) this.holding = false;
  }

  private sendNext(): number {
    const m = this.queue.shift()!;
    this.queuedBytes -= m.bytes;
    this.socket.send(m.data, m.binary);
    return m.bytes;
  }
}
