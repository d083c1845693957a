/**
 * Media time -> wall clock for one ffmpeg run: remembers when ingress received the frame at each media
 * time (ms relative to the run's first frame), so a chunk's ingressTime is the receivedAt of the frame at
 * its decode time (the nearest earlier one). Bounded: entries older than `windowMs` of media are dropped.
 */
export class WallclockMap {
  private times: number[] = [];
  private received: number[] = [];
  private head = 0;

  constructor(private readonly windowMs = 60_000) {}

  get size(): number {
    return this.times.length - this.head;
  }

  /** Out-of-order entries (timestamp earlier than the last) are ignored: the map stays sorted. */
  add(mediaMs: number, receivedAt: number): void {
    const n = this.times.length;
    if (n > this.head && mediaMs < this.times[n - 1]!) return;
    this.times.push(mediaMs);
    this.received.push(receivedAt);
    const cutoff = mediaMs - this.windowMs;
    while (this.head < this.times.length - 1 && this.times[this.head]! < cutoff) this.head++;
    if (this.head > 1024 && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head);
      this.received = this.received.slice(this.head);
      this.head = 0;
    }
  }

  /** receivedAt of the last frame at or before mediaMs (+0.5 ms for rounding); the first one if none. */
  lookup(mediaMs: number): number | undefined {
    if (this.size === 0) return undefined;
    let lo = this.head;
    let hi = this.times.length - 1;
    if (this.times[lo]! > mediaMs + 0.5) return this.received[lo];
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.times[mid]! <= mediaMs + 0.5) lo = mid;
      else hi = mid - 1;
    }
    return this.received[lo];
  }
}
