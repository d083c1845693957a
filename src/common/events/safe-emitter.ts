/**
 * A small typed event emitter whose emit never throws: a listener that throws is logged and the other
 * listeners still run (as mediasoup's enhancedEvents `safeEmit`). A broken consumer of one stream's
 * chunks must not take the transcoder, and every other stream on the ingress, down with it.
 */
import type { Logger } from '../../common/logging/index.js';

export type EventMap = Record<string, unknown[]>;

interface Entry {
  fn: unknown;
  once: boolean;
}

export class SafeEmitter<E extends EventMap> {
  private readonly listeners = new Map<keyof E, Entry[]>();

  constructor(protected readonly logger: Logger) {}

  on<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    return this.add(event, listener, false);
  }

  once<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    return this.add(event, listener, true);
  }

  off<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): this {
    const list = this.listeners.get(event);
    if (!list) return this;
    const i = list.findIndex((e) => e.fn === listener);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.listeners.delete(event);
    return this;
  }

  listenerCount<K extends keyof E & string>(event: K): number {
    return this.listeners.get(event)?.length ?? 0;
  }

  /** Part of close(): drops every listener so nothing outlives the object. */
  protected removeAllListeners(): void {
    this.listeners.clear();
  }

  /** Calls every listener in order; returns false if there were none. Exceptions are logged, not thrown. */
  protected safeEmit<K extends keyof E & string>(event: K, ...args: E[K]): boolean {
    const list = this.listeners.get(event);
    if (!list || list.length === 0) return false;
    for (const entry of [...list]) {
      const fn = entry.fn as (...a: E[K]) => void;
      if (entry.once) this.off(event, fn);
      try {
        fn(...args);
      } catch (err) {
        this.logger.error({ err, event }, 'event listener threw');
      }
    }
    return true;
  }

  private add<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void, once: boolean): this {
    let list = this.listeners.get(event);
    if (!list) {
      list = [];
      this.listeners.set(event, list);
    }
    list.push({ fn: listener, once });
    return this;
  }
}
