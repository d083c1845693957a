/** A test file's shared set-up, started in its before() hook and closed in its after() hook. */
import { after, before } from 'node:test';

/**
 * Registers `start` as a before() hook and the started value's close() as an after() hook of the calling
 * file, and returns an object that stands for the started value: reads, writes and method calls go to it.
 * Using it before the hook has run throws. After a failed start nothing is closed (start cleans up itself).
 */
export function useFixture<T extends { close(): Promise<void> }>(start: () => Promise<T>): T {
  let value: T | undefined;
  before(async () => {
    value = await start();
  });
  after(() => value?.close());
  const started = (): T => {
    if (value === undefined) throw new Error('the test set-up is used before its before() hook ran');
    return value;
  };
  return new Proxy({} as T, {
    get: (_, key) => {
      const target = started();
      const v: unknown = Reflect.get(target, key);
      return typeof v === 'function' ? (v as (...args: unknown[]) => unknown).bind(target) : v;
    },
    set: (_, key, v) => Reflect.set(started(), key, v),
  });
}
