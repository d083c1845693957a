/**
 * Preload (`node --import`) that makes every uWebSockets.js native binary fail to load, as it does on a
 * Node.js whose ABI the installed build has no binary for, or on a glibc older than the binary needs. The
 * package's own loader then runs unchanged and takes its real fallback path; tiercast must refuse it.
 */
import Module from 'node:module';

const extensions = /** @type {Record<string, (m: unknown, f: string) => void>} */ (
  /** @type {{ _extensions: unknown }} */ (/** @type {unknown} */ (Module))._extensions
);
const loadNative = extensions['.node'];
extensions['.node'] = function (module, filename) {
  if (/[\\/]uws_[^\\/]+\.node$/.test(filename))
    throw new Error(
      `${filename}: cannot load native binary (made unavailable by test/helpers/uws-no-native.mjs)`,
    );
  return loadNative.call(this, module, filename);
};
