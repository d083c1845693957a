/**
 * The uWebSockets.js check: a native module passes, the package's JavaScript fallback and a loader that
 * throws (current uNetworking builds on an unsupported ABI) are refused with the runtime named.
 */
import { strict as assert } from 'node:assert';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import {
  checkUwsLoad,
  currentRuntime,
  isNativeUws,
  type UwsRuntime,
} from '../../src/common/http/uws-runtime.js';

const require = createRequire(import.meta.url);
const NODE24: UwsRuntime = { node: 'v24.11.0', abi: '137', platform: 'linux', arch: 'x64', glibc: '2.36' };
const TRUFFLE = '@trufflesuite/uws-js-unofficial@20.30.0-unofficial.0';

test('the native module loaded here is accepted and its build named', () => {
  const native: unknown = require('uWebSockets.js');
  assert.equal(isNativeUws(native), true);
  const check = checkUwsLoad({ exports: native, loaderOutput: [], packageId: TRUFFLE }, currentRuntime());
  assert.ok(check.ok);
  assert.equal(
    check.build,
    `${TRUFFLE} native ${process.platform}-${process.arch} abi ${process.versions.modules}`,
  );
});

test("the package's real JavaScript fallback is refused, with the runtime and the loader's notice", () => {
  const fallback: unknown = require('uWebSockets.js/dist/index.js');
  assert.equal(typeof (fallback as { App?: unknown }).App, 'function', 'the fallback is a working App');
  assert.equal(isNativeUws(fallback), false);
  const check = checkUwsLoad(
    {
      exports: fallback,
      loaderOutput: [
        'This version of µWS is not compatible with your Node.js build:\n\nError: …',
        'Falling back',
      ],
      packageId: TRUFFLE,
    },
    NODE24,
  );
  assert.ok(!check.ok);
  for (const part of [
    'Node.js v24.11.0',
    'ABI 137',
    'linux-x64',
    'glibc 2.36',
    'JavaScript fallback',
    'not compatible',
  ])
    assert.ok(check.message.includes(part), `message names ${part}: ${check.message}`);
  assert.match(check.message, /Node 16, 18, 20/, 'says which Node versions this build has binaries for');
  assert.match(check.message, /Runtime matrix/);
});

test('a loader that throws is refused with its error; no glibc (musl, macOS) is said so', () => {
  const check = checkUwsLoad(
    {
      error: new Error(
        'This version of uWS.js supports only Node.js LTS versions 20, 22 and 24 on (glibc >= 2.38)',
      ),
      loaderOutput: [],
      packageId: 'uWebSockets.js@20.52.0',
    },
    { ...NODE24, platform: 'darwin', arch: 'arm64', glibc: undefined },
  );
  assert.ok(!check.ok);
  assert.match(check.message, /loading it failed: This version of uWS\.js supports only/);
  assert.match(check.message, /darwin-arm64, glibc none/);
  assert.doesNotMatch(check.message, /Node 16, 18, 20/, 'no advice about a build that is not installed');
});

test('anything without a native App is refused', () => {
  for (const exports of [undefined, null, {}, { App: 'x' }, { App: () => undefined }])
    assert.equal(checkUwsLoad({ exports, loaderOutput: [], packageId: 'x@1' }, NODE24).ok, false);
});
