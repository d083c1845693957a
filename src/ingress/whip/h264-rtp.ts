/**
 * H.264 over RTP (RFC 6184) back into access units: a small reorder buffer (packets wait up to `maxWaitMs`
 * for a retransmission answering our NACK), then single NAL units, STAP-A and FU-A reassembled into the
 * NAL units of one picture (one RTP timestamp, ended by the marker bit). A gap that does not fill in time
 * loses the picture in progress, and everything after it up to the next IDR (the decoder could not use
 * it): the caller is told (`lost`) so that it asks the sender for a keyframe (PLI). Pure, no I/O.
 */

export interface RtpIn {
  sequenceNumber: number;
  timestamp: number;
  marker: boolean;
  payload: Buffer;
}

export interface AccessUnit {
  /** RTP timestamp (90 kHz, 32-bit). */
  timestamp: number;
  /** NAL units without start codes or length prefixes. */
  nalus: Buffer[];
  /** Holds an IDR slice (NAL type 5). */
  keyframe: boolean;
}

export interface DepacketizeResult {
  units: AccessUnit[];
  /** Packets were given up for lost (or arrived unusable): a keyframe is needed. */
  lost: boolean;
}

const NAL_STAP_A = 24;
const NAL_FU_A = 28;
const NAL_IDR = 5;

export function nalType(nalu: Buffer): number {
  return nalu[0]! & 0x1f;
}

export class H264Depacketizer {
  private next: number | undefined;
  private lastExt: number | undefined;
  private readonly waiting = new Map<number, { p: RtpIn; at: number }>();
  private au: { timestamp: number; nalus: Buffer[] } | undefined;
  private fu: Buffer[] | undefined;
  /** After a loss: drop pictures until an IDR. */
  private needKeyframe = true;

  constructor(
    private readonly opts: { maxWaitMs: number; maxWaiting: number } = { maxWaitMs: 300, maxWaiting: 1024 },
  ) {}

  /** Whether pictures are being dropped until the next IDR (at start and after a loss). */
  get waitingForKeyframe(): boolean {
    return this.needKeyframe;
  }

  push(p: RtpIn, now: number): DepacketizeResult {
    const out: DepacketizeResult = { units: [], lost: false };
    const ext = this.extend(p.sequenceNumber);
    if (this.next === undefined) this.next = ext;
    if (ext < this.next || this.waiting.has(ext)) return out; // late retransmission or duplicate
    this.waiting.set(ext, { p, at: now });
    this.drain(out);
    this.expire(now, out);
    return out;
  }

  /** Gives up on gaps older than maxWaitMs; call periodically (packets may stop arriving). */
  tick(now: number): DepacketizeResult {
    const out: DepacketizeResult = { units: [], lost: false };
    this.expire(now, out);
    return out;
  }

  private extend(seq: number): number {
    if (this.lastExt === undefined) {
      this.lastExt = seq;
      return seq;
    }
    const delta = ((seq - (this.lastExt & 0xffff) + 0x8000) & 0xffff) - 0x8000;
    const ext = this.lastExt + delta;
    if (ext > this.lastExt) this.lastExt = ext;
    return ext;
  }

  private drain(out: DepacketizeResult): void {
    for (;;) {
      const w = this.waiting.get(this.next!);
      if (!w) return;
      this.waiting.delete(this.next!);
      this.next! += 1;
      this.take(w.p, out);
    }
  }

  private expire(now: number, out: DepacketizeResult): void {
    while (this.waiting.size > 0) {
      let oldest = Infinity;
      let first = Infinity;
      for (const [seq, w] of this.waiting) {
        if (w.at < oldest) oldest = w.at;
        if (seq < first) first = seq;
      }
      if (now - oldest < this.opts.maxWaitMs && this.waiting.size < this.opts.maxWaiting) return;
      // The gap before `first` will not fill: skip it, lose what was being assembled.
      this.next = first;
      this.loss(out);
      this.drain(out);
    }
  }

  private loss(out: DepacketizeResult): void {
    out.lost = true;
    this.au = undefined;
    this.fu = undefined;
    this.needKeyframe = true;
  }

  private take(p: RtpIn, out: DepacketizeResult): void {
    if (this.au && this.au.timestamp !== p.timestamp) this.finish(out); // marker lost with its picture's end
    this.au ??= { timestamp: p.timestamp, nalus: [] };
    const pl = p.payload;
    if (pl.length < 1) return;
    const type = pl[0]! & 0x1f;
    if (type >= 1 && type <= 23) {
      this.au.nalus.push(pl);
    } else if (type === NAL_STAP_A) {
      let pos = 1;
      while (pos + 2 <= pl.length) {
        const size = pl.readUInt16BE(pos);
        pos += 2;
        if (size === 0 || pos + size > pl.length) {
          this.loss(out);
          return;
        }
        this.au.nalus.push(pl.subarray(pos, pos + size));
        pos += size;
      }
    } else if (type === NAL_FU_A) {
      if (pl.length < 2) return;
      const start = (pl[1]! & 0x80) !== 0;
      const end = (pl[1]! & 0x40) !== 0;
      if (start) {
        this.fu = [Buffer.from([(pl[0]! & 0xe0) | (pl[1]! & 0x1f)]), pl.subarray(2)];
      } else if (this.fu) {
        this.fu.push(pl.subarray(2));
      } else {
        return; // the fragment's start was lost: already counted as a loss
      }
      if (end && this.fu) {
        this.au.nalus.push(Buffer.concat(this.fu));
        this.fu = undefined;
      }
    }
    // Other types (STAP-B, MTAP, FU-B) are not used with packetization-mode 1 by WebRTC senders.
    if (p.marker) this.finish(out);
  }

  private finish(out: DepacketizeResult): void {
    const au = this.au;
    this.au = undefined;
    this.fu = undefined;
    if (!au || au.nalus.length === 0) return;
    const keyframe = au.nalus.some((n) => nalType(n) === NAL_IDR);
    if (this.needKeyframe && !keyframe) return;
    this.needKeyframe = false;
    out.units.push({ timestamp: au.timestamp, nalus: au.nalus, keyframe });
  }
}
