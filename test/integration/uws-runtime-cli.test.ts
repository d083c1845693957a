/**
 * `node-role` on a runtime where no native uWebSockets.js binary loads: the real package loader runs and
 * takes its JavaScript fallback (made to by an --import preload that fails the binary's require, or by the package's
 * own UWS_USE_FALLBACK switch); the CLI must stop with UWS_NATIVE_UNAVAILABLE before opening anything.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { after, test } from 'node:test';
import { cliEnv } from '../helpers/hub-process.js';

const HOOK = fileURLToPath(new URL('../helpers/uws-no-native.mjs', import.meta.url));
const PRELOAD = `--import ${pathToFileURL(HOOK).href}`;
const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function nodeRole(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['bin/node-role.js', ...args], {
      env: { ...cliEnv, TIERCAST_HTTP__HOST: '127.0.0.1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // A node that started after all would run until killed: the timeout turns that into a failure.
    const t = setTimeout(() => p.kill('SIGKILL'), 20_000);
    p.on('exit', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

function assertRefused(r: { code: number | null; stdout: string; stderr: string }, loaderSays: RegExp): void {
  assert.equal(r.code, 2, `exit code (stderr: ${r.stderr})`);
  const line = r.stderr.split('\n').find((l) => l.startsWith('node-role: UWS_NATIVE_UNAVAILABLE: '));
  assert.ok(line, `one line with the code on stderr: ${r.stderr}`);
  for (const part of [
    `Node.js ${process.version}`,
    `ABI ${process.versions.modules}`,
    `${process.platform}-${process.arch}`,
    'glibc ',
    'Runtime matrix',
  ])
    assert.ok(line.includes(part), `names ${part}: ${line}`);
  assert.match(line, loaderSays);
  // The banner goes to stderr, the logs to stdout: neither shows anything started.
  assert.doesNotMatch(r.stderr, /tiercast hub|tiercast is running/, 'no banner: nothing started');
  assert.doesNotMatch(r.stdout, /listening/, 'nothing started');
}

test('binary unloadable (as on Node > 20 or an old glibc): the hub refuses to start and opens no database', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tiercast-uws-'));
  dirs.push(dataDir);
  const r = await nodeRole(['hub', '--port', '0', '--data-dir', dataDir], {
    NODE_OPTIONS: PRELOAD,
  });
  assertRefused(
    r,
    /JavaScript fallback instead \(loader: "This version of µWS is not compatible.*uws-no-native/,
  );
  assert.deepEqual(readdirSync(dataDir), [], 'stopped before the store was opened');
});

test("the package's UWS_USE_FALLBACK switch is refused too, for the whole network (`node-role all`)", async () => {
  const r = await nodeRole(['all'], { UWS_USE_FALLBACK: '1' });
  assertRefused(r, /Using µWS fallback implementation due to UWS_USE_FALLBACK/);
});

test('the admin commands, which serve nothing, still run without the binary', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tiercast-uws-'));
  dirs.push(dataDir);
  const r = await nodeRole(['streamer', 'list', '--data-dir', dataDir], {
    NODE_OPTIONS: PRELOAD,
  });
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /UWS_NATIVE_UNAVAILABLE/);
});
