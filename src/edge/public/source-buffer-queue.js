// One SourceBuffer and the operations waiting for it. MSE throws InvalidStateError when appendBuffer,
// remove or changeType is called while the buffer is still `updating`, so every operation goes
// through this queue and runs only after the previous one's `updateend`.

import { asRecord } from './json.js';

/** Queued operations beyond this mean the decoder is not keeping up; the oldest media is dropped. */
const MAX_QUEUED_OPS = 300;

/**
 * @typedef {{ op: 'append', data: BufferSource } | { op: 'remove', start: number, end: number }
 *   | { op: 'changeType', type: string }} QueuedOp
 */
/**
 * @typedef {{ onUpdated?: () => void, onError?: (err: unknown) => void, onQuotaExceeded?: () => boolean,
 *   mayAppend?: () => boolean }} QueueHooks
 */

export class SourceBufferQueue {
  /**
   * @param {MediaSource} mediaSource
   * @param {string} mimeType e.g. 'video/mp4; codecs="avc1.4d401f"'
   * @param {QueueHooks} hooks
   *   onQuotaExceeded returns true when it queued a remove that frees space; while mayAppend returns false
   *   (a ManagedMediaSource that is not streaming) appends wait in the queue, removes still run.
   */
  constructor(mediaSource, mimeType, hooks = {}) {
    this.mediaSource = mediaSource;
    this.mimeType = mimeType;
    this.hooks = hooks;
    /** @type {QueuedOp[]} */
    this.ops = [];
    this.closed = false;
    this.dropped = 0;
    this.sourceBuffer = mediaSource.addSourceBuffer(mimeType);
    this.onUpdateEnd = () => {
      this.pump();
      this.safeHook('onUpdated');
    };
    this.onSbError = () => this.hookError(new Error(`SourceBuffer error (${this.mimeType})`));
    this.sourceBuffer.addEventListener('updateend', this.onUpdateEnd);
    this.sourceBuffer.addEventListener('error', this.onSbError);
  }

  /** @param {BufferSource} data */
  append(data) {
    this.push({ op: 'append', data });
  }

  /** @param {number} start @param {number} end seconds */
  remove(start, end) {
    if (end <= start || this.closed) return;
    // Freeing space behind the playhead never conflicts with pending appends: do it first.
    this.ops.unshift({ op: 'remove', start, end });
    this.pump();
  }

  /**
   * Switches the codec for the next init segment (e.g. another H.264 profile/level).
   * @param {string} mimeType
   */
  changeType(mimeType) {
    if (typeof this.sourceBuffer.changeType !== 'function' || mimeType === this.mimeType) return;
    this.mimeType = mimeType;
    this.push({ op: 'changeType', type: mimeType });
  }

  /** Drops every queued append (e.g. before re-initialising after a restart). */
  clearPending() {
    this.ops = this.ops.filter((o) => o.op !== 'append');
  }

  get pending() {
    return this.ops.length;
  }

  get buffered() {
    try {
      return this.sourceBuffer.buffered;
    } catch {
      return null; // the SourceBuffer was removed from its MediaSource
    }
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    this.ops = [];
    this.sourceBuffer.removeEventListener('updateend', this.onUpdateEnd);
    this.sourceBuffer.removeEventListener('error', this.onSbError);
  }

  /** @param {QueuedOp} op */
  push(op) {
    if (this.closed) return;
    this.ops.push(op);
    if (this.ops.length > MAX_QUEUED_OPS) {
      const i = this.ops.findIndex((o) => o.op === 'append');
      if (i >= 0) {
        this.ops.splice(i, 1);
        this.dropped++;
      }
    }
    this.pump();
  }

  pump() {
    if (this.closed || this.sourceBuffer.updating || this.mediaSource.readyState !== 'open') return;
    if (this.ops[0]?.op === 'append' && this.hooks.mayAppend?.() === false) return;
    const next = this.ops.shift();
    if (!next) return;
    try {
      if (next.op === 'append') this.sourceBuffer.appendBuffer(next.data);
      else if (next.op === 'remove') this.sourceBuffer.remove(next.start, next.end);
      else this.sourceBuffer.changeType(next.type);
    } catch (err) {
      if (asRecord(err)?.name === 'QuotaExceededError' && next.op === 'append') {
        // The buffer is full: put the data back and let the owner trim behind the playhead first;
        // if there is nothing left to trim, this piece of media cannot be kept.
        this.ops.unshift(next);
        if (this.safeHook('onQuotaExceeded') !== true) {
          this.ops.splice(this.ops.indexOf(next), 1);
          this.dropped++;
          queueMicrotask(() => this.pump());
        }
        return;
      }
      this.hookError(err);
      // changeType does not fire updateend; carry on with the rest of the queue.
      queueMicrotask(() => this.pump());
      return;
    }
    if (next.op === 'changeType') this.pump();
  }

  /** @param {unknown} err */
  hookError(err) {
    this.safeHook('onError', err);
  }

  /**
   * Calls an owner's hook; what it throws is logged, not thrown into the append loop.
   * @param {keyof QueueHooks} name
   * @param {unknown} [arg]
   */
  safeHook(name, arg) {
    /** @type {((arg: unknown) => unknown) | undefined} */
    const fn = this.hooks[name];
    if (!fn) return undefined;
    try {
      return fn(arg);
    } catch (err) {
      // A faulty hook must not stop the append loop.
      console.error(`tiercast: ${name} hook failed`, err);
      return undefined;
    }
  }
}
