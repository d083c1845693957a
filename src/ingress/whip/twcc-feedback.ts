/**
 * Transport-wide congestion control feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01) for a
 * WHIP publish: the receiver tells the sender when each packet arrived, and the sender's bandwidth
 * estimator (Chromium's GoogCC, the one OBS-less WHIP senders use) raises or lowers its bitrate from the
 * changes in those gaps.
 *
 * werift's own ReceiverTWCC writes arrival times the sender cannot use: its reference time is the previous
 * feedback's last arrival rounded down to 64 ms while the first delta is measured from the unrounded time,
 * so every feedback shifts its packets by 0–64 ms; packets that never arrived are folded into the run of
 * the packet before them. Chromium read that as a queue building up and held its WHIP sender at its
 * 300 kbit/s start estimate (320x180 at 12 fps on loopback). This recorder replaces it (`install`).
 *
 * Arrival times are kept per unwrapped transport sequence number; every FEEDBACK_INTERVAL_MS (or sooner
 * when many packets wait) one feedback covers every sequence number from the first not yet reported to
 * the newest received, missing ones as "not received". A packet arriving after its number was reported
 * missing is dropped (the sender already counted it as lost), as libwebrtc's receiver does.
 */
import type { RTCRtpReceiver } from 'werift';

/** libwebrtc sends feedback every 50–250 ms depending on bitrate; 50 ms keeps the estimator responsive. */
export const FEEDBACK_INTERVAL_MS = 50;
/** A feedback is sent early once this many packets wait (keeps packets small at high bitrates). */
const MAX_PENDING = 200;
/** A jump further than this is a new sender epoch, not loss: reporting starts over from there. */
const MAX_GAP = 1000;
const TICK_US = 250;
const REFERENCE_TICKS = 256; // the reference time counts 64 ms = 256 × 250 µs

const STATUS_NOT_RECEIVED = 0;
const STATUS_SMALL_DELTA = 1;
const STATUS_LARGE_DELTA = 2;

export interface FeedbackInput {
  senderSsrc: number;
  mediaSsrc: number;
  /** First (16-bit) transport sequence number the feedback covers. */
  baseSequence: number;
  /** Arrival time in µs of each covered packet in order; undefined: not received. The first is received. */
  arrivalsUs: readonly (number | undefined)[];
  /** 8-bit feedback packet counter. */
  count: number;
}

/** One RTCP transport-wide feedback packet (PT 205, FMT 15), padded to 32 bits as RFC 3550 asks. */
export function encodeTwccFeedback(f: FeedbackInput): Buffer {
  const first = f.arrivalsUs.find((a) => a !== undefined);
  if (first === undefined) throw new RangeError('a feedback reports at least one received packet');
  if (f.arrivalsUs.length > 0xffff) throw new RangeError('a feedback covers at most 65535 packets');
  const referenceTicks = Math.floor(first / TICK_US / REFERENCE_TICKS);
  let lastTicks = referenceTicks * REFERENCE_TICKS;
  const statuses: number[] = [];
  const deltas: Buffer[] = [];
  for (const arrival of f.arrivalsUs) {
    if (arrival === undefined) {
      statuses.push(STATUS_NOT_RECEIVED);
      continue;
    }
    const ticks = Math.floor(arrival / TICK_US);
    const delta = ticks - lastTicks;
    lastTicks = ticks;
    if (delta >= 0 && delta <= 0xff) {
      statuses.push(STATUS_SMALL_DELTA);
      deltas.push(Buffer.from([delta]));
    } else {
      const clamped = Math.max(-0x8000, Math.min(0x7fff, delta));
      const b = Buffer.alloc(2);
      b.writeInt16BE(clamped);
      statuses.push(STATUS_LARGE_DELTA);
      deltas.push(b);
      lastTicks += clamped - delta; // the sender adds what is written
    }
  }
  const chunks: Buffer[] = [];
  for (let i = 0; i < statuses.length;) {
    let run = 1;
    while (i + run < statuses.length && statuses[i + run] === statuses[i] && run < 0x1fff) run++;
    const c = Buffer.alloc(2);
    c.writeUInt16BE((statuses[i]! << 13) | run); // T=0: run-length chunk
    chunks.push(c);
    i += run;
  }
  const fixed = Buffer.alloc(16);
  fixed.writeUInt32BE(f.senderSsrc >>> 0, 0);
  fixed.writeUInt32BE(f.mediaSsrc >>> 0, 4);
  fixed.writeUInt16BE(f.baseSequence & 0xffff, 8);
  fixed.writeUInt16BE(statuses.length, 10);
  fixed.writeIntBE(((referenceTicks << 8) >> 8) & 0xffffff, 12, 3); // 24-bit, wraps like the sender's
  fixed.writeUInt8(f.count & 0xff, 15);
  const body = Buffer.concat([fixed, ...chunks, ...deltas]);
  const pad = (4 - (body.length % 4)) % 4;
  const header = Buffer.alloc(4);
  header[0] = 0x80 | (pad ? 0x20 : 0) | 15;
  header[1] = 205;
  header.writeUInt16BE((4 + body.length + pad) / 4 - 1, 2);
  const padding = Buffer.alloc(pad);
  if (pad) padding[pad - 1] = pad;
  return Buffer.concat([header, body, padding]);
}

export class TwccRecorder {
  /** Unwrapped sequence number → arrival (µs). */
  private readonly arrivals = new Map<number, number>();
  private lastUnwrapped: number | undefined;
  /** First unwrapped sequence number not yet reported. */
  private nextToReport: number | undefined;
  private maxReceived: number | undefined;
  private count = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly send: (packet: Buffer) => void,
    private readonly senderSsrc: number,
    private readonly mediaSsrc: number,
    private readonly nowUs: () => number = () => Number(process.hrtime.bigint() / 1000n),
  ) {
    this.timer = setInterval(() => this.flush(), FEEDBACK_INTERVAL_MS);
    this.timer.unref();
  }

  /** werift's receiver calls this for every packet with the transport-cc extension. */
  handleTWCC(sequence: number | undefined): void {
    if (sequence === undefined) return;
    const now = this.nowUs();
    const seq = this.unwrap(sequence & 0xffff);
    if (this.nextToReport === undefined || seq - (this.maxReceived ?? seq) > MAX_GAP) {
      this.arrivals.clear();
      this.nextToReport = seq;
    }
    if (seq < this.nextToReport) return; // reported missing already
    if (!this.arrivals.has(seq)) this.arrivals.set(seq, now);
    if (this.maxReceived === undefined || seq > this.maxReceived) this.maxReceived = seq;
    if (this.maxReceived - this.nextToReport >= MAX_PENDING) this.flush();
  }

  /** Sends one feedback for what arrived since the last one (nothing when nothing did). */
  flush(): void {
    if (this.nextToReport === undefined || this.maxReceived === undefined) return;
    if (this.nextToReport > this.maxReceived) return;
    // May begin with packets that never arrived (lost right after the last feedback): the format allows
    // it, and the reference time comes from the first received one.
    const arrivalsUs: (number | undefined)[] = [];
    for (let s = this.nextToReport; s <= this.maxReceived; s++) arrivalsUs.push(this.arrivals.get(s));
    this.send(
      encodeTwccFeedback({
        senderSsrc: this.senderSsrc,
        mediaSsrc: this.mediaSsrc,
        baseSequence: this.nextToReport,
        arrivalsUs,
        count: this.count,
      }),
    );
    this.count = (this.count + 1) & 0xff;
    for (let s = this.nextToReport; s <= this.maxReceived; s++) this.arrivals.delete(s);
    this.nextToReport = this.maxReceived + 1;
  }

  close(): void {
    clearInterval(this.timer);
  }

  private unwrap(seq: number): number {
    if (this.lastUnwrapped === undefined) {
      this.lastUnwrapped = seq;
      return seq;
    }
    const last16 = this.lastUnwrapped & 0xffff;
    let diff = seq - last16;
    if (diff > 0x8000) diff -= 0x10000;
    else if (diff < -0x8000) diff += 0x10000;
    const unwrapped = this.lastUnwrapped + diff;
    if (diff > 0) this.lastUnwrapped = unwrapped;
    return unwrapped;
  }
}

/**
 * Puts one TwccRecorder in place of werift's ReceiverTWCC on every receiver of a bundled peer connection
 * whose codec negotiated transport-cc. The transport-wide sequence numbers count every packet on the
 * transport, audio, video and the sender's probe padding alike; werift keeps one ReceiverTWCC per
 * receiver, so each one reported the other kinds' packets as lost (a third of all packets or more), and
 * Chromium's estimator, told of that loss and of probes that never arrived, stayed near what the encoder
 * happened to send. One recorder sees every packet, as libwebrtc's one per transport does.
 *
 * werift creates its recorder lazily on a receiver's first packet, and again after a renegotiation: both
 * go through `setupTWCC`, which here hands out the shared one. Returns a function that stops its timer.
 */
export function installTwccRecorder(receivers: readonly RTCRtpReceiver[]): () => void {
  let recorder: TwccRecorder | undefined;
  const shared = (receiver: RTCRtpReceiver, mediaSourceSsrc: number): TwccRecorder =>
    (recorder ??= new TwccRecorder(
      (packet) =>
        void receiver.dtlsTransport.sendRtcp([{ serialize: () => packet }] as never).catch(() => undefined),
      receiver.rtcpSsrc,
      mediaSourceSsrc,
    ));
  for (const receiver of receivers) {
    receiver.setupTWCC = (mediaSourceSsrc: number) => {
      if (receiver.twccEnabled) receiver.receiverTWCC = shared(receiver, mediaSourceSsrc) as never;
    };
    // Applying the offer already made werift's own when the offer named the SSRC: replace it.
    const existing = receiver.receiverTWCC;
    if (existing) {
      existing.twccRunning = false;
      receiver.receiverTWCC = undefined;
      receiver.setupTWCC((existing as unknown as { mediaSourceSsrc: number }).mediaSourceSsrc);
    }
  }
  return () => recorder?.close();
}
