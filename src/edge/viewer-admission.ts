/**
 * Stands between a stream and one WebSocket viewer (domain): nothing of the stream (its description, init
 * segments, chunks) reaches the viewer until the access gate says 'allow'. The decision is taken again, in
 * the same synchronous step, every time a description arrives (a relay delivers the description before any
 * init or chunk, on attach and on every restart), so no byte can slip out between "check" and "send".
 */
import type { StreamInfo } from '../common/media.js';
import type { CachedChunk, CachedInit } from '../common/relay/rendition-cache.js';
import type { StreamSubscriber } from '../common/relay/stream-relay.js';
import type { Access } from './access-gate.js';

export class AdmittedViewer implements StreamSubscriber {
  private admitted = false;
  private refused = false;

  constructor(
    private readonly inner: StreamSubscriber,
    private readonly decide: () => Access,
    /** Called once when access is denied; the caller closes the socket (4403). */
    private readonly deny: () => void,
  ) {}

  get isAdmitted(): boolean {
    return this.admitted;
  }

  onInfo(info: StreamInfo, frame: Buffer): void {
    if (!this.check()) return;
    this.inner.onInfo(info, frame);
  }

  onInit(rendition: string, init: CachedInit): void {
    if (this.admitted) this.inner.onInit(rendition, init);
  }

  onChunk(c: CachedChunk): void {
    if (this.admitted) this.inner.onChunk(c);
  }

  /** "The stream ended" carries nothing of the stream: a held viewer hears it too. */
  onEnd(reason: string, code: string | undefined, frame: Buffer): void {
    if (!this.refused) this.inner.onEnd(reason, code, frame);
  }

  /**
   * Protection may have changed (the directory). Returns 'replay' when a held viewer is now allowed: the
   * caller detaches and re-attaches it so the relay delivers the description, inits and backlog again.
   */
  recheck(): 'replay' | 'none' {
    const wasAdmitted = this.admitted;
    if (!this.check()) return 'none';
    return !wasAdmitted && this.admitted ? 'replay' : 'none';
  }

  private check(): boolean {
    if (this.refused) return false;
    const a = this.decide();
    if (a === 'deny') {
      this.admitted = false;
      this.refused = true;
      this.deny();
      return false;
    }
    this.admitted = a === 'allow';
    return this.admitted;
  }
}
