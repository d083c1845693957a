/**
 * The one way tiercast calls code it does not own (listeners, subscribers, sinks): a callback that throws
 * is logged with its context and never propagates (as mediasoup's enhancedEvents `safeEmit`). A broken
 * consumer of one stream's chunks, one viewer socket or one discovery watcher must not take the relay,
 * and every other stream on the node, down with it.
 *
 * - `callSafely` guards one call (a subscriber interface method, a chat output, a publish sink).
 * - `SafeEmitter` is a typed event map on top of it: `on`/`once` return their unsubscribe, `safeEmit`
 *   runs every listener in order even when one throws. Use it by composition (a private field) or as a
 *   base class when the events are the object's public API (Transcoder, SupervisedProcess).
 */
import type { Logger } from '../logging/index.js';

export type EventMap = Record<string, unknown[]>;
export type Unsubscribe = () => void;
export type LogContext = Record<string, unknown>;

/**
 * Runs `fn`; if it throws, logs `message` with the error and `context` at error level (nothing if
 * `logger` is undefined: the caller counts instead) and returns false.
 */
export function callSafely(
  logger: Logger | undefined,
  message: string,
  context: LogContext,
  fn: () => void,
): boolean {
  try {
    fn();
    return true;
  } catch (err) {
    logger?.error({ err, ...context }, message);
    return false;
  }
}

interface Entry {
  fn: unknown;
  once: boolean;
}

export class SafeEmitter<E extends EventMap> {
  private readonly listeners = new Map<keyof E, Entry[]>();

  /** `context` (e.g. `{ stream }`) is added to the log line of a listener that throws. */
  constructor(
    protected readonly logger: Logger,
    private readonly emitContext: LogContext = {},
  ) {}

  on<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): Unsubscribe {
    return this.add(event, listener, false);
  }

  once<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): Unsubscribe {
    return this.add(event, listener, true);
  }

  off<K extends keyof E & string>(event: K, listener: (...args: E[K]) => void): void {
    const entry = this.listeners.get(event)?.find((e) => e.fn === listener);
    if (entry) this.remove(event, entry);
  }

  listenerCount<K extends keyof E & string>(event: K): number {
    return this.listeners.get(event)?.length ?? 0;
  }

  /** Part of close(): drops every listener so nothing outlives the object. */
  removeAllListeners(): void {
    this.listeners.clear();
  }

  /**
   * Calls every listener in order (a snapshot: one added or removed meanwhile does not change this round);
   * returns false if there were none. Exceptions are logged, not thrown.
   */
  safeEmit<K extends keyof E & string>(event: K, ...args: E[K]): boolean {
    const list = this.listeners.get(event);
    if (!list || list.length === 0) return false;
    for (const entry of [...list]) {
      const fn = entry.fn as (...a: E[K]) => void;
      if (entry.once) this.remove(event, entry);
      callSafely(this.logger, 'event listener threw', { ...this.emitContext, event }, () => fn(...args));
    }
    return true;
  }

  private add<K extends keyof E & string>(
    event: K,
    listener: (...args: E[K]) => void,
    once: boolean,
  ): Unsubscribe {
    let list = this.listeners.get(event);
    if (!list) {
      list = [];
      this.listeners.set(event, list);
    }
    // Its own entry object, so an unsubscribe removes this registration even if the same function is added twice.
    const entry: Entry = { fn: listener, once };
    list.push(entry);
    return () => this.remove(event, entry);
  }

  private remove(event: keyof E, entry: Entry): void {
    const list = this.listeners.get(event);
    const i = list?.indexOf(entry) ?? -1;
    if (i < 0) return;
    list!.splice(i, 1);
    if (list!.length === 0) this.listeners.delete(event);
  }
}
