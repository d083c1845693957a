/**
 * Loads uWebSockets.js and refuses to run without its native binary.
 *
 * The build in use (@trufflesuite/uws-js-unofficial 20.30) ships binaries for Node ABIs 93, 108 and 115
 * (Node 16, 18, 20) only; on any other ABI, or when the binary cannot be loaded (a glibc too old for it),
 * its loader prints a warning and silently returns a pure-JavaScript server built on `ws`. That server
 * answers, so a node "works", at a fraction of the throughput and with behaviour no test here covers.
 * Current uNetworking builds throw instead. Either way tiercast stops at start-up with one error that names
 * the runtime and what to do (docs/operations.md, "Runtime matrix"); nothing else in the code depends on
 * which build is installed.
 */
import { createRequire } from 'node:module';
import { TiercastError, errorMessage } from '../errors/index.js';

export type Uws = typeof import('uWebSockets.js');

/** What the runtime is, as far as a native uWebSockets.js binary cares. */
export interface UwsRuntime {
  node: string;
  abi: string;
  platform: string;
  arch: string;
  /** glibc of the running process; undefined on musl, macOS, Windows. */
  glibc: string | undefined;
}

/** One attempt at `require('uWebSockets.js')`: what it returned or threw, and what its loader printed. */
export interface UwsLoadAttempt {
  exports?: unknown;
  error?: unknown;
  loaderOutput: string[];
  /** `name@version` of the installed package. */
  packageId: string;
}

export type UwsCheck = { ok: true; uws: Uws; build: string } | { ok: false; message: string };

export function currentRuntime(): UwsRuntime {
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
  return {
    node: process.version,
    abi: process.versions.modules,
    platform: process.platform,
    arch: process.arch,
    glibc: report?.header?.glibcVersionRuntime,
  };
}

/**
 * A native build's functions are V8 API functions (`function App() { [native code] }`); the JavaScript
 * fallback's are source text. This holds for every build, so no file name or layout is assumed.
 */
export function isNativeUws(exports: unknown): exports is Uws {
  const app = (exports as { App?: unknown } | null | undefined)?.App;
  return typeof app === 'function' && Function.prototype.toString.call(app).includes('[native code]');
}

/** What the builds tiercast has been run with can load, for the advice (docs/operations.md, "Runtime matrix"). */
const KNOWN_BUILDS: [packagePrefix: string, advice: string][] = [
  [
    '@trufflesuite/uws-js-unofficial@20.',
    ' (this build: Node 16, 18, 20, ABI 93, 108, 115; Linux glibc >= 2.27)',
  ],
];

function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

/** Judges one load attempt: the native module, or the message to stop start-up with. */
export function checkUwsLoad(attempt: UwsLoadAttempt, runtime: UwsRuntime): UwsCheck {
  const target = `${runtime.platform}-${runtime.arch}`;
  if (attempt.error === undefined && isNativeUws(attempt.exports))
    return {
      ok: true,
      uws: attempt.exports,
      build: `${attempt.packageId} native ${target} abi ${runtime.abi}`,
    };
  const why =
    attempt.error !== undefined
      ? `loading it failed: ${oneLine(errorMessage(attempt.error))}`
      : `it returned its JavaScript fallback instead${
          attempt.loaderOutput.length ? ` (loader: "${oneLine(attempt.loaderOutput.join(' '))}")` : ''
        }`;
  const glibc = runtime.glibc ?? 'none (not a glibc system)';
  return {
    ok: false,
    message:
      `no native uWebSockets.js build loads on Node.js ${runtime.node} (ABI ${runtime.abi}) on ${target}, ` +
      `glibc ${glibc}: ${attempt.packageId} was required and ${why}. tiercast does not run on the ` +
      `JavaScript fallback (slow, untested). Run it on a Node.js whose ABI the installed build has a binary ` +
      `for${KNOWN_BUILDS.find(([prefix]) => attempt.packageId.startsWith(prefix))?.[1] ?? ''}, or install a ` +
      `uWebSockets.js build with a binary for ABI ${runtime.abi} on ${target} (current uNetworking builds ` +
      `need glibc >= 2.38). See docs/operations.md, "Runtime matrix".`,
  };
}

/** Requires the package the way any caller would, capturing what its loader prints instead of letting it reach stdout. */
function attemptLoad(): UwsLoadAttempt {
  const require = createRequire(import.meta.url);
  let packageId = 'uWebSockets.js';
  try {
    const pkg = require('uWebSockets.js/package.json') as { name?: string; version?: string };
    packageId = `${pkg.name ?? 'uWebSockets.js'}@${pkg.version ?? '?'}`;
  } catch {
    // A build without a readable package.json still gets judged by what it loads.
  }
  const loaderOutput: string[] = [];
  /* eslint-disable no-console -- the third-party loader writes its fallback notice with console.warn/log;
     it is captured for the error message, then the console is restored */
  const { warn, log } = console;
  console.warn = (...args: unknown[]) => void loaderOutput.push(args.map(String).join(' '));
  console.log = console.warn;
  try {
    return { exports: require('uWebSockets.js') as unknown, loaderOutput, packageId };
  } catch (error) {
    return { error, loaderOutput, packageId };
  } finally {
    console.warn = warn;
    console.log = log;
  }
  /* eslint-enable no-console */
}

let loaded: { uws: Uws; build: string } | undefined;

/** The native uWebSockets.js module, loaded once; throws UWS_NATIVE_UNAVAILABLE when no native build loads. */
export function nativeUws(): Uws {
  return loadNative().uws;
}

/** Which build was loaded (`name@version native platform-arch abi N`), for tiercast_build_info. */
export function uwsBuild(): string {
  return loadNative().build;
}

function loadNative(): { uws: Uws; build: string } {
  if (loaded) return loaded;
  const runtime = currentRuntime();
  const check = checkUwsLoad(attemptLoad(), runtime);
  if (!check.ok)
    // The message already names the runtime; no context suffix repeating it.
    throw new TiercastError('UWS_NATIVE_UNAVAILABLE', check.message);
  loaded = { uws: check.uws, build: check.build };
  return loaded;
}
